"""Notifications leave the screen (D23, issue 20): the outbox, its delivery, and the destinations.

The outbox. The commit that makes a notifiable decision also `create`s one `notifications/{request_id}-{n}` document
per notification (`shared.domain.notify.notices` of the decision's audit events), beside the audit record that
witnesses the commit. After the commit, `enqueue` reads the destination settings (one document, only when the
decision notified) and asks the scheduler for one `notify` task per notification and listening destination, named
from both (a re-run of the same outcome enqueues nothing twice). The scheduler is the bounded one: at most 0.3 s of
an answer, and a failure is logged, never the decision's.

Delivery (`deliver`, the timers function's `notify` task): check-then-send-then-mark on the notification document.
1. a transaction claims `sending.{dest}` unless `delivered.{dest}` is set (then: done, send nothing) or another
   attempt's claim is younger than `CLAIM_S` (then: 503, Cloud Tasks tries again later);
2. the destination is sent to (apprise), outside any transaction;
3. a transaction sets `delivered.{dest}` (success) or drops the claim and records the error (failure: 503, so
   Cloud Tasks retries with its backoff), and `notify_status/{dest}` keeps the last success and the last error.

A send has a deadline as a whole (`within_deadline`, SEND_DEADLINE_S), not only per socket operation: a destination
that trickles its answer a byte at a time stays inside every socket timeout, and would hold the task (and the
operator's test button) for as long as it likes. Past the deadline the attempt fails (error recorded, 503) but its
claim stays until it ages: the send's thread cannot be stopped and may still be talking to the destination, so no
other attempt starts before CLAIM_S. One that still gets through after that is a second copy — the honest window
below, one more way in. Sends still waiting are counted per destination (MAX_SENDS_PER_DESTINATION) and in all
(MAX_SENDS_IN_FLIGHT): one destination that holds on to its sends stops only its own.

The honest window: if the process dies (or the store cannot be reached) between a successful send and the mark,
the task is retried after the claim has aged, and that destination gets the notification a second time. Nothing
on our side can close it: the destinations take no idempotency key. Two concurrent deliveries of one task (Cloud
Tasks is at least once) are held apart by the claim.

Destinations live in `console/notify` as `{id, label, level, scheme}`; their URLs — credentials, for most services —
are secrets kept outside the store (`shared.service.notify_secrets`): never stored in a document, never served
back (the API shows the scheme only), never logged (each URL is registered with the log scrubber when it is read).
A browser's Web Push subscription is a destination of scheme `webpush` whose secret is the subscription itself
(`shared.service.push`): delivered with pywebpush instead of apprise, and removed when its push service answers
404 or 410 (`remove_destination`) instead of being retried.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from shared.domain.catalog import NOTIFY
from shared.domain.decision import Decision, Timer
from shared.domain.notify import DESTINATION_LEVELS as DESTINATION_LEVELS
from shared.domain.notify import heard_at, notices
from shared.logs import log_json, mask_secrets, register_secret
from shared.service import push
from shared.store.api import Plan, Reads, Write

NOTIFICATIONS = "notifications"
SETTINGS_PATH = "console/notify"
STATUS = "notify_status"
CLAIM_S = 60.0                 # an attempt's claim on a destination: three times a send's deadline (SEND_DEADLINE_S)
MAX_DESTINATIONS = 10
DEST_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
NOTIFY_KEY = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]{0,119}):([a-z0-9][a-z0-9-]{0,31})")   # no "." or ".." id (a path)


def notification_path(notification_id: str) -> str:
    return f"{NOTIFICATIONS}/{notification_id}"


def status_path(dest_id: str) -> str:
    return f"{STATUS}/{dest_id}"


def outbox_writes(decision: Decision, request_id: str, now: float, expire_at: Any) -> list[Write]:
    """The notification documents a decision writes in its own commit (creates: a request writes them once)."""
    writes = []
    for n, item in enumerate(notices(decision.events)):
        nid = f"{request_id}-{n}"
        writes.append(Write(notification_path(nid), "create", {
            **item, "id": nid, "request_id": request_id, "ts": now, "delivered": {}, "sending": {},
            "expire_at": expire_at}))
    return writes


# ---- destinations ------------------------------------------------------------------------------------------------

def destinations(settings: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The configured destinations (a hand-edited document with junk in it reads as fewer destinations)."""
    out = []
    for d in (settings or {}).get("destinations") or []:
        if isinstance(d, Mapping) and isinstance(d.get("id"), str) and DEST_ID.fullmatch(d["id"]) \
                and d.get("level") in DESTINATION_LEVELS:
            out.append(dict(d))
    return out


LOCAL_ID = "local"


def local_url() -> str | None:
    """The local stack's receiver (`make run RUN_ARGS=--receiver`): NOTIFY_LOCAL_URL, with LOCAL_DEV=1 only."""
    import os

    return os.environ.get("NOTIFY_LOCAL_URL") or None if os.environ.get("LOCAL_DEV") == "1" else None


def read_destinations(store: Any) -> list[dict[str, Any]]:
    dests = destinations(store.get([SETTINGS_PATH]).get(SETTINGS_PATH))
    url = local_url()
    if url is not None and not any(d["id"] == LOCAL_ID for d in dests):
        dests.append({"id": LOCAL_ID, "label": "local receiver", "level": "all", "scheme": scheme_of(url)})
    return dests


def enqueue(services: Any, request_id: str, decision: Decision, writes: Sequence[str], now: float) -> list[str]:
    """After the commit: one `notify` task per notification written and destination listening at its level."""
    paths = [p for p in writes if p.startswith(NOTIFICATIONS + "/")]
    if not paths or services.scheduler is None:
        return []
    dests = read_destinations(services.store)
    items = notices(decision.events)
    shift = services.clock_offset()
    timers = [Timer(NOTIFY, f"{p.split('/', 1)[1]}:{d['id']}", max(0.0, now - shift), {})
              for p, item in zip(paths, items, strict=False) for d in dests if heard_at(d["level"], item["level"])]
    if not timers:
        return []
    try:
        return list(services.scheduler.schedule(timers))
    except Exception as exc:  # a failing queue never fails the decision (D23): logged loudly
        log_json("ERROR", "notification enqueue failed; the decision stands", request_id=request_id,
                 error=str(exc), tasks=[t.key for t in timers])
        return []


# ---- delivery ----------------------------------------------------------------------------------------------------

class Sender(Protocol):
    def __call__(self, url: str, title: str, text: str, level: str) -> str | None:
        """Send one message; None when the destination took it, else why not (no secret in it). NoAnswer when it
        had not answered by the send's deadline (the send may still get through)."""
        ...


class Secrets(Protocol):
    def get(self, dest_id: str) -> str | None: ...
    def put(self, dest_id: str, url: str) -> None: ...
    def delete(self, dest_id: str) -> None: ...


class Busy(Exception):
    """Another attempt holds this destination's claim: try again later (503)."""


@dataclass
class Delivery:
    status: int
    outcome: str
    error: str | None = None

    def body(self) -> dict[str, Any]:
        return {"ok": self.status < 300, "outcome": self.outcome, **({"error": self.error} if self.error else {})}


def deliver(services: Any, secrets: Secrets, send: Sender, key: str) -> Delivery:
    """One `notify` task: `key` is `<notification id>:<destination id>`."""
    match = NOTIFY_KEY.fullmatch(key)
    if match is None:
        return Delivery(400, "bad_key")
    nid, dest_id = match.groups()
    store, path = services.store, notification_path(nid)
    now = services.clock()
    try:
        claimed = store.transact([path], lambda reads: _claim(reads, path, dest_id, now))
    except Busy:
        return Delivery(503, "busy")
    if claimed is None:
        return Delivery(200, "gone")
    if claimed.get("delivered", {}).get(dest_id) is not None:
        return Delivery(200, "already_delivered")
    dest = next((d for d in read_destinations(store) if d["id"] == dest_id), None)
    url = (secrets.get(dest_id) or (local_url() if dest_id == LOCAL_ID else None)) if dest is not None else None
    if dest is None or url is None:
        _finish(services, path, dest_id, error=None, delivered=False)
        return Delivery(200, "no_destination")
    register_secret(url)
    keep_claim = False
    try:
        error, gone = _attempt(secrets, send, dest, url, claimed)
    except NoAnswer as silent:   # the send may still be going on: its claim stays until it ages (CLAIM_S)
        error, gone, keep_claim = str(silent), False, True
    if gone:   # the browser unsubscribed or the permission was revoked: standard Web Push
        _finish(services, path, dest_id, error=None, delivered=False)
        remove_destination(services, secrets, dest_id)
        log_json("INFO", "push subscription gone; destination removed", notification=nid, destination=dest_id)
        return Delivery(200, "subscription_gone", error)
    _finish(services, path, dest_id, error=error, delivered=error is None, keep_claim=keep_claim)
    if error is not None:
        log_json("WARNING", "notification not delivered; Cloud Tasks retries it", notification=nid,
                 destination=dest_id, error=error)
        return Delivery(503, "failed", error)
    return Delivery(200, "delivered")


def _attempt(secrets: Secrets, send: Sender, dest: Mapping[str, Any], url: str,
             claimed: Mapping[str, Any]) -> tuple[str | None, bool]:
    """One send: why it failed (None: delivered), and whether the push subscription is gone (404/410)."""
    if dest.get("scheme") == push.SCHEME:
        outcome = _push(secrets, url, push.message(claimed))
        return outcome.error, outcome.result == "gone"
    return send(url, str(claimed.get("title", "")), str(claimed.get("text", "")),
                str(claimed.get("level", "info"))), False


def _claim(reads: Reads, path: str, dest_id: str, now: float) -> Plan[dict[str, Any] | None]:
    doc = reads.get(path)
    if doc is None:
        return Plan([], None)
    data = dict(doc)
    if (data.get("delivered") or {}).get(dest_id) is not None:
        return Plan([], data)
    since = (data.get("sending") or {}).get(dest_id)
    if isinstance(since, int | float) and now - since < CLAIM_S:
        raise Busy(dest_id)
    data["sending"] = {**(data.get("sending") or {}), dest_id: now}
    return Plan([Write(path, "set", data)], data)


def _finish(services: Any, path: str, dest_id: str, *, error: str | None, delivered: bool,
            keep_claim: bool = False) -> None:
    """The attempt's outcome: its claim dropped (unless `keep_claim`: a send past its deadline may still be talking
    to the destination, and no other attempt may start before the claim ages), `delivered.{dest}` on success, and
    the destination's last success or error."""
    now = services.clock()

    def plan(reads: Reads) -> Plan[None]:
        writes = []
        doc = reads.get(path)
        if doc is not None and not keep_claim:
            data = dict(doc)
            data["sending"] = {k: v for k, v in (data.get("sending") or {}).items() if k != dest_id}
            if delivered:
                data["delivered"] = {**(data.get("delivered") or {}), dest_id: now}
            writes.append(Write(path, "set", data))
        status = dict(reads.get(status_path(dest_id)) or {})
        if delivered:
            status.update(last_ok_ts=now, delivered=int(status.get("delivered") or 0) + 1)
        elif error is not None:
            status.update(last_error=error, last_error_ts=now, failures=int(status.get("failures") or 0) + 1)
        if delivered or error is not None:
            writes.append(Write(status_path(dest_id), "set", status))
        return Plan(writes, None)

    services.store.transact([path, status_path(dest_id)], plan)


def with_secret(secrets: Secrets, dest_id: str, secret: str | None, commit: Callable[[], Any]) -> Any:
    """`commit` (the list's transaction) with `secret` already in the secrets store (a listed destination always
    finds its secret); when it fails — a 400 at the cap, the store unreachable — the store gets back what it had,
    so a refused request writes nothing there either. `secret` None: nothing to put."""
    if secret is None:
        return commit()
    had = secrets.get(dest_id)
    secrets.put(dest_id, secret)
    try:
        return commit()
    except BaseException:
        if had is None:
            secrets.delete(dest_id)
        else:
            secrets.put(dest_id, had)
        raise


def remove_destination(services: Any, secrets: Secrets, dest_id: str) -> bool:
    """Drop one destination (its entry, its status, then its secret); False when there was none."""

    def plan(reads: Reads) -> Plan[bool]:
        current = destinations(reads.get(SETTINGS_PATH))
        others = [d for d in current if d["id"] != dest_id]
        if len(others) == len(current):
            return Plan([], False)
        return Plan([Write(SETTINGS_PATH, "set", {"destinations": others}), Write(status_path(dest_id), "delete")],
                    True)

    removed: bool = services.store.transact([SETTINGS_PATH], plan)
    if removed:
        secrets.delete(dest_id)
    return removed


def record_status(services: Any, dest_id: str, error: str | None) -> None:
    """A destination's last success or error, outside any notification (the test button)."""
    now = services.clock()

    def plan(reads: Reads) -> Plan[None]:
        status = dict(reads.get(status_path(dest_id)) or {})
        if error is None:
            status.update(last_ok_ts=now)
        else:
            status.update(last_error=error, last_error_ts=now)
        return Plan([Write(status_path(dest_id), "set", status)], None)

    services.store.transact([status_path(dest_id)], plan)


# ---- the apprise sender ------------------------------------------------------------------------------------------

_APPRISE_TYPES = {"critical": "failure", "important": "warning", "info": "info"}


def load_apprise() -> Any:
    """apprise, its plugins loaded (imported on first use: only the timers function and the destination routes need
    it). Some plugins import deprecated standard modules (imghdr): those warnings are apprise's, not ours."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        apprise.Apprise().add("json://localhost")   # loads the plugins under this filter, once per process
    return apprise


# A send's socket timeouts (apprise's `cto` and `rto`, 4 s by default): a connect and a read fit in a send's deadline
# (SEND_DEADLINE_S), which bounds the whole send however many reads a slow destination makes.
MAX_TIMEOUT_S = 15.0


# A whole send, however slowly the destination answers: inside Cloud Tasks' dispatch deadline for the task
# (cloud_tasks.DISPATCH_DEADLINE_S, 30 s), so the attempt answers before Cloud Tasks gives up on it.
SEND_DEADLINE_S = 20.0
# Sends waited on at once, those past their deadline included (their threads run on until the destination lets go):
# per destination, so one that holds on to its sends stops only its own, and for the whole process, a bound on
# threads. Beyond either, no new send starts: the attempt fails (and is retried) rather than one more thread.
MAX_SENDS_PER_DESTINATION = 2
MAX_SENDS_IN_FLIGHT = 32
_in_flight: dict[str, int] = {}     # destination (its URL: kept in memory only) → sends not yet finished
_in_flight_lock = threading.Lock()

T = TypeVar("T")


class NoAnswer(Exception):
    """The destination had not answered when the send's deadline passed, or earlier sends are still waiting on it."""


def within_deadline(destination: str, send: Callable[[], T]) -> T:
    """`send()` to `destination`, on a thread of its own, waited for at most SEND_DEADLINE_S; its exception, if it
    raised one, is raised here. Past the deadline: NoAnswer (the thread is left to finish on its own: Python cannot
    stop it, and it holds its place in the counts until it does)."""
    with _in_flight_lock:
        mine = _in_flight.get(destination, 0)
        if mine >= MAX_SENDS_PER_DESTINATION:
            raise NoAnswer(f"not sent: {mine} earlier sends to this destination are still waiting on it")
        if sum(_in_flight.values()) >= MAX_SENDS_IN_FLIGHT:
            raise NoAnswer(f"not sent: {MAX_SENDS_IN_FLIGHT} earlier sends are still waiting on their destinations")
        _in_flight[destination] = mine + 1
    outcome: list[tuple[bool, Any]] = []
    finished = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, send()))
        except BaseException as exc:   # handed to the waiting thread, which raises it
            outcome.append((False, exc))
        finally:
            _done(destination)
            finished.set()

    try:
        threading.Thread(target=run, name="notify-send", daemon=True).start()
    except BaseException:   # no thread (the process is out of them): the place it took is given back
        _done(destination)
        raise
    if not finished.wait(SEND_DEADLINE_S):
        raise NoAnswer(f"the destination did not answer within {SEND_DEADLINE_S:g} s")
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _done(destination: str) -> None:
    with _in_flight_lock:
        left = _in_flight.get(destination, 1) - 1
        if left > 0:
            _in_flight[destination] = left
        else:
            _in_flight.pop(destination, None)


class _ThisThreadsLines(logging.Handler):
    """apprise's warnings logged by the thread that made it, and no other: a send past its deadline goes on in its
    own thread and may log later, while another destination's send is listening (apprise has one logger)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(record.getMessage())


def _services(url: str) -> Any:
    """apprise holding `url`'s services: apprise reads several URLs in one text (split at commas and spaces)."""
    app = load_apprise().Apprise()
    app.add(url)
    return app


def _bounded(service: Any) -> bool:
    return all(float(getattr(service, name, 0) or 0) <= MAX_TIMEOUT_S
               for name in ("socket_connect_timeout", "socket_read_timeout"))


def valid_url(url: str) -> bool:
    """One service apprise understands, its timeouts at most MAX_TIMEOUT_S: a text of several URLs would be several
    destinations behind one id (past the cap of MAX_DESTINATIONS)."""
    app = _services(url)
    return len(app) == 1 and _bounded(app[0])


def apprise_sender(url: str, title: str, text: str, level: str) -> str | None:
    """Send through apprise (NoAnswer past the send's deadline)."""
    app = _services(url)
    if len(app) != 1:   # a URL stored before valid_url said one service: sent to no one rather than to several
        return "the destination's URL is not one URL apprise understands"
    for service in app:   # a stored URL's timeouts, bounded like a new one's
        service.socket_connect_timeout = min(float(service.socket_connect_timeout), MAX_TIMEOUT_S)
        service.socket_read_timeout = min(float(service.socket_read_timeout), MAX_TIMEOUT_S)

    def send() -> tuple[bool, list[str]]:   # one service: apprise sends it in this thread
        heard = _ThisThreadsLines()   # what went wrong, for the operator
        logger = load_apprise().logger   # apprise's one logger (a `logging.Logger`)
        if logger.getEffectiveLevel() > logging.WARNING:
            logger.setLevel(logging.WARNING)
        logger.addHandler(heard)
        try:
            ok = app.notify(title=title, body=text or title, notify_type=_APPRISE_TYPES.get(level, "info"))
        finally:
            logger.removeHandler(heard)
        return bool(ok), heard.lines

    ok, lines = within_deadline(url, send)
    if ok:
        return None
    said = " ".join(" ".join(lines).split()[-40:]) or "the destination refused it"
    return str(mask_secrets(scrub_url(said, url)))   # and any other destination's secret this process has read


def _push(secrets: Any, secret: str, message: dict[str, Any]) -> push.Outcome:
    """One Web Push message to the subscription kept as `secret` (shared.service.push)."""
    subscription = push.read_secret(secret)
    if subscription is None:
        return push.Outcome("failed", "the stored push subscription is unreadable")
    try:
        key = push.private_key(secrets)
    except Exception as exc:   # Secret Manager unreachable: retried like any failure
        return push.Outcome("failed", f"the VAPID key could not be read ({type(exc).__name__})")
    if not key:
        return push.Outcome("failed", f"Web Push is not configured: {push.VAPID_SECRET} has no version")
    return within_deadline(secret, lambda: push.send(subscription, message, key))


def default_sender(url: str, title: str, text: str, level: str) -> str | None:
    """apprise, or Web Push when the secret is a push subscription (the destinations' test button)."""
    if push.read_secret(url) is None:
        return apprise_sender(url, title, text, level)
    from shared.service import notify_secrets

    return _push(notify_secrets.secrets(), url, {**push.trial_message(), "title": title, "body": text}).error


def scrub_url(text: str, url: str) -> str:
    """`text` without the URL or any piece of it long enough to be a credential (a token, a password, a path)."""
    pieces = {url, *(p for p in re.split(r"[/:@?&=#]+", url.split("://", 1)[-1]) if len(p) >= 6)}
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "[REDACTED]")
    return text[:300]


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


def masked(dest: Mapping[str, Any], status: Mapping[str, Any] | None) -> dict[str, Any]:
    """A destination as the API shows it: never its URL, only the scheme."""
    s = status or {}
    return {"id": dest["id"], "label": dest.get("label") or dest["id"], "level": dest["level"],
            "url": f"{dest.get('scheme', '?')}://…", "last_ok_ts": s.get("last_ok_ts"),
            "last_error": s.get("last_error"), "last_error_ts": s.get("last_error_ts"),
            "delivered": s.get("delivered", 0), "failures": s.get("failures", 0)}


Clock = Callable[[], float]
SENDER: Sender = default_sender   # tests may swap it; the timers function and the test button send through it

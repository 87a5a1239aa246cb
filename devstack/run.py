"""The local stack: `python -m devstack.run` (what `make run` starts), and `LocalStack` for the tests.

One process tree, everything on 127.0.0.1:
- the Firestore emulator (bare JVM, `firestore.rules`),
- the Cloud Tasks emulator with the `timers` queue (at most 5 retries: it never backs off),
- with `firebase_auth` (on in `make run`): the Firebase Authentication emulator (npm's firebase-tools) and one
  local operator account (OPERATOR_AUTH=firebase, issue 12); tests leave it off for speed (password mode),
- one gunicorn process serving `devstack.router`: the dashboard and every function behind `firebase.json`'s
  rewrites, exactly as Hosting routes them, plus `/__fn/<target>/` for the Cloud Tasks callbacks.

Every child runs in its own process group and is stopped by group; a child also dies with this process, so a
second run never finds a port taken.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

from devstack.emulators import (
    EmulatorError,
    Managed,
    create_operator,
    dying_with_parent,
    free_port,
    port_open,
    start_firebase_auth,
    start_firestore,
    start_tasks,
)
from devstack.router import FUNCTION_TARGETS

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PROJECT = "demo-operatorlock"
PASSWORD_NAME = "DASHBOARD_PASSWORD"  # noqa: S105 - the variable's name; its value is never printed
LOCATION = "us-central1"
QUEUE = "timers"
DEFAULT_PORT = 5000
DEFAULT_FIRESTORE_PORT = 8080
DEFAULT_TASKS_PORT = 9022
TASKS_MAX_RETRIES = 5
WATCHDOG_EVERY_S = 60.0            # the watchdog's tick (D23), like the cloud's Cloud Scheduler job
DEV_CLOCK_NAME = "dev-clock.json"   # the dev clock (shared/service/clock.py), under the logs folder
# gunicorn's threads: held long polls take at most LONG_POLL_MAX_HELD (8) of them and a slow upload one for at most
# devstack.router.BODY_DEADLINE_S, so webhooks, reports and the dashboard keep the rest
WEB_THREADS = 32

# generated for each run unless the environment already has them
GENERATED_SECRETS = ("TV_WEBHOOK_SECRET", "BRIDGE_HEARTBEAT_SECRET", "SESSION_SECRET", "TASKS_LOCAL_TOKEN")
LOCAL_OPERATOR_EMAIL = "operator@operatorlock.test"


# "module:function" called with a running stack just before it stops, returning what is wrong with it or None.
# The tests set it (tests/conftest.py: every stack's documents and logs are scanned for its secrets), and it
# reaches a stack that a child process runs too (`python -m sim.demo` started by a test).
STOP_CHECK_ENV = "DEVSTACK_STOP_CHECK"


class StopCheckFailed(Exception):
    """The stop check found something wrong with the stack (which was stopped all the same)."""


def _stop_check(stack: LocalStack) -> str | None:
    target = os.environ.get(STOP_CHECK_ENV, "")
    if not target:
        return None
    try:
        module, _, name = target.partition(":")
        check: Callable[[LocalStack], str | None] = getattr(importlib.import_module(module), name)
        return check(stack)
    except Exception as exc:  # a broken check must not keep the stack from stopping
        return f"stop check {target} failed: {exc!r}"


@dataclass
class LocalStack:
    """The whole stack as child processes. `with LocalStack.on_free_ports() as stack:` for tests;
    `.url`, `.secrets` and `.env` (what the functions see) describe it; `.stop()` ends every child."""

    root: Path = ROOT
    port: int = DEFAULT_PORT
    firestore_port: int = DEFAULT_FIRESTORE_PORT
    tasks_port: int = DEFAULT_TASKS_PORT
    project: str = PROJECT
    log_dir: Path | None = None
    base_env: dict[str, str] | None = None  # default: os.environ at start()
    console: bool = False  # the web server logs to this terminal instead of a file
    # Firebase sign-in (issue 12): the Auth emulator on three more ports, and one operator account whose
    # credentials the banner prints (`operator`: email and password)
    firebase_auth: bool = False
    auth_ports: tuple[int, int, int] | None = None  # emulator, its hub, its logging; default: free ports
    operator: dict[str, str] = field(default_factory=dict, init=False)
    secrets: dict[str, str] = field(default_factory=dict, init=False)
    generated: set[str] = field(default_factory=set, init=False)  # the secrets this run made up (the banner's)
    env: dict[str, str] = field(default_factory=dict, init=False)
    processes: list[Managed] = field(default_factory=list, init=False)
    started_in: float = field(default=0.0, init=False)
    # issue 20: a local notification receiver (devstack.receiver) behind the `local` destination, printing
    receiver: bool = False
    notify_receiver: object = field(default=None, init=False)

    @classmethod
    def on_free_ports(cls, root: Path = ROOT, log_dir: Path | None = None,
                      base_env: dict[str, str] | None = None) -> LocalStack:
        return cls(root, free_port(), free_port(), free_port(), log_dir=log_dir, base_env=base_env)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ports(self) -> list[int]:
        return [self.port, self.firestore_port, self.tasks_port, *(self.auth_ports or ())]

    @property
    def auth_address(self) -> str | None:
        return f"{HOST}:{self.auth_ports[0]}" if self.firebase_auth and self.auth_ports else None

    @property
    def logs(self) -> Path:
        return self.log_dir or self.root / ".local" / "devstack"

    # --- start and stop --------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        began = time.monotonic()
        if self.firebase_auth and self.auth_ports is None:
            self.auth_ports = (free_port(), free_port(), free_port())
        taken = [port for port in self.ports if port_open(HOST, port)]
        if taken:
            raise EmulatorError(f"port(s) {taken} already taken on {HOST}: is another stack still running?")
        if self.receiver:
            from devstack.receiver import Receiver, show

            self.notify_receiver = Receiver(on_message=show).start()
        self.env = self._environment()
        self.use_real_clock()
        try:
            # all three boot in parallel; the functions reach the emulators only when a request comes
            self.processes.append(start_firestore(
                self.firestore_port, self.logs, HOST, rules=self.root / "firestore.rules",
                die_with_parent=True, wait=False,
            ))
            self.processes.append(start_tasks(
                self.tasks_port, self.project, [QUEUE], self.logs, LOCATION, TASKS_MAX_RETRIES, HOST,
                die_with_parent=True, wait=False,
            ))
            if self.firebase_auth and self.auth_ports is not None:
                self.processes.append(start_firebase_auth(
                    *self.auth_ports, self.project, self.root, self.logs, HOST, die_with_parent=True, wait=False,
                ))
            self.processes.append(self._start_web())
            for managed in self.processes:
                managed.wait_ready()
            self._wait_until_serving(self.processes[-1])
            if self.auth_address is not None:
                self.operator = {"email": LOCAL_OPERATOR_EMAIL, "password": secrets.token_urlsafe(12)}
                self.operator["uid"] = create_operator(self.auth_address, self.project, **self.operator)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def use_real_clock(self) -> None:
        """Every start is on the real clock: a dev clock an earlier run froze or moved (its file stays under the
        logs folder) must not carry over into this one (issue 21)."""
        (self.logs / DEV_CLOCK_NAME).unlink(missing_ok=True)

    def stop(self, timeout: float = 10.0) -> None:
        """Stops every child by process group, newest first, and waits until their ports are free. A stop check
        (STOP_CHECK_ENV) runs first on a stack that started; what it finds is raised once everything stopped."""
        problem = _stop_check(self) if self.processes and self.started_in else None
        while self.processes:
            self.processes.pop().stop(timeout)
        if self.notify_receiver is not None:
            self.notify_receiver.stop()  # type: ignore[attr-defined]
            self.notify_receiver = None
        deadline = time.monotonic() + timeout
        while any(port_open(HOST, port) for port in self.ports) and time.monotonic() < deadline:
            time.sleep(0.05)
        if problem:
            raise StopCheckFailed(problem)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- pieces --------------------------------------------------------------------------------

    def tick_watchdog(self) -> int:
        """One watchdog tick (D23), as Cloud Scheduler does once a minute in the cloud: a `watchdog` timer posted
        to the timers function with the local tasks token. Returns the HTTP status."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            conn.request("POST", "/__fn/timers/", body=b'{"kind":"watchdog","key":"tick","at":0}', headers={
                "Content-Type": "application/json", "X-Local-Tasks-Token": self.env.get("TASKS_LOCAL_TOKEN", "")})
            return conn.getresponse().status
        finally:
            conn.close()

    def _environment(self) -> dict[str, str]:
        base = dict(os.environ if self.base_env is None else self.base_env)
        self.secrets = {name: base.get(name) or secrets.token_urlsafe(24) for name in GENERATED_SECRETS}
        self.generated = {name for name in GENERATED_SECRETS if not base.get(name)}
        tasks_address = f"{HOST}:{self.tasks_port}"
        stack = {
            **self.secrets,
            "DASHBOARD_PASSWORD": base.get("DASHBOARD_PASSWORD", ""),
            "LOCAL_DEV": "1",
            "ALLOW_OPEN_DASHBOARD": "1",
            "GOOGLE_CLOUD_PROJECT": self.project,
            "GCLOUD_PROJECT": self.project,
            "FIRESTORE_EMULATOR_HOST": f"{HOST}:{self.firestore_port}",
            "CLOUD_TASKS_EMULATOR_HOST": tasks_address,
            "CLOUD_TASKS_LOCATION": LOCATION,
            "CLOUD_TASKS_QUEUE": QUEUE,
            "TIMERS_URL": f"{self.url}/__fn/timers",
            "PORT": str(self.port),
            "DEV_CLOCK_FILE": str(self.logs / DEV_CLOCK_NAME),
            # destinations' URLs added through the API: a file of this run's logs folder (git-ignored)
            "NOTIFY_SECRETS_FILE": base.get("NOTIFY_SECRETS_FILE") or str(self.logs / "notify-secrets.json"),
        }
        if self.notify_receiver is not None:
            stack["NOTIFY_LOCAL_URL"] = self.notify_receiver.json_url  # type: ignore[attr-defined]
        if self.auth_address is not None:
            stack.update(OPERATOR_AUTH="firebase", FIREBASE_AUTH_EMULATOR_HOST=self.auth_address,
                         FIREBASE_PROJECT_ID=self.project)
        return {**base, **stack}

    def _start_web(self) -> Managed:
        env = {
            **self.env,
            "DEVSTACK_ROOT": str(self.root),
            # the served repo first, then the one holding this devstack package (they differ only in tests)
            "PYTHONPATH": os.pathsep.join(dict.fromkeys(
                filter(None, [str(self.root), str(ROOT), self.env.get("PYTHONPATH")])
            )),
        }
        cmd = [
            sys.executable, "-m", "gunicorn", "-w", "1", "--threads", str(WEB_THREADS),
            "-b", f"{HOST}:{self.port}", "--chdir", str(self.root), "--graceful-timeout", "3",
            "--no-control-socket", "--access-logfile", "-", "--logger-class", "devstack.access_log.MaskingLogger",
            "devstack.router:app_from_env()",
        ]
        log_path = self.logs / "web.log"
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(log_path, "wb") as log:
            output = None if self.console else log
            proc = subprocess.Popen(  # noqa: S603 - argv built here, never from input
                dying_with_parent(cmd), stdout=output, stderr=subprocess.STDOUT if output else None,
                stdin=subprocess.DEVNULL, start_new_session=True, env=env,
            )
        return Managed("web", HOST, self.port, proc, log_path, ready_timeout=30)

    def _wait_until_serving(self, web: Managed, timeout: float = 30.0) -> None:
        """The port opens before the worker has booted: one answered request proves the router is up."""
        deadline = time.monotonic() + timeout
        while True:
            connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
            try:
                connection.request("GET", "/")
                connection.getresponse().read()
                return
            except OSError as exc:
                if web.proc.poll() is not None or time.monotonic() > deadline:
                    raise EmulatorError(f"web server did not answer on {self.url}: {exc}") from exc
                time.sleep(0.05)
            finally:
                connection.close()


# ----------------------------------------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------------------------------------

class _StopRequested(Exception):
    """Ctrl-C, SIGTERM or SIGHUP: leave the wait loop and stop the stack. SIGINT gets this handler too:
    a shell starts background jobs with SIGINT ignored, and Python then never raises KeyboardInterrupt."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def describe(stack: LocalStack) -> str:
    rel_logs = stack.logs.relative_to(stack.root) if stack.logs.is_relative_to(stack.root) else stack.logs
    functions = ", ".join(FUNCTION_TARGETS)
    lines = [
        f"OperatorLock local stack ready in {stack.started_in:.1f} s",
        "",
        f"  Dashboard + API      {stack.url}/  (firebase.json: static files, then rewrites, like Hosting)",
        f"  Functions directly   {stack.url}/__fn/<target>/  (targets: {functions})",
        f"  Firestore emulator   {HOST}:{stack.firestore_port}  project {stack.project}  (no persistence)",
        f"  Cloud Tasks emulator {HOST}:{stack.tasks_port}  queue projects/{stack.project}/locations/"
        f"{LOCATION}/queues/{QUEUE} -> {stack.env['TIMERS_URL']}/",
        *([f"  Auth emulator        {stack.auth_address}  project {stack.project}  (firebase-tools; "
           f"OPERATOR_AUTH=firebase)"] if stack.auth_address else []),
        *([f"  Notify receiver      {stack.notify_receiver.json_url}  (the `local` destination, level all: "  # type: ignore[attr-defined]
           "every notification is printed here)"] if stack.notify_receiver is not None else []),
        f"  Watchdog             ticks every {WATCHDOG_EVERY_S:.0f} s (TradingView, bridge, unwatched position)",
        f"  Logs                 {rel_logs}/ (emulators); web requests below",
        "",
        "Dev secrets of this run (export any of them before `make run` to choose your own):",
        # only what this run generated: a value the user exported is his, and a terminal is a log too
        *(f"  {name}={value}" if name in stack.generated else f"  {name}: set from your environment"
          for name, value in stack.secrets.items()),
        *(_operator_lines(stack) if stack.auth_address else [
            f"  {PASSWORD_NAME}: " + ("set from your environment" if stack.env[PASSWORD_NAME]
                                       else "empty: the dashboard is open (ALLOW_OPEN_DASHBOARD=1)")]),
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def _operator_lines(stack: LocalStack) -> list[str]:
    return [
        "",
        "Sign-in: operator accounts in the Auth emulator (OPERATOR_AUTH=firebase; `--auth password` for the",
        "shared password). This run's local operator (made up for this run, gone when it stops):",
        f"  email {stack.operator.get('email')}  password {stack.operator.get('password')}",
        "More operators: FIREBASE_AUTH_EMULATOR_HOST=" f"{stack.auth_address} FIREBASE_PROJECT_ID={stack.project} "
        "python -m scripts.operators create|grant|revoke EMAIL",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.run", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or DEFAULT_PORT))
    parser.add_argument("--firestore-port", type=int, default=DEFAULT_FIRESTORE_PORT)
    parser.add_argument("--tasks-port", type=int, default=DEFAULT_TASKS_PORT)
    parser.add_argument("--auth", choices=["firebase", "password"],
                        default="password" if os.environ.get("OPERATOR_AUTH") == "password" else "firebase",
                        help="operator sign-in: accounts in the Auth emulator (default) or DASHBOARD_PASSWORD")
    parser.add_argument("--receiver", action="store_true",
                        help="print every notification at a local receiver (the `local` destination, level all)")
    args = parser.parse_args(argv)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_stop)
    stack = LocalStack(port=args.port, firestore_port=args.firestore_port, tasks_port=args.tasks_port,
                       console=True, firebase_auth=args.auth == "firebase", receiver=args.receiver)
    try:
        stack.start()
        print(describe(stack), flush=True)
        next_tick = time.monotonic()
        while True:
            if time.monotonic() >= next_tick:   # the watchdog's ticker (D23): Cloud Scheduler's job, locally
                next_tick += WATCHDOG_EVERY_S
                try:
                    stack.tick_watchdog()
                except OSError as exc:
                    print(f"watchdog tick failed: {exc}", file=sys.stderr, flush=True)
            for managed in stack.processes:
                if managed.proc.poll() is not None:
                    print(f"\n{managed.name} exited with code {managed.proc.returncode} "
                          f"(log: {managed.log_path}); stopping the stack", file=sys.stderr, flush=True)
                    return 1
            time.sleep(0.5)
    except (KeyboardInterrupt, _StopRequested):
        return 0
    except EmulatorError as exc:
        print(f"local stack failed to start: {exc}", file=sys.stderr)
        return 1
    finally:
        began = time.monotonic()
        # a second Ctrl-C must not interrupt the cleanup half-way
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        stack.stop()
        print(f"\nlocal stack stopped in {time.monotonic() - began:.1f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())

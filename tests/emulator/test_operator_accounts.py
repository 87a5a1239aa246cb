"""Issue 12 on the whole local stack in the Firebase mode (OPERATOR_AUTH=firebase), against the real
Authentication emulator of npm's firebase-tools: sign-in → session cookie → operator routes; no grant → 403;
logout revokes (the copied cookie answers 401); revoking a grant locks the operator out on the next request;
an expired or forged cookie is 401; audit events name the operator and /api/logs filters by it.

One stack for the module: the Auth emulator takes 20-75 s to start on this machine.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.emulators import create_operator
from devstack.run import LocalStack

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(not (ROOT / "node_modules/.bin/firebase").exists(),
                       reason="firebase-tools not installed (make install)"),
]


class Desk:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.url = stack.url
        self.auth = stack.auth_address
        self.project = stack.project

    def sign_in(self, email: str, password: str) -> str:
        """What the login page does (hosting/public/login.js): the Identity Toolkit's signInWithPassword at the
        URL /api/auth/status publishes → a Firebase ID token. The password goes to the Auth emulator only."""
        status = requests.get(f"{self.url}/api/auth/status", timeout=30).json()
        response = requests.post(f"{status['firebase']['sign_in_url']}?key={status['firebase']['api_key']}",
                                 json={"email": email, "password": password, "returnSecureToken": True}, timeout=30)
        assert response.status_code == 200, response.text
        return str(response.json()["idToken"])

    def login(self, email: str, password: str) -> requests.Session:
        session = requests.Session()
        response = session.post(f"{self.url}/api/login", json={"id_token": self.sign_in(email, password)}, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["operator"]["email"] == email
        return session

    def account(self, email: str, *, operator: bool) -> str:
        password = f"pw-{email.split('@')[0]}-{int(time.time())}"
        if operator:
            create_operator(self.auth or "", self.project, email, password)
        else:
            base = f"http://{self.auth}/identitytoolkit.googleapis.com/v1/projects/{self.project}"
            created = requests.post(f"{base}/accounts", json={"email": email, "password": password},
                                    headers={"Authorization": "Bearer owner"}, timeout=30)
            assert created.status_code == 200, created.text
        return password

    def operators_cli(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "FIREBASE_AUTH_EMULATOR_HOST": self.auth or "", "FIREBASE_PROJECT_ID": self.project,
               **extra_env}
        return subprocess.run([sys.executable, "-m", "scripts.operators", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    def events(self, session: requests.Session, **params: Any) -> list[dict[str, Any]]:
        response = session.get(f"{self.url}/api/logs", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return list(response.json()["events"])


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    logs = tmp_path_factory.mktemp("firebase-stack")
    env = {k: v for k, v in os.environ.items() if k not in ("DASHBOARD_PASSWORD", "OPERATOR_AUTH")}
    # the refusal tests fail many logins from one address; the throttle has its own tests
    env.update(LOGIN_MAX_FAILURES_PER_ADDRESS="1000")
    stack = LocalStack.on_free_ports(log_dir=logs, base_env=env)
    stack.firebase_auth = True
    began = time.monotonic()
    with stack:
        print(f"Firebase-mode stack up in {time.monotonic() - began:.1f} s")
        desk = Desk(stack)
        _warm_up(desk)
        yield desk


def _warm_up(desk: Desk) -> None:
    """The first Firestore call of a fresh stack can exceed its deadline on a loaded machine (a 503 that says
    nothing about sign-in): wait until a signed-in read answers before the tests start."""
    session = desk.login(desk.stack.operator["email"], desk.stack.operator["password"])
    deadline = time.monotonic() + 90
    while session.get(f"{desk.url}/api/state", timeout=30).status_code == 503 and time.monotonic() < deadline:
        time.sleep(1)


def _forge(claims: dict[str, Any]) -> str:
    """A session cookie made up by hand (unsigned, like the emulator's own)."""
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_status_names_the_mode_and_the_sign_in_endpoint(desk: Desk) -> None:
    status = requests.get(f"{desk.url}/api/auth/status", timeout=30).json()
    assert status["mode"] == "firebase"
    assert status["authenticated"] is False and status["operator"] is None
    assert status["firebase"]["sign_in_url"].startswith(f"http://{desk.auth}/")
    assert status["firebase"]["project_id"] == desk.project


def test_local_operator_signs_in_acts_and_is_named_in_the_audit(desk: Desk) -> None:
    session = desk.login(desk.stack.operator["email"], desk.stack.operator["password"])
    cookie = session.cookies.get("__session")
    assert cookie and cookie.count(".") == 2, "a Firebase session cookie (a JWT), not the password mode's"
    status = session.get(f"{desk.url}/api/auth/status", timeout=30).json()
    assert status["authenticated"] is True and status["operator"]["email"] == desk.stack.operator["email"]
    assert session.get(f"{desk.url}/api/state", timeout=30).status_code == 200
    changed = session.post(f"{desk.url}/api/env", json={"env": "LIVE"}, timeout=30)
    assert changed.status_code < 500, changed.text
    last = desk.events(session, limit=1)[0]
    assert last["type"] == "set_env"
    assert last["actor"] == {"uid": desk.stack.operator["uid"], "email": desk.stack.operator["email"],
                             "mode": "firebase"}


def test_email_and_password_to_the_server_are_refused_400_and_nothing_written(desk: Desk) -> None:
    """The password goes to Firebase only: /api/login takes {id_token}; a body with email and password is a 400
    naming what to send, sets no cookie, writes nothing and leaves the password in no server log."""
    email, password = desk.stack.operator["email"], desk.stack.operator["password"]
    reader = desk.login(email, password)
    before = desk.events(reader, limit=50)
    for body in ({"email": email, "password": password}, {"email": email}, {"password": password},
                 {"id_token": desk.sign_in(email, password), "password": password}):
        refused = requests.post(f"{desk.url}/api/login", json=body, timeout=30)
        assert refused.status_code == 400, (body.keys(), refused.text)
        assert refused.json()["error"].startswith("id_token:") and "__session" not in refused.cookies
    assert desk.events(reader, limit=50) == before, "a refused login wrote nothing"
    web_log = (desk.stack.logs / "web.log").read_text(errors="replace")
    assert "/api/login" in web_log and password not in web_log


def test_firebase_refusals_are_ones_the_login_page_maps(desk: Desk) -> None:
    """A wrong password or an unknown email is refused by Firebase itself (the page never asks our server):
    the codes the emulator answers are in the page's one-text set, which never says which part was wrong."""
    page = (ROOT / "hosting/public/login.js").read_text()
    mapped = set(re.findall(r"'([A-Z_]+)'", page[page.index("const REFUSED"):page.index("]);", page.index(
        "const REFUSED"))]))
    status = requests.get(f"{desk.url}/api/auth/status", timeout=30).json()["firebase"]
    for email, password in ((desk.stack.operator["email"], desk.stack.operator["password"] + "x"),
                            ("nobody@operatorlock.test", desk.stack.operator["password"])):
        answer = requests.post(f"{status['sign_in_url']}?key={status['api_key']}",
                               json={"email": email, "password": password, "returnSecureToken": True}, timeout=30)
        assert answer.status_code == 400, answer.text
        code = re.split(r"[\s:]", answer.json()["error"]["message"])[0]
        assert code in mapped, f"{code}: the page would not show 'Invalid email or password'"


def test_without_the_grant_login_is_403_with_the_remedy(desk: Desk) -> None:
    password = desk.account("viewer@operatorlock.test", operator=False)
    token = desk.sign_in("viewer@operatorlock.test", password)
    response = requests.post(f"{desk.url}/api/login", json={"id_token": token}, timeout=30)
    assert response.status_code == 403
    assert response.json()["code"] == "NOT_AN_OPERATOR"
    assert "scripts.operators grant" in response.json()["error"]
    assert "__session" not in response.cookies


def test_bad_login_bodies_are_refused_and_set_no_cookie(desk: Desk) -> None:
    for body, status in (({}, 401), ({"id_token": "not-a-token"}, 401), ({"id_token": 5}, 401),
                         ({"password": "anything"}, 400)):
        response = requests.post(f"{desk.url}/api/login", json=body, timeout=30)
        assert response.status_code == status, (body, response.text)
        assert "__session" not in response.cookies
    answer = requests.post(f"{desk.url}/api/login", json={"password": "x"}, timeout=30).json()
    assert "id_token" in answer["error"]


def test_logout_revokes_a_copied_cookie(desk: Desk) -> None:
    password = desk.account("trader2@operatorlock.test", operator=True)
    session = desk.login("trader2@operatorlock.test", password)
    copied = requests.Session()
    copied.cookies.set("__session", session.cookies["__session"])
    assert copied.get(f"{desk.url}/api/gates", params={"asset": "ES"}, timeout=30).status_code == 200
    out = session.post(f"{desk.url}/api/logout", timeout=30)
    assert out.status_code == 200
    refused = copied.get(f"{desk.url}/api/gates", params={"asset": "ES"}, timeout=30)
    assert refused.status_code == 401, "a cookie captured before the logout must die with it"
    # signing in again works (a new session after the revocation)
    again = desk.login("trader2@operatorlock.test", password)
    assert again.get(f"{desk.url}/api/state", timeout=30).status_code == 200


def test_revoking_the_grant_locks_the_operator_out_on_the_next_request(desk: Desk) -> None:
    password = desk.account("trader3@operatorlock.test", operator=True)
    session = desk.login("trader3@operatorlock.test", password)
    assert session.get(f"{desk.url}/api/state", timeout=30).status_code == 200
    time.sleep(1.1)  # revocation is stored in whole seconds: the cookie must be older than it
    revoked = desk.operators_cli("revoke", "trader3@operatorlock.test")
    assert revoked.returncode == 0, revoked.stderr
    assert session.get(f"{desk.url}/api/state", timeout=30).status_code == 401
    # and a fresh sign-in without the grant is refused with the reason
    token = desk.sign_in("trader3@operatorlock.test", password)
    assert requests.post(f"{desk.url}/api/login", json={"id_token": token}, timeout=30).status_code == 403
    listed = desk.operators_cli("list")
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if row.startswith("trader3@"))
    assert "operator" not in line.split()[2:]


def test_grant_from_the_command_lets_an_account_in(desk: Desk) -> None:
    password = desk.account("trader4@operatorlock.test", operator=False)
    token = desk.sign_in("trader4@operatorlock.test", password)
    assert requests.post(f"{desk.url}/api/login", json={"id_token": token}, timeout=30).status_code == 403
    granted = desk.operators_cli("grant", "trader4@operatorlock.test")
    assert granted.returncode == 0, granted.stderr
    assert desk.login("trader4@operatorlock.test", password).get(f"{desk.url}/api/state", timeout=30).status_code == 200
    missing = desk.operators_cli("grant", "nobody@operatorlock.test")
    assert missing.returncode == 2 and "no account" in missing.stderr


def test_expired_forged_and_id_token_cookies_are_401(desk: Desk) -> None:
    uid = desk.stack.operator["uid"]
    now = int(time.time())
    base = {"iss": f"https://session.firebase.google.com/{desk.project}", "aud": desk.project, "sub": uid,
            "uid": uid, "user_id": uid, "operator": True, "email": desk.stack.operator["email"],
            "auth_time": now - 60, "firebase": {"sign_in_provider": "password"}}
    cases = {
        "expired": _forge({**base, "iat": now - 7200, "exp": now - 3600}),
        "other project": _forge({**base, "aud": "demo-other", "iss": "https://session.firebase.google.com/demo-other",
                                 "iat": now - 10, "exp": now + 3600}),
        "unknown user": _forge({**base, "sub": "nobody", "uid": "nobody", "user_id": "nobody", "iat": now - 10,
                                "exp": now + 3600}),
        "garbage": "a.b.c",
        "password-mode cookie": "b3BlcmF0b3I.aBcDeF.signature",
    }
    # an ID token is not a session cookie (another issuer) even though it is valid for signing in
    cases["id token"] = desk.sign_in(desk.stack.operator["email"], desk.stack.operator["password"])
    for name, cookie in cases.items():
        session = requests.Session()
        session.cookies.set("__session", cookie)
        response = session.get(f"{desk.url}/api/state", timeout=30)
        assert response.status_code == 401, (name, response.text)


def test_logs_filter_by_operator(desk: Desk) -> None:
    a_password = desk.account("alice@operatorlock.test", operator=True)
    b_password = desk.account("bob@operatorlock.test", operator=True)
    alice = desk.login("alice@operatorlock.test", a_password)
    bob = desk.login("bob@operatorlock.test", b_password)
    assert alice.post(f"{desk.url}/api/auto-exit", json={"asset": "ES"}, timeout=30).status_code < 500
    assert bob.post(f"{desk.url}/api/exit-all", json={}, timeout=30).status_code < 500
    assert bob.post(f"{desk.url}/api/auto-exit", json={"asset": "NQ"}, timeout=30).status_code < 500
    by_alice = desk.events(bob, operator="alice@operatorlock.test")
    assert by_alice and {e["actor"]["email"] for e in by_alice} == {"alice@operatorlock.test"}
    by_bob = desk.events(alice, operator="bob@operatorlock.test")
    assert len(by_bob) == 2 and {e["type"] for e in by_bob} == {"exit_all", "toggle_exit"}
    uid = by_bob[0]["actor"]["uid"]
    assert desk.events(alice, operator=uid) == by_bob
    assert [e["actor"]["email"] for e in desk.events(alice, operator="bob@operatorlock.test", asset="NQ")] == [
        "bob@operatorlock.test"]
    too_long = alice.get(f"{desk.url}/api/logs", params={"operator": "x" * 300}, timeout=30)
    assert too_long.status_code == 400 and "operator" in too_long.json()["error"]


def _admin_update(desk: Desk, **fields: Any) -> None:
    """An administrator's change made in the console (the emulator's admin API), not through scripts.operators."""
    base = f"http://{desk.auth}/identitytoolkit.googleapis.com/v1/projects/{desk.project}"
    response = requests.post(f"{base}/accounts:update", json=fields, headers={"Authorization": "Bearer owner"},
                             timeout=30)
    assert response.status_code == 200, response.text


def test_grant_removed_in_the_console_without_revoking_is_403_on_the_next_request(desk: Desk) -> None:
    """The cookie carries the claims of its sign-in; the account record as it is now decides."""
    password = desk.account("trader5@operatorlock.test", operator=True)
    session = desk.login("trader5@operatorlock.test", password)
    assert session.get(f"{desk.url}/api/state", timeout=30).status_code == 200
    uid = session.get(f"{desk.url}/api/auth/status", timeout=30).json()["operator"]["uid"]
    _admin_update(desk, localId=uid, customAttributes="{}")
    refused = session.get(f"{desk.url}/api/state", timeout=30)
    assert refused.status_code == 403 and refused.json()["code"] == "NOT_AN_OPERATOR"
    status = session.get(f"{desk.url}/api/auth/status", timeout=30).json()
    assert status["authenticated"] is False and "grant" in status["error"]


def test_a_disabled_account_is_401_on_the_next_request(desk: Desk) -> None:
    password = desk.account("trader6@operatorlock.test", operator=True)
    session = desk.login("trader6@operatorlock.test", password)
    uid = session.get(f"{desk.url}/api/auth/status", timeout=30).json()["operator"]["uid"]
    _admin_update(desk, localId=uid, disableUser=True)
    assert session.get(f"{desk.url}/api/state", timeout=30).status_code == 401


def test_the_first_operator_as_the_deploy_guide_adds_them(desk: Desk) -> None:
    """deploy/README.md: create, then grant, then sign in; a short password and a second create are refused."""
    email, password = "first@operatorlock.test", "a-first-operator-passphrase"
    short = desk.operators_cli("create", email, OPERATOR_PASSWORD="short")
    assert short.returncode == 2 and "12 characters" in short.stderr
    created = desk.operators_cli("create", email, OPERATOR_PASSWORD=password)
    assert created.returncode == 0, created.stderr
    assert password not in created.stdout, "the command never echoes the password"
    again = desk.operators_cli("create", email, OPERATOR_PASSWORD=password)
    assert again.returncode == 2 and "already exists" in again.stderr
    token = desk.sign_in(email, password)
    assert requests.post(f"{desk.url}/api/login", json={"id_token": token}, timeout=30).status_code == 403
    assert desk.operators_cli("grant", email).returncode == 0
    assert desk.login(email, password).get(f"{desk.url}/api/state", timeout=30).status_code == 200
    listed = desk.operators_cli("list")
    row = next(line for line in listed.stdout.splitlines() if line.startswith(email))
    assert row.split()[2] == "operator"


def test_a_lost_authenticator_is_removed_by_an_administrator(desk: Desk) -> None:
    """Issue 22 item 9: `remove-mfa EMAIL` removes every second factor and revokes the sessions; `list` shows
    the factors. The emulator stores SMS factors only (no TOTP), so an SMS factor stands in for the lost app."""
    email = "lost-phone@operatorlock.test"
    password = desk.account(email, operator=True)
    session = desk.login(email, password)
    base = f"http://{desk.auth}/identitytoolkit.googleapis.com/v1/projects/{desk.project}"
    uid = requests.post(f"{base}/accounts:lookup", json={"email": [email]}, headers={"Authorization": "Bearer owner"},
                        timeout=30).json()["users"][0]["localId"]
    enrolled = requests.post(f"{base}/accounts:update", headers={"Authorization": "Bearer owner"}, timeout=30, json={
        "localId": uid, "mfa": {"enrollments": [{"mfaEnrollmentId": "factor-1", "phoneInfo": "+15555550100",
                                                 "displayName": "phone"}]}})
    assert enrolled.status_code == 200, enrolled.text
    status = requests.get(f"{desk.url}/api/auth/status", timeout=30).json()["firebase"]
    held_back = requests.post(f"{status['sign_in_url']}?key={status['api_key']}", timeout=30,
                              json={"email": email, "password": password, "returnSecureToken": True}).json()
    assert "mfaPendingCredential" in held_back and "idToken" not in held_back
    listed = desk.operators_cli("list")
    assert re.search(rf"{re.escape(email)}\s+{uid}\s+operator 2fa:phone", listed.stdout), listed.stdout
    # revocation counts whole seconds (Firebase's validSince): a session issued in the second of the revocation
    # survives it, so the revocation happens a second after the sign-in, as it would for a real lost phone
    time.sleep(1.1)
    removed = desk.operators_cli("remove-mfa", email)
    assert removed.returncode == 0, removed.stderr
    assert "1 second factor(s) removed (phone)" in removed.stdout and "sessions are revoked" in removed.stdout
    assert session.get(f"{desk.url}/api/state", timeout=30).status_code == 401, "the old session is revoked"
    assert desk.login(email, password).get(f"{desk.url}/api/state", timeout=30).status_code == 200
    assert "2fa:" not in next(line for line in desk.operators_cli("list").stdout.splitlines() if email in line)
    assert desk.operators_cli("remove-mfa", "nobody@operatorlock.test").returncode == 2


def test_grant_marks_the_email_verified_for_a_second_factor(desk: Desk) -> None:
    """Identity Platform adds a second factor only for a verified address; the administrator vouches for it."""
    email = "unverified@operatorlock.test"
    desk.account(email, operator=False)
    base = f"http://{desk.auth}/identitytoolkit.googleapis.com/v1/projects/{desk.project}"

    def verified() -> bool:
        users = requests.post(f"{base}/accounts:lookup", json={"email": [email]}, timeout=30,
                              headers={"Authorization": "Bearer owner"}).json()["users"]
        return bool(users[0].get("emailVerified"))

    assert not verified()
    assert desk.operators_cli("grant", email).returncode == 0
    assert verified()


def test_the_emulator_still_lacks_the_totp_factor(desk: Desk) -> None:
    """What the browser tests' stand-in (tests/browser/mfa_standin.py) is for: the Auth emulator of the pinned
    firebase-tools stores the project's TOTP config but answers 400 to TOTP enrolment and sign-in. When this fails,
    the emulator has learnt TOTP and the stand-in can go."""
    base = f"http://{desk.auth}/identitytoolkit.googleapis.com"
    owner = {"Authorization": "Bearer owner"}
    config = requests.patch(f"{base}/v2/projects/{desk.project}/config?updateMask=mfa", headers=owner, timeout=30,
                            json={"mfa": {"state": "ENABLED", "providerConfigs": [
                                {"state": "ENABLED", "totpProviderConfig": {"adjacentIntervals": 1}}]}})
    assert config.status_code == 200 and config.json()["mfa"]["providerConfigs"][0]["state"] == "ENABLED"
    token = desk.sign_in(desk.stack.operator["email"], desk.stack.operator["password"])
    calls = {"mfaEnrollment:start": {"idToken": token, "totpEnrollmentInfo": {}},
             "mfaEnrollment:finalize": {"idToken": token, "totpVerificationInfo": {"sessionInfo": "s",
                                                                                   "verificationCode": "123456"}},
             "mfaSignIn:finalize": {"mfaPendingCredential": "p", "mfaEnrollmentId": "e",
                                    "totpVerificationInfo": {"verificationCode": "123456"}}}
    for name, body in calls.items():
        answer = requests.post(f"{base}/v2/accounts/{name}?key=emulator", json=body, timeout=30)
        assert answer.status_code == 400, (name, answer.text)
        assert "totpSessionInfo" not in answer.text and "idToken" not in answer.text
    requests.patch(f"{base}/v2/projects/{desk.project}/config?updateMask=mfa", headers=owner, timeout=30,
                   json={"mfa": {"state": "DISABLED"}})

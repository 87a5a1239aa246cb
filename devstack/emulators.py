"""Start and stop the official Firestore emulator and the Cloud Tasks emulator as child processes.

Both are started so that stopping them really stops them: the Firestore emulator is the bare JVM (the
`gcloud` wrapper leaves Java running when killed), each child gets its own process group and is killed by
group.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

FIRESTORE_EMULATOR_PACKAGE = "google-cloud-cli-firestore-emulator"


class EmulatorError(RuntimeError):
    """An emulator could not be found or did not come up: fix the machine (install steps), then retry."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        if proc is not None and proc.poll() is not None:
            raise EmulatorError(f"process exited with code {proc.returncode} before {host}:{port} opened")
        time.sleep(0.05)
    raise EmulatorError(f"{host}:{port} did not open within {timeout:.0f} s")


def firestore_jar() -> Path:
    """The emulator jar shipped by the Google Cloud CLI package on this machine image."""
    override = os.environ.get("FIRESTORE_EMULATOR_JAR")
    if override:
        return Path(override)
    try:
        listing = subprocess.run(  # noqa: S603 - fixed argv
            ["dpkg", "-L", FIRESTORE_EMULATOR_PACKAGE],  # noqa: S607 - dpkg from PATH, as on any Debian
            capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise EmulatorError(f"{FIRESTORE_EMULATOR_PACKAGE} is not installed: {exc}") from exc
    for line in listing.splitlines():
        if line.endswith("cloud-firestore-emulator.jar"):
            return Path(line)
    raise EmulatorError(f"no cloud-firestore-emulator.jar in {FIRESTORE_EMULATOR_PACKAGE}")


@dataclass
class Managed:
    name: str
    host: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 30.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def wait_ready(self) -> None:
        """Waits until the port opens; stops the process and raises when it exits or the time runs out."""
        try:
            wait_for_port(self.host, self.port, self.ready_timeout, self.proc)
        except EmulatorError as exc:
            self.stop()
            raise EmulatorError(f"{self.name}: {exc} (log: {self.log_path})") from exc

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)


PDEATHSIG = Path(__file__).with_name("pdeathsig.py")


def dying_with_parent(cmd: list[str]) -> list[str]:
    """`cmd`, run so that it gets SIGTERM when the process that started it dies, even by SIGKILL (Linux; see
    pdeathsig.py for why this is a wrapper and not a preexec_fn). Only for children started from a long-lived
    thread: the signal follows the thread that forked."""
    return [sys.executable, str(PDEATHSIG), str(os.getpid()), *cmd]


def _spawn(cmd: list[str], log_path: Path, env: dict[str, str] | None = None,
           die_with_parent: bool = False, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(  # noqa: S603 - argv built here, never from input
            dying_with_parent(cmd) if die_with_parent else cmd, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, env=env, cwd=cwd,
        )


def start_firestore(port: int, log_dir: Path, host: str = "127.0.0.1", rules: Path | None = None,
                    die_with_parent: bool = False, wait: bool = True, import_data: Path | None = None) -> Managed:
    """`wait=False` returns at once: the caller waits with `Managed.wait_ready` (to start several together).
    `import_data` is an `*.overall_export_metadata` file written by the emulator's export endpoint."""
    if port_open(host, port):
        raise EmulatorError(f"port {port} is already taken: is another stack still running?")
    java = shutil.which("java")
    if java is None:
        raise EmulatorError("java is not on PATH (the Firestore emulator needs Java 17)")
    cmd = [
        java, "-Duser.language=en", "-cp", str(firestore_jar()),
        "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
        f"--host={host}", f"--port={port}",
    ]
    if rules is not None:
        cmd.append(f"--rules={rules}")
    if import_data is not None:
        cmd.append(f"--import-data={import_data}")
    proc = _spawn(cmd, log_dir / "firestore-emulator.log", die_with_parent=die_with_parent)
    managed = Managed("firestore", host, port, proc, log_dir / "firestore-emulator.log", ready_timeout=60)
    if wait:
        managed.wait_ready()
    return managed


def start_tasks(port: int, project: str, queues: list[str], log_dir: Path, location: str = "us-central1",
                max_retries: int = 5, host: str = "127.0.0.1", die_with_parent: bool = False,
                wait: bool = True) -> Managed:
    if port_open(host, port):
        raise EmulatorError(f"port {port} is already taken: is another stack still running?")
    exe = Path(sys.executable).parent / "gcloud-tasks-emulator"
    if not exe.exists():
        raise EmulatorError(f"{exe} missing: install gcloud-tasks-emulator (make install)")
    cmd = [str(exe), "start", f"--port={port}", f"--max-retries={max_retries}"]
    for queue in queues:
        cmd += ["-d", f"projects/{project}/locations/{location}/queues/{queue}"]
    proc = _spawn(cmd, log_dir / "tasks-emulator.log", die_with_parent=die_with_parent)
    managed = Managed("tasks", host, port, proc, log_dir / "tasks-emulator.log", ready_timeout=30)
    if wait:
        managed.wait_ready()
    return managed


def wipe_firestore(address: str, project: str) -> None:
    """Delete every document of a project; retries once when a transaction is still open (409)."""
    import requests

    url = f"http://{address}/emulator/v1/projects/{project}/databases/(default)/documents"
    for attempt in range(2):
        response = requests.delete(url, timeout=10)
        if response.status_code == 200:
            return
        if response.status_code == 409 and attempt == 0:
            time.sleep(2)
            continue
        raise EmulatorError(f"wipe of {project} failed: {response.status_code} {response.text[:200]}")


FIREBASE_CLI = Path("node_modules") / ".bin" / "firebase"


def start_firebase_auth(port: int, hub_port: int, logging_port: int, project: str, root: Path, log_dir: Path,
                        host: str = "127.0.0.1", die_with_parent: bool = False, wait: bool = True) -> Managed:
    """The Firebase Authentication emulator of npm's firebase-tools (pinned in package.json), offline: a demo
    project id keeps every call local. Its hub and logging ports are given too (their defaults, 4400/4500,
    would clash between stacks), and its hub locator file goes to a temporary directory of this stack's own."""
    taken = [p for p in (port, hub_port, logging_port) if port_open(host, p)]
    if taken:
        raise EmulatorError(f"port(s) {taken} already taken: is another stack still running?")
    cli = root / FIREBASE_CLI
    if not cli.exists():
        raise EmulatorError(f"{cli} missing: install firebase-tools (make install runs npm ci)")
    work = log_dir / "firebase-auth"
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    config = work / "firebase.json"
    config.write_text(json.dumps({"emulators": {
        "auth": {"host": host, "port": port},
        "hub": {"host": host, "port": hub_port},
        "logging": {"host": host, "port": logging_port},
        "ui": {"enabled": False},
    }}), encoding="utf-8")
    env = {**os.environ, "TMPDIR": str(work / "tmp"), "CI": "true", "FIREBASE_CLI_DISABLE_UPDATE_CHECK": "true"}
    env.pop("FIREBASE_AUTH_EMULATOR_HOST", None)
    cmd = [str(cli), "emulators:start", "--only", "auth", "--project", project, "--config", str(config)]
    log_path = log_dir / "auth-emulator.log"
    # cwd: where firebase-tools drops its firebase-debug.log, out of the repository
    proc = _spawn(cmd, log_path, env=env, die_with_parent=die_with_parent, cwd=work)
    # firebase-tools loads slowly on a busy machine (20-75 s measured on 2 shared cores)
    managed = Managed("auth", host, port, proc, log_path, ready_timeout=180)
    if wait:
        managed.wait_ready()
    return managed


def create_operator(address: str, project: str, email: str, password: str) -> str:
    """An email/password account holding the operator grant, its email marked verified as `scripts.operators
    grant` does (Identity Platform adds a second factor only for a verified address), on the Auth emulator (its
    admin token is `owner`); returns the uid."""
    import requests

    base = f"http://{address}/identitytoolkit.googleapis.com/v1/projects/{project}"
    headers = {"Authorization": "Bearer owner"}
    created = requests.post(f"{base}/accounts", json={"email": email, "password": password}, headers=headers,
                            timeout=30)
    if created.status_code != 200:
        raise EmulatorError(f"operator account not created: {created.status_code} {created.text[:200]}")
    uid = str(created.json()["localId"])
    granted = requests.post(f"{base}/accounts:update", headers=headers, timeout=30,
                            json={"localId": uid, "customAttributes": json.dumps({"operator": True}),
                                  "emailVerified": True})
    if granted.status_code != 200:
        raise EmulatorError(f"operator grant not set: {granted.status_code} {granted.text[:200]}")
    return uid

"""The processes under test: start them with logs to files, wait until they answer, always stop them.

Every process is started by `Proc.start` and registered on an `ExitStack`, so it is stopped (SIGTERM,
then wait) however the bench ends. The service runs on an embedded PostgreSQL that it starts and
stops itself; `stop_leftover_postgres` makes sure that server is down even if the service died early.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
BIN = Path(sys.executable).parent  # the venv's bin: run.py runs under .venv/bin/python

TWILIO_ACCOUNT_SID = "AC" + "b3" * 16
TWILIO_AUTH_TOKEN = "bench-auth-token-" + "5" * 15
TWILIO_FROM = "+15005550006"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Proc:
    """One subprocess whose stdout and stderr go to `log`."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        """Start it (cwd: the repository)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.popen = subprocess.Popen(self.argv, cwd=REPO, env=self.env, stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    @property
    def pid(self) -> int:
        """Its process id."""
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        """Whether it is still running."""
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM, wait up to `timeout` seconds, then SIGKILL; its exit status."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"{self.name} ignored SIGTERM for {timeout:.0f}s; killing it", file=sys.stderr)
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def tail(self, lines: int = 30) -> str:
        """The end of its log, to explain a failure."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_http(url: str, proc: Proc, *, timeout: float = 120.0) -> None:
    """Wait until GET `url` answers 200; fail early (with its log) if `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited while starting:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own http:// URLs)
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{proc.name} did not answer {url} within {timeout:.0f}s:\n{proc.tail()}")


def start(stack: contextlib.ExitStack, proc: Proc) -> Proc:
    """Start `proc` and make sure it is stopped when `stack` closes."""
    stack.callback(proc.stop)
    return proc.start()


# --- helpers: the fake Twilio and the bare baseline ---------------------------------------------------


def start_fake_twilio(stack: contextlib.ExitStack, out: Path) -> str:
    """The loopback Twilio Messages API (with GET /stats) in its own process; its base URL."""
    port = free_port()
    proc = start(stack, Proc("fake-twilio", [sys.executable, str(BENCH / "fake_twilio_server.py"),
                                             "--port", str(port), "--account-sid", TWILIO_ACCOUNT_SID,
                                             "--auth-token", TWILIO_AUTH_TOKEN], out / "fake_twilio.log"))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/stats", proc, timeout=30)
    return url


AT_USERNAME = "bench"
AT_API_KEY = "bench-at-api-key"


def start_fake_at(stack: contextlib.ExitStack, out: Path, *, attempts: int = 3) -> str:
    """The loopback Africa's Talking messaging API in its own process; its base URL.

    A free port can be taken by another process between picking it and binding it (a run lost one to
    that race), so a start that fails is tried again on another port.
    """
    for attempt in range(attempts):
        port = free_port()
        proc = start(stack, Proc("fake-at", [sys.executable, str(BENCH / "fake_at_server.py"), "--port", str(port),
                                             "--username", AT_USERNAME, "--api-key", AT_API_KEY],
                                 out / "fake_at.log"))
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(url + "/stats", proc, timeout=30)
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            continue
        return url
    raise AssertionError("unreachable")


def start_bare_server(stack: contextlib.ExitStack, out: Path, *, processes: int = 1) -> tuple[str, Proc]:
    """The bare aiohttp form-parsing handler in its own process (or `processes` sharing the port); its base
    URL and (first) process."""
    port = free_port()
    command = [sys.executable, str(BENCH / "bare_server.py"), "--port", str(port), "--processes", str(processes)]
    proc = start(stack, Proc("bare-server", command, out / "bare_server.log"))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc, timeout=30)
    return url, proc


def start_pipeline_server(stack: contextlib.ExitStack, out: Path, *, public_url: str,
                          at_token: str) -> tuple[str, Proc]:
    """The service's webhook pipeline without storage (`bench/pipeline_server.py`) in its own process,
    checking signatures against `public_url` (the service's: the requests are signed for it); its base URL
    and process."""
    port = free_port()
    command = [sys.executable, str(BENCH / "pipeline_server.py"), "--port", str(port), "--public-url", public_url,
               "--twilio-token", TWILIO_AUTH_TOKEN, "--at-token", at_token]
    proc = start(stack, Proc("pipeline-server", command, out / "pipeline_server.log"))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc, timeout=60)
    return url, proc


# --- the service on an embedded PostgreSQL ------------------------------------------------------------


@dataclass
class Service:
    """A running `ews serve` with its own data directory (and so its own embedded PostgreSQL)."""

    url: str
    public_url: str
    data_dir: Path
    env: dict[str, str]
    proc: Proc

    @property
    def pgdata(self) -> Path:
        """The embedded PostgreSQL's data directory."""
        return (self.data_dir / "pgdata").resolve()

    def database_url(self) -> str:
        """The embedded server's URL, read from postmaster.pid (without taking a pgserver handle)."""
        info = _postmaster(self.pgdata)
        if info is None or not info.is_running():
            raise RuntimeError(f"no PostgreSQL running in {self.pgdata}")
        uri: str = info.get_uri()
        return uri

    def postgres_processes(self) -> list[psutil.Process]:
        """The postmaster and its children (backends, WAL writer, autovacuum ...)."""
        info = _postmaster(self.pgdata)
        if info is None or info.process is None:
            return []
        with contextlib.suppress(psutil.Error):
            return [info.process, *info.process.children(recursive=True)]
        return []

    def run_cli(self, *args: str) -> str:
        """Run `ews ARGS` with the service's environment; its output (raises if it fails)."""
        done = subprocess.run([str(BIN / "ews"), *args], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"ews {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout


def _postmaster(pgdata: Path) -> Any:
    """pgserver's PostmasterInfo for `pgdata` (None when there is no postmaster.pid)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from pgserver.utils import PostmasterInfo
    return PostmasterInfo.read_from_pgdata(pgdata)


def service_env(*, data_dir: Path, port: int, twilio_url: str, rules_file: Path,
                extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for `ews serve`: no EWS_DATABASE_URL, so it starts an embedded PostgreSQL."""
    from ews.core.privacy import ContactCipher

    env = {k: v for k, v in os.environ.items() if not k.startswith("EWS_")}
    env.update({
        "EWS_DATA_DIR": str(data_dir),
        "EWS_HOST": "127.0.0.1",
        "EWS_PORT": str(port),
        "EWS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "EWS_LOG_LEVEL": "WARNING",
        "EWS_SENDER_KEY": os.urandom(32).hex(),
        "EWS_CONTACT_KEY": ContactCipher.new_key(),
        "EWS_RULES_FILE": str(rules_file),
        "EWS_NOTIFIERS": "twilio_sms",
        "EWS_TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "EWS_TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "EWS_TWILIO_FROM": TWILIO_FROM,
        "EWS_TWILIO_API_BASE": twilio_url,
        # The gateways are loopback fakes: the bench measures the service, not a provider's per-sender pace.
        "EWS_TWILIO_RATE": "0",
        "EWS_AT_RATE": "0",
    })
    env.update(extra or {})
    return env


def start_service(stack: contextlib.ExitStack, *, name: str, out: Path, twilio_url: str, rules_file: Path,
                  extra_env: dict[str, str] | None = None, port: int | None = None) -> Service:
    """`ews serve` on a fresh data directory `out/name` (and `port`, or a free one); returns once
    GET /healthz is 200."""
    data_dir = out / name
    stop_leftover_postgres(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    port = port or free_port()
    env = service_env(data_dir=data_dir, port=port, twilio_url=twilio_url, rules_file=rules_file, extra=extra_env)
    proc = Proc(f"ews serve ({name})", [str(BIN / "ews"), "serve"], out / f"service_{name}.log", env)
    service = Service(f"http://127.0.0.1:{port}", env["EWS_PUBLIC_URL"], data_dir, env, proc)
    stack.callback(stop_leftover_postgres, data_dir)  # runs after the service's own stop, below
    start(stack, proc)
    wait_http(service.url + "/healthz", proc, timeout=180)
    return service


def stop_leftover_postgres(data_dir: Path, timeout: float = 30.0) -> None:
    """Fast-shut-down a PostgreSQL still running in `data_dir` (the service normally stops its own)."""
    info = _postmaster((data_dir / "pgdata").resolve())
    if info is None or not info.is_running():
        return
    process: psutil.Process = info.process
    print(f"stopping leftover PostgreSQL pid={process.pid} in {data_dir}", file=sys.stderr)
    process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown: clean, without waiting for clients
    try:
        process.wait(timeout)
    except psutil.TimeoutExpired:
        process.kill()

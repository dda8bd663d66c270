"""The processes under test: `chinwag serve` on a database, PostgreSQL databases, and Prism."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import io
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.client import LOCALHOST

ROOT = Path(__file__).resolve().parent.parent
PRISM_DIR = ROOT / "bench" / ".prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5.16.0"
SPEC = ROOT / "spec" / "twilio_chat_v1.json"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCALHOST, 0))
        return int(s.getsockname()[1])


def http_status(port: int, path: str, auth: str | None = None, timeout: float = 2.0) -> int:
    """The status of one GET, or 0 if nothing answered."""
    conn = http.client.HTTPConnection(LOCALHOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Authorization": auth} if auth else {})
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


def _stop(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=10)


def proc_memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) in MiB of a process and its worker children, summed."""
    from bench.load import family

    out: dict[str, float] = {"VmRSS": 0.0, "VmHWM": 0.0}
    for member in family(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            name, _, value = line.partition(":")
            if name in out:
                out[name] = round(out[name] + int(value.split()[0]) / 1024, 1)
    return out


class Chinwag:
    """`python -m chinwag serve` in a subprocess on one database and a free port."""

    def __init__(
        self,
        database: str,
        log_path: Path,
        workers: int = 1,
        extra_args: Sequence[str] = (),
        src: Path | None = None,
    ) -> None:
        self.database = database
        self.src = src  # another commit's exported `src` (export_ref), first on PYTHONPATH
        self.workers = workers
        self.extra_args = list(extra_args)
        self.log_path = log_path
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
        env.update(TWILIO_ACCOUNT_SID=self.account_sid, TWILIO_AUTH_TOKEN=self.auth_token)
        env["CHINWAG_WORKERS"] = str(self.workers)
        if self.src is not None:
            env["PYTHONPATH"] = str(self.src)
        return env

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("chinwag is not running")
        return self.process.pid

    def start(self, timeout: float = 120) -> float:
        """Start the server; seconds from launch until GET /healthz answers 200."""
        command = [sys.executable, "-m", "chinwag", "serve", "--host", LOCALHOST]
        command += ["--port", str(self.port), "--database", self.database, *self.extra_args]
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env(), stdout=log, stderr=log, cwd=self.log_path.parent
            )
        deadline = began + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chinwag exited early; see {self.log_path}")
            if http_status(self.port, "/healthz", timeout=1) == 200:
                return time.monotonic() - began
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"chinwag was not ready after {timeout:.0f}s; see {self.log_path}")

    def stop(self) -> int:
        if self.process is None:
            return 0
        code = _stop(self.process)
        self.process = None
        return code

    def api_key(self) -> tuple[str, str]:
        """A new API key's SID and secret, made as an operator makes one: `chinwag keys create`."""
        out = subprocess.run(
            [sys.executable, "-m", "chinwag", "keys", "create", "--account", self.account_sid],
            env={**self.env(), "CHINWAG_DATABASE": self.database},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.split()
        return out[0], out[1]


class Helper:
    """A bench helper in a subprocess on a free port: the bare stack, or the webhook receiver."""

    def __init__(self, command: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.port = free_port()
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, probe_path: str = "/", timeout: float = 60) -> float:
        """Start it; seconds until it answers anything on `probe_path`."""
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=log, cwd=ROOT
            )
        deadline = began + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[2]} exited early; see {self.log_path}")
            if http_status(self.port, probe_path, timeout=1):
                return time.monotonic() - began
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.command[2]} was not ready after {timeout:.0f}s")

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("not running")
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


def bare_stack(database: str, log_path: Path) -> Helper:
    """`bench/bare_create.py` under uvicorn, one process, on `database` (sqlite:/// or pg)."""
    command = [sys.executable, "-m", "uvicorn", "bench.bare_create:app", "--host", LOCALHOST]
    command += ["--port", "{port}", "--no-access-log", "--log-level", "warning"]
    return Helper(command, log_path, {"BARE_DATABASE": database})


def receiver(log_path: Path) -> Helper:
    """`bench/receiver.py`: answers every webhook 200 at once, noting when."""
    return Helper([sys.executable, "-m", "bench.receiver", "--port", "{port}"], log_path)


# Which chinwag -------------------------------------------------------------------------------


def _which(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise OSError(f"{name} not found on PATH")
    return found


def _git(*args: str) -> str:
    done = subprocess.run(
        [_which("git"), "-C", str(ROOT), *args], capture_output=True, timeout=60, check=True
    )
    return done.stdout.decode(errors="replace").strip()


def source_info(ref: str | None) -> dict[str, Any]:
    """The code under test: a git commit, or the working tree (and whether src/ has edits)."""
    try:
        if ref:
            return {"source": f"git {ref}", "commit": _git("rev-parse", f"{ref}^{{commit}}")}
        edits = _git("status", "--porcelain", "--", "src").splitlines()
        return {
            "source": "working tree",
            "commit": _git("rev-parse", "HEAD"),
            "src_edits": len(edits),
        }
    except (OSError, subprocess.SubprocessError) as exc:
        return {"source": "working tree" if not ref else f"git {ref}", "error": str(exc)}


def export_ref(ref: str, into: Path) -> Path:
    """`git archive <ref> src` unpacked under `into`; the directory to put on PYTHONPATH."""
    done = subprocess.run(
        [_which("git"), "-C", str(ROOT), "archive", "--format=tar", ref, "src"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: cannot export {ref!r}: {done.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


# PostgreSQL ---------------------------------------------------------------------------------


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def check_local(url: str) -> None:
    host = urlsplit(_dsn(url)).hostname
    if host not in (LOCALHOST, "localhost"):
        raise SystemExit(f"bench: refusing PostgreSQL at {host!r}; only {LOCALHOST} is used")


def _pg(admin: str, statement: str) -> Any:
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> Any:
        conn = await asyncpg.connect(_dsn(admin), timeout=10)
        try:
            return await conn.fetchval(statement, timeout=120)
        finally:
            await conn.close()

    return asyncio.run(run())


def pg_reachable(admin: str) -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        _pg(admin, "SELECT 1")
    except Exception as exc:  # noqa: BLE001  (any failure means: skip PostgreSQL, say why)
        return f"{type(exc).__name__}: {exc}"
    return None


def pg_create(admin: str) -> str:
    name = f"chinwag_bench_{secrets.token_hex(6)}"
    _pg(admin, f'CREATE DATABASE "{name}"')
    return _dsn(admin).rsplit("/", 1)[0] + "/" + name


def pg_drop(url: str, admin: str) -> None:
    name = url.rsplit("/", 1)[1]
    _pg(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path, name: str, admin: str) -> Iterator[str]:
    """The URL of a new, empty database of `kind`: a SQLite file `name`.db in `workdir`, or a
    PostgreSQL database dropped when the block ends."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / (name + '.db')}"
        return
    url = pg_create(admin)
    try:
        yield url
    finally:
        pg_drop(url, admin)


def on_each_database(
    kinds: Sequence[str], admin: str, name: str, run: Callable[[str, Path], dict[str, Any]]
) -> dict[str, Any]:
    """`run(database_url, workdir)` once per kind, each on a fresh database in a folder of its
    own (`name` names both); PostgreSQL is skipped, saying so, when it does not answer."""
    out: dict[str, Any] = {}
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix=f"chinwag-{name}-") as tmp:
            workdir = Path(tmp)
            if kind == "postgresql" and pg_reachable(admin) is not None:
                print(f"PostgreSQL at {admin} does not answer; skipped")
                continue
            with fresh_database(kind, workdir, name, admin) as url:
                out[kind] = run(url, workdir)
    return out


def pg_size(url: str) -> int:
    return int(_pg(url, "SELECT pg_database_size(current_database())"))


def sqlite_size(path: Path) -> dict[str, int]:
    sizes = {}
    for suffix in ("", "-wal", "-shm"):
        f = Path(f"{path}{suffix}")
        sizes["db" + suffix.replace("-", "_")] = f.stat().st_size if f.exists() else 0
    return sizes


# Prism --------------------------------------------------------------------------------------


def prism_binary(install: bool = True) -> tuple[Path | None, str]:
    """Prism's executable under bench/.prism/, installed from npm if needed; or None and why."""
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if binary.exists():
        return binary, "installed"
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None, "node/npm not found on PATH"
    if not install:
        return None, "not installed"
    print(f"bench: installing {PRISM_PACKAGE} under {PRISM_DIR} (once)...", flush=True)
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    command = [
        _which("npm"),
        "install",
        "--prefix",
        str(PRISM_DIR),
        PRISM_PACKAGE,
        "--ignore-scripts",
    ]
    command += ["--no-audit", "--no-fund", "--loglevel=error"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"npm install failed: {exc}"
    if done.returncode != 0 or not binary.exists():
        return None, f"npm install failed: {done.stderr.strip()[-500:]}"
    return binary, "installed now"


class Prism:
    """`prism mock -h 127.0.0.1 -p <port> <spec>` in a subprocess."""

    def __init__(self, binary: Path, log_path: Path) -> None:
        self.binary = binary
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, probe_path: str, auth: str, timeout: float = 120) -> float:
        command = [str(self.binary), "mock", "-h", LOCALHOST, "-p", str(self.port), str(SPEC)]
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, cwd=PRISM_DIR)
        deadline = began + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prism exited early; see {self.log_path}")
            if 200 <= http_status(self.port, probe_path, auth, timeout=1) < 300:
                return time.monotonic() - began
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"prism was not ready after {timeout:.0f}s; see {self.log_path}")

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("prism is not running")
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None

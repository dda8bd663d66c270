"""Real chinwag servers for the tests: `chinwag serve` in a subprocess on a free port."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.cli import CommandFailed, chinwag

PG_ADMIN = os.environ.get("CHINWAG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def pg_reachable() -> bool:
    import asyncpg  # type: ignore[import-untyped]

    async def probe() -> None:
        conn = await asyncpg.connect(_pg_dsn(PG_ADMIN), timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


def pg_create_database() -> str:
    """A fresh, empty database for one test run; its URL."""
    import asyncpg

    name = f"chinwag_test_{secrets.token_hex(6)}"

    async def create() -> None:
        conn = await asyncpg.connect(_pg_dsn(PG_ADMIN))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def pg_drop_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        conn = await asyncpg.connect(_pg_dsn(PG_ADMIN))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@dataclass
class Server:
    database: str
    account_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server is not running"
        return self.process.pid

    def sibling(self, **changes: Any) -> Server:
        """Another server (a second process or host) on this one's database, for its account."""
        same = {"account_sid": self.account_sid, "auth_token": self.auth_token}
        return Server(self.database, **{**same, **changes})

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
        env.update(TWILIO_ACCOUNT_SID=self.account_sid, TWILIO_AUTH_TOKEN=self.auth_token)
        env.update(self.extra_env)  # may override the credentials (or blank them)
        return env

    def cli(self, *args: str) -> str:
        """Run a `chinwag` command against this server's database, with its credentials and
        settings, in this process (tests/support/cli.py); its stdout, or CommandFailed."""
        env = {"TWILIO_ACCOUNT_SID": self.account_sid, "TWILIO_AUTH_TOKEN": self.auth_token}
        done = chinwag(*args, database=self.database, env={**env, **self.extra_env})
        if done.returncode != 0:
            raise CommandFailed(args, done.stderr)
        return done.stdout

    def start(self, log_path: Path) -> Server:
        self.log_path = log_path
        command = [sys.executable, "-m", "chinwag", "serve", "--port", str(self.port)]
        command += ["--database", self.database, *self.extra_args]
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=self.env(), stdout=log, stderr=log)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"chinwag exited early; see {self.log_path}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"chinwag did not become ready; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code


def nothing_to_sweep(server: Server) -> bool:
    """Whether the server's /metrics shows no sweep left (`chinwag_sweeps_pending 0`)."""
    scraped = requests.get(f"{server.url}/metrics", timeout=10).text
    return "\nchinwag_sweeps_pending 0\n" in scraped

"""The `chinwag` command run in the test's own process, through Click's test runner: the
command's own code, arguments, exit code and output, without a process of its own that spends
a second or more importing what every command imports."""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from typer.testing import CliRunner

from chinwag.cli import app

# The environment a user's shell might carry is not the test's: credentials and settings unset.
UNSET: dict[str, str | None] = {
    k: None for k in os.environ if k.startswith(("TWILIO_", "CHINWAG_"))
}


class CommandFailed(Exception):
    """A command that had to succeed exited non-zero; what it said on stderr."""

    def __init__(self, args: tuple[str, ...], stderr: str) -> None:
        super().__init__(f"chinwag {' '.join(args)}: {stderr}")
        self.stderr = stderr


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def chinwag(*args: str, database: str | None = None, env: Mapping[str, str] = {}) -> Done:
    """Run the command `chinwag ARGS [--database URL]` with `env` set (and the rest of the
    user's TWILIO_ and CHINWAG_ variables unset); how it ended, whatever the exit."""
    argv = [*args, *(["--database", database] if database is not None else [])]
    # On a thread of its own: the command runs asyncio.run, which a caller inside a running
    # event loop (Playwright's sync API keeps one) could not host.
    with ThreadPoolExecutor(1) as thread:
        result = thread.submit(CliRunner().invoke, app, argv, env={**UNSET, **env}).result()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return Done(result.exit_code, result.stdout, stderr)

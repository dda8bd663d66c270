"""SQLite's WAL checkpoints, off the event loop: a thread and a connection of their own.

By default SQLite copies the WAL back into the database inside the COMMIT that takes the WAL
past 1,000 pages. Under a create load that was one COMMIT in thirty, each taking 6-7 ms on the
event loop: more than half of all the time spent in COMMITs, and a stall for every request
waiting on the loop. Here the writer's COMMITs wake this thread every `EVERY` commits, and it
runs a `PASSIVE` checkpoint, which never waits for the writer or the readers. SQLite releases
the GIL while it copies, so the work runs on another core.

The writer's connection keeps an automatic checkpoint, far later (`BACKSTOP_PAGES`), in case this
thread falls behind or its checkpoints keep failing: the WAL never grows without bound.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger("chinwag.store")

EVERY = 64  # commits between checkpoints: about SQLite's 1,000 pages under a create load
BACKSTOP_PAGES = 20_000  # the writer checkpoints in its COMMIT only past this (80 MB of WAL)
STOP_WITHIN = 30.0  # seconds a running checkpoint has to finish when the engine closes


class Checkpointer:
    """Runs a PASSIVE checkpoint on its own thread every `EVERY` commits of the writer."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._due = threading.Event()
        self._stopping = False
        self._commits = 0
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # run to the end (some frames may still wait for a reader)

    def committed(self) -> None:
        """The writer committed (on the loop, or on its thread under FULL: never both)."""
        self._commits += 1
        if self._commits < EVERY:
            return
        self._commits = 0
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="chinwag-sqlite-checkpoint", daemon=True
            )
            self._thread.start()
        self._due.set()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                self._due.wait()
                self._due.clear()
                if self._stopping:
                    return
                try:
                    if conn is None:
                        conn = self._connect()
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # tried again EVERY commits later
                    log.warning("WAL checkpoint failed: %s", exc)
                else:
                    self.checkpoints += 1
        finally:
            if conn is not None:
                conn.close()

    def close(self) -> None:
        """Stop the thread (after the checkpoint it is running, if any)."""
        self._stopping = True
        self._due.set()
        if self._thread is not None:
            self._thread.join(STOP_WITHIN)

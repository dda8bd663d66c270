"""Copying a SQLite database while servers write to it, and putting a copy back.

A plain `cp` of a database in WAL mode can copy the main file and its `-wal` at different
moments (or miss the `-wal`), and putting a file back beside an old `-wal` lets SQLite replay
the old log into it. Both go through SQLite's online backup API instead: `backup` reads every
page in one read transaction, so the copy is the database as of one commit, while servers go
on writing; `restore` writes the copy's pages through SQLite into the database, WAL included.

PostgreSQL has its own tools (`pg_dump` copies a live database consistently): `sqlite_path`
refuses its URLs, for both.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

BUSY_TIMEOUT_S = 30  # a server's checkpoint or write lock, waited for


class BackupError(ValueError):
    """A copy that cannot be made or put back; its message says why, for the command line."""


def sqlite_path(url: str) -> Path:
    """The file of a SQLite database URL; BackupError for anything else."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise BackupError(f"not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        raise BackupError(
            "this is a PostgreSQL database: copy it with pg_dump, which takes a consistent"
            " snapshot while servers write (pg_dump --format=custom --file chinwag.dump URL;"
            " pg_restore puts it back)"
        )
    if backend != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise BackupError(f"not a SQLite database file: {parsed.render_as_string()}")
    return Path(parsed.database)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)


def _checked(conn: sqlite3.Connection, what: str) -> None:
    result = conn.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{what} failed SQLite's check: {result}")


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(source_path: Path, dest: Path) -> int:
    """Copy the database at `source_path` to the new file `dest`, as of one commit; its size in
    bytes.

    The copy is written beside `dest` and renamed into place once SQLite has checked it and it
    is on disk, so a failed or interrupted backup leaves no `dest` behind."""
    if not source_path.is_file():
        raise BackupError(f"there is no database at {source_path}")
    if dest.exists():
        raise BackupError(f"{dest} exists: give the path of a new file")
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    try:
        with (
            contextlib.closing(_connect(source_path)) as source,
            contextlib.closing(_connect(part)) as copy,
        ):
            source.backup(copy)  # every page in one step: one read transaction
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _checked(copy, "the copy")
        _sync(part)
        part.replace(dest)
        _sync(dest.parent)
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"the copy failed: {exc}") from None
    finally:
        part.unlink(missing_ok=True)
    return dest.stat().st_size


def restore(source: Path, target_path: Path) -> int:
    """Replace the database at `target_path` with the copy `source` (every server stopped
    first); the copy's size in bytes. The copy is checked before anything is written."""
    if not source.is_file():
        raise BackupError(f"there is no copy at {source}")
    try:
        with contextlib.closing(
            sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        ) as copy:
            _checked(copy, str(source))
            with contextlib.closing(_connect(target_path)) as target:
                copy.backup(target)  # through SQLite: the target's WAL and locks respected
                target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"the restore failed: {exc}") from None
    return source.stat().st_size

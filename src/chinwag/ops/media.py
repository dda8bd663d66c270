"""Storing an uploaded media file: its row, written only once its bytes are safe on disk.

A front door receives the bytes into a temporary file in the media directory (see
`Settings.media_path`); `store` moves it under its SID and inserts the row in one transaction,
so a crash leaves at worst an orphan file, never a row without its bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

from chinwag import times
from chinwag.ops.actions import Operation, Outcome, open_context
from chinwag.ops.crud import Result
from chinwag.runtime import Runtime
from chinwag.sids import new_sid


async def store(
    runtime: Runtime,
    op: Operation,
    temp: Path,
    size: int,
    filename: str | None,
    content_type: str,
) -> Outcome:
    """The media row for the file at `temp` (moved to the media directory as its SID)."""
    directory = runtime.settings.media_path()
    sid = new_sid(op.resource.sid_prefix)
    now = times.now()
    try:
        async with runtime.db.write() as conn:
            call = await open_context(runtime, conn, op)
            table = runtime.tables.of(op.resource)
            values = {
                **op.resource.defaults(call),
                "sid": sid,
                "account_sid": call.account.sid,
                "service_sid": call.parent("service")["sid"],
                "filename": filename,
                "content_type": content_type,
                "size": size,
                "date_created": now,
                "date_updated": now,
            }
            insert = table.insert().values(**values).returning(*table.c)
            row = (await conn.execute(insert)).mappings().one()
            os.replace(temp, directory / sid)  # before the commit: a committed row has its file
    except BaseException:
        _discard(temp, directory / sid)
        raise
    return Outcome(call, Result(201, row))


def _discard(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def content_path(runtime: Runtime, sid: str) -> Path:
    return runtime.settings.media_path() / sid

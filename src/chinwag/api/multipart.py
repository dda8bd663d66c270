"""The file inside a `multipart/form-data` upload, as a browser's FormData sends it.

The body is already on disk (streamed and size-checked by `api/media.receive`); the file part
is found through a memory map and copied out, so a large upload is never held in memory.
"""

from __future__ import annotations

import mmap
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from chinwag.model.errors import ApiError

BOUNDARY_RE = re.compile(r'boundary="?([^";]{1,200})"?', re.IGNORECASE)
NAME_RE = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";\r\n]*)"?""", re.IGNORECASE)
HEADERS_MAX = 16 * 1024  # bytes of part headers we read before giving up
COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FilePart:
    path: Path  # a new file beside the body, holding the part's bytes only
    size: int
    filename: str | None
    content_type: str | None  # as the part said (ops.media.store checks it)


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a multipart/form-data Content-Type, or None for any other type."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    match = BOUNDARY_RE.search(content_type)
    if match is None:
        raise ApiError(400, 20001, "multipart/form-data without a boundary")
    return match.group(1).encode("latin-1")


def _parts(data: mmap.mmap, boundary: bytes) -> list[tuple[dict[str, str], int, int]]:
    """(headers, start, end) of each part, in order."""
    delimiter = b"--" + boundary
    parts = []
    at = data.find(delimiter)
    while at != -1:
        at += len(delimiter)
        if data[at : at + 2] == b"--":  # the closing delimiter
            break
        head_end = data.find(b"\r\n\r\n", at, at + HEADERS_MAX)
        following = data.find(b"\r\n" + delimiter, head_end)
        if head_end == -1 or following == -1:
            break
        headers = {}
        for line in data[at:head_end].decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        parts.append((headers, head_end + 4, following))
        at = following + 2
    return parts


def extract_file(body: Path, boundary: bytes) -> FilePart:
    """The first part that is a file (else the first part) of the body at `body`, copied into
    a file of its own; `body` is removed."""
    try:
        with open(body, "rb") as raw:
            if os.fstat(raw.fileno()).st_size == 0:
                raise ApiError(400, 20001, "Empty multipart body")
            with mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as data:
                parts = _parts(data, boundary)
                if not parts:
                    raise ApiError(400, 20001, "No file in the multipart body")
                chosen = next(
                    (p for p in parts if "filename" in p[0].get("content-disposition", "")),
                    parts[0],
                )
                headers, start, end = chosen
                fd, name = tempfile.mkstemp(dir=body.parent, prefix=".upload-")
                with os.fdopen(fd, "wb") as out:
                    for offset in range(start, end, COPY_CHUNK):
                        out.write(data[offset : min(offset + COPY_CHUNK, end)])
                    out.flush()
                    os.fsync(out.fileno())
    finally:
        body.unlink(missing_ok=True)
    match = NAME_RE.search(headers.get("content-disposition", ""))
    filename = unquote(match.group(1))[:256] if match and match.group(1) else None
    if filename and "\x00" in filename:
        filename = None
    content_type = headers.get("content-type")
    return FilePart(Path(name), end - start, filename, content_type)

"""The file inside a multipart/form-data body (what a browser's FormData sends to the media
service), and the signature of temporary content URLs."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from chinwag.api.multipart import boundary_of, extract_file
from chinwag.model.errors import ApiError
from chinwag.ops.media import CONTENT_TYPE_MAX, content_type_of, sign

BOUNDARY = "----WebKitFormBoundaryX1y2"


def body(*parts: tuple[str, bytes], boundary: str = BOUNDARY) -> bytes:
    out = b""
    for headers, content in parts:
        out += f"--{boundary}\r\n{headers}\r\n\r\n".encode() + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def written(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / ".upload-test"
    path.write_bytes(data)
    return path


class TestBoundary:
    @pytest.mark.parametrize(
        ("content_type", "expected"),
        [
            (f"multipart/form-data; boundary={BOUNDARY}", BOUNDARY.encode()),
            # quoted, as some clients send it
            (f'multipart/form-data; boundary="{BOUNDARY}"', BOUNDARY.encode()),
            # any other type is not multipart
            ("image/png", None),
        ],
    )
    def test_boundary_of(self, content_type: str, expected: bytes | None) -> None:
        assert boundary_of(content_type) == expected

    def test_multipart_without_boundary_is_400(self) -> None:
        with pytest.raises(ApiError) as caught:
            boundary_of("multipart/form-data")
        assert caught.value.status == 400


class TestExtract:
    def test_the_file_part_not_the_first_field(self, tmp_path: Path) -> None:
        """A text field before the file is skipped; the file's bytes, name and type are kept
        exactly (binary content with CRLF and dashes inside), and the body file is removed."""
        content = b"\x89PNG\r\n--" + secrets.token_bytes(5000) + b"\r\n--x"
        data = body(
            ('Content-Disposition: form-data; name="note"', b"hello"),
            (
                'Content-Disposition: form-data; name="file"; filename="dot.png"\r\n'
                "Content-Type: image/png",
                content,
            ),
        )
        source = written(tmp_path, data)
        part = extract_file(source, BOUNDARY.encode())
        assert part.path.read_bytes() == content
        assert part.size == len(content)
        assert part.filename == "dot.png"
        assert part.content_type == "image/png"
        assert not source.exists()

    def test_first_part_without_a_file(self, tmp_path: Path) -> None:
        """No part names a file: the first part is the media, with no type of its own (the
        store types it octet-stream)."""
        data = body(('Content-Disposition: form-data; name="media"', b"raw"))
        part = extract_file(written(tmp_path, data), BOUNDARY.encode())
        assert part.path.read_bytes() == b"raw"
        assert part.filename is None
        assert part.content_type is None

    @pytest.mark.parametrize(
        "data",
        [
            b"",  # nothing at all
            b"no delimiter anywhere",
            f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nunterminated".encode(),
        ],
    )
    def test_no_file_is_400(self, tmp_path: Path, data: bytes) -> None:
        source = written(tmp_path, data)
        with pytest.raises(ApiError) as caught:
            extract_file(source, BOUNDARY.encode())
        assert caught.value.status == 400
        assert not source.exists()


class TestSignature:
    def test_signature_names_service_media_and_expiry(self) -> None:
        """Changing any part of what a URL names changes its signature; so does the key."""
        base = sign("token", "IS1", "ME1", 100)
        assert sign("token", "IS1", "ME1", 100) == base
        others = {
            sign("token", "IS2", "ME1", 100),
            sign("token", "IS1", "ME2", 100),
            sign("token", "IS1", "ME1", 101),
            sign("other", "IS1", "ME1", 100),
        }
        assert base not in others
        assert len(others) == 4


class TestContentType:
    @pytest.mark.parametrize(
        ("sent", "stored"),
        [
            ("image/png", "image/png"),
            ("  text/plain; charset=UTF-8 ", "text/plain; charset=UTF-8"),
            ("", "application/octet-stream"),  # a browser's file of unknown type
            (None, "application/octet-stream"),
            ("x" * CONTENT_TYPE_MAX, "x" * CONTENT_TYPE_MAX),
        ],
    )
    def test_kept_as_sent(self, sent: str | None, stored: str) -> None:
        assert content_type_of(sent) == stored

    @pytest.mark.parametrize(
        "sent", ["x" * (CONTENT_TYPE_MAX + 1), "image/png\x00", "image/p\x7fng", "image/pñg"]
    )
    def test_refused(self, sent: str) -> None:
        with pytest.raises(ApiError) as caught:
            content_type_of(sent)
        assert (caught.value.status, caught.value.code) == (400, 20001)
        assert "Content-Type" in caught.value.message

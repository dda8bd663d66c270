"""Request log lines: one per request, and a request cannot forge another."""

from __future__ import annotations

import json
import logging

from chinwag.logs import printable
from chinwag.logsetup import JsonFormatter


class TestPrintable:
    def test_plain_paths_unchanged(self) -> None:
        """Ordinary paths are logged as they are."""
        assert (
            printable("/v1/Services/IS123/Channels/général")
            == "/v1/Services/IS123/Channels/général"
        )

    def test_control_characters_escaped(self) -> None:
        """A newline or NUL in a path (%0A, %00) is escaped, never written raw."""
        assert printable("/v1/x\nFAKE 200\x00") == "/v1/x\\nFAKE 200\\x00"


class TestJsonFormatter:
    def test_one_object_with_the_request_fields(self) -> None:
        """JSON lines carry time, level, logger, message and the request's fields."""
        record = logging.LogRecord(
            "chinwag.access", logging.INFO, __file__, 1, "GET / 200", (), None
        )
        record.fields = {"method": "GET", "path": "/", "status": 200, "ms": 1.5}
        entry = json.loads(JsonFormatter().format(record))
        assert entry["level"] == "info"
        assert entry["logger"] == "chinwag.access"
        assert (entry["method"], entry["status"], entry["ms"]) == ("GET", 200, 1.5)

"""Helpers of the Chat v2 suite: expected failures through the client and over raw HTTP."""

from __future__ import annotations

from tests.support.errors import list_rejected, rejected
from tests.support.errors import twilio_error as error

UNKNOWN = {prefix: prefix + "0" * 32 for prefix in ("IS", "US", "CH", "MB", "IM", "BS", "WH")}
UNKNOWN.update({"ME": "ME" + "0" * 32, "CR": "CR" + "0" * 32, "FW": "FW" + "0" * 32})


__all__ = ["UNKNOWN", "error", "list_rejected", "rejected"]

"""Helpers of the Chat v2 suite: expected failures through the client and over raw HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

UNKNOWN = {prefix: prefix + "0" * 32 for prefix in ("IS", "US", "CH", "MB", "IM", "BS", "WH")}
UNKNOWN.update({"ME": "ME" + "0" * 32, "CR": "CR" + "0" * 32, "FW": "FW" + "0" * 32})


def rejected(call: Callable[[], Any], status: int = 400, code: int | None = None) -> Any:
    """Run `call`, which must fail with `status` (and `code`); the exception."""
    with pytest.raises(TwilioRestException) as err:
        call()
    assert err.value.status == status, err.value
    if code is not None:
        assert err.value.code == code, err.value
    return err.value


def list_rejected(call: Callable[[], Any], status: int, code: int | None = None) -> Any:
    """Run a list `call`, which must fail with `status` (and `code`); the error body.

    The client reports a failed page as TwilioException("Unable to fetch page", response).
    """
    with pytest.raises(TwilioException) as err:
        call()
    assert not isinstance(err.value, TwilioRestException), err.value
    response = err.value.args[1]
    assert response.status_code == status, response.text
    body: dict[str, Any] = json.loads(response.text)
    if code is not None:
        assert body["code"] == code, body
    return body


def error(response: requests.Response, status: int, code: int | None = None) -> dict[str, Any]:
    """Assert `response` is a Twilio error of `status` (and `code`); its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}, body
    assert body["status"] == status
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}"
    if code is not None:
        assert body["code"] == code, body
    return body

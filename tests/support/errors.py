"""Asserting Twilio errors, as the official client raises them and as raw HTTP returns them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

ERROR_KEYS = {"code", "message", "more_info", "status"}


def rejected(call: Callable[[], Any], status: int = 400, code: int | None = None) -> Any:
    """Run `call`, which must fail with `status` (and `code`); the exception."""
    with pytest.raises(TwilioRestException) as err:
        call()
    assert err.value.status == status, err.value
    if code is not None:
        assert err.value.code == code, err.value
    return err.value


def list_rejected(call: Callable[[], Any], status: int, code: int | None = None) -> Any:
    """Run a list/page `call`, which must fail with `status` (and `code`); the error body.

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


def twilio_error(
    response: requests.Response, status: int, code: int | None = None
) -> dict[str, Any]:
    """Assert `response` is a Twilio error of `status` (and `code`); its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == status
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}"
    if code is not None:
        assert body["code"] == code, body
    return body

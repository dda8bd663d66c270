"""An HttpClient for the official twilio package that checks every response against the spec.

It is the supported extension point of the client (`Client(http_client=...)`); the client itself
is unmodified.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from tests.support import contract


class ContractCheckingHttpClient(TwilioHttpClient):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, int]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        response = super().request(method, url, *args, **kwargs)
        path = urlsplit(url).path
        self.requests.append((method, path, response.status_code))
        contract.check(method, path, response.status_code, response.text)
        return response

"""WebSocket handshakes refused before the app sees them (no or a malformed Sec-WebSocket-Key, an
unsupported version), and the app's own refusals before accepting: answered with Twilio's error
body, where the WebSocket library answers plain text. The client SDK never sends such a request;
a hand-made one gets what every other refused request gets."""

from __future__ import annotations

from typing import Any

import orjson
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers
from websockets.http11 import Response

from chinwag.model.errors import ApiError, refusal_code


def twilio_shaped(response: Response) -> Response:
    """The same refusal (status, Date, Connection: close) with Twilio's JSON body."""
    message = response.body.decode(errors="replace").strip() or response.reason_phrase
    error = ApiError(response.status_code, refusal_code(response.status_code), message)
    body = orjson.dumps(error.body())
    headers = Headers(
        (name, value)
        for name, value in response.headers.raw_items()
        if name.lower() not in ("content-type", "content-length")
    )
    headers["Content-Type"] = "application/json"
    headers["Content-Length"] = str(len(body))
    return Response(response.status_code, response.reason_phrase, headers, body)


class TwilioShapedWebSockets(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, with the refusals of its handshake rewritten."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain = self.conn.reject  # which `accept` calls too, for a malformed handshake

        def reject(status: int, text: str) -> Response:
            return twilio_shaped(plain(status, text))

        self.conn.reject = reject  # type: ignore[method-assign]

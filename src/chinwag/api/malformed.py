"""Requests too malformed to reach the app (a request line past the parser's limit, a control
character in a header, bytes that are not HTTP), answered as every other error: a Twilio-shaped
JSON 400, where uvicorn would answer plain text. The connection closes after it, as uvicorn's."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from chinwag.api.render import dumps
from chinwag.model.errors import ApiError, refusal_code

BAD_REQUEST = ApiError(400, refusal_code(400), "Bad request: the HTTP request could not be read")
_BODY = dumps(BAD_REQUEST.body())


class TwilioShapedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol, but for the body of the 400 it sends on its own."""

    def send_400_response(self, msg: str) -> None:
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:  # date and server, as uvicorn's
            head.extend([name, b": ", value, b"\r\n"])
        head.append(b"content-type: application/json\r\n")
        head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(_BODY))
        self.transport.write(b"".join([*head, _BODY]))
        self.transport.close()

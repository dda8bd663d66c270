"""Twilio-shaped errors: one exception type and the body every client understands.

ApiError(status, code, message)          any Twilio error
+-- NotFound(path)                       404 / 20404
+-- InvalidParameter(param, why, code)   400 / 20001 (or a Chat 50xxx code)
+-- MissingParameter(param, code)        400 / 20001
+-- Conflict(code, message)              409
+-- Unstorable()                         400 / 20001, a value the database refused
"""

from __future__ import annotations

from typing import Any

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


class ApiError(Exception):
    """An error answered as `{"code", "message", "more_info", "status"}`."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers: dict[str, str] = {}  # sent with the error (429's Retry-After)

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": MORE_INFO.format(code=self.code),
            "status": self.status,
        }


class NotFound(ApiError):
    """Twilio's 20404; `path` omits the version, as Twilio's message does."""

    def __init__(self, path: str) -> None:
        super().__init__(404, 20404, f"The requested resource {path} was not found")

    @classmethod
    def of_path(cls, url_path: str) -> NotFound:
        """For a request path: Twilio's message names it without the version (`/Services/IS..`)."""
        parts = url_path.split("/", 2)
        return cls("/" + parts[2] if len(parts) == 3 else url_path)


class InvalidParameter(ApiError):
    def __init__(self, param: str, why: str, code: int = 20001) -> None:
        super().__init__(400, code, f"Invalid parameter {param}: {why}")
        self.param = param


class MissingParameter(ApiError):
    def __init__(self, param: str, code: int = 20001) -> None:
        super().__init__(400, code, f"Missing required parameter {param} in the post body")
        self.param = param


class Conflict(ApiError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(409, code, message)


class Unstorable(ApiError):
    """A value the database refused to store (`store.errors.Refused`): the input's fault, and
    unlike a database that failed, nothing to try again."""

    def __init__(self) -> None:
        super().__init__(400, 20001, "Invalid parameter: a value the database cannot store")


def refusal_code(status: int) -> int:
    """Twilio's code for a request refused below the app (HTTP or a WebSocket handshake): 400
    for a bad request (its catalogue's "400: Bad Request"), else 20000 + the status (20403,
    20500, as Twilio's own)."""
    return status if status == 400 else 20000 + status


UNAUTHORIZED = ApiError(401, 20003, "Authenticate")

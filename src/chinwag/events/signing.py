"""X-Twilio-Signature, computed exactly as twilio's RequestValidator checks it.

Form POST: HMAC-SHA1 over the full URL followed by each parameter name and value, names sorted,
values of a repeated name sorted and de-duplicated; keyed by the account's auth token, base64.
GET: the parameters are in the URL, so only the URL is signed. JSON: the body's SHA-256 is
appended to the URL as `bodySHA256`, and that URL is signed with no parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence

from chinwag.urlencoding import urlencode

Params = Mapping[str, str | Sequence[str]]


def signature(auth_token: str, url: str, params: Params | None = None) -> str:
    parts = [url]
    for name in sorted(params or {}):
        raw = (params or {})[name]
        if isinstance(raw, str):  # a webhook's every value: one each
            parts += (name, raw)
        else:
            parts += (name + value for value in sorted(set(raw)))
    payload = "".join(parts).encode("utf-8")
    return base64.b64encode(hmac.digest(auth_token.encode(), payload, "sha1")).decode()


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` appended to its query string, for GET webhooks."""
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(params)


def json_url(url: str, body: bytes) -> str:
    """The URL a JSON webhook is sent to and signed over: with `bodySHA256=<hex>` appended."""
    return with_query(url, {"bodySHA256": hashlib.sha256(body).hexdigest()})

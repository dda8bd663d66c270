"""Media (ME): files uploaded for media messages, as Twilio's media service took them.

A chinwag extension of the Chat API: `POST /v1/Services/{ServiceSid}/Media` with the raw file as
the body and its type as Content-Type; `GET .../Media/{Sid}` for its JSON, `.../Content` for the
bytes (`api/media.py` serves them, `ops/media.py` stores them). The client SDK uploads through
the same rows at `/mcs/...` (`realtime/mcs.py`); `links.content_direct_temporary` is a signed URL
that serves the bytes without credentials for a few minutes (`ops/media.temporary_url`).
"""

from __future__ import annotations

from typing import Any

from chinwag.context import Context, Row
from chinwag.model.resource import V1, Field, Resource, Rules
from chinwag.ops.media import temporary_url
from chinwag.resources.services import SERVICE


class MediaRules(Rules):
    def render(self, call: Context, row: Row, body: dict[str, Any]) -> None:
        body["links"] = {
            "content": f"{body['url']}/Content",
            "content_direct_temporary": temporary_url(
                call.base_url, call.account, row["service_sid"], row["sid"]
            ),
        }


MEDIA = Resource(
    name="media",
    sid_prefix="ME",
    path="/Services/{ServiceSid}/Media",
    list_key="media",
    schema="",  # not in Twilio's Chat spec
    parent=SERVICE,
    ref_param="MediaSid",
    actions=frozenset(),  # served by the routes below, not the generic actions
    versions=V1,
    rules=MediaRules(),
    fields=(
        Field("filename"),
        Field("content_type"),
        Field("size", "int"),
        Field("category", default="media"),
        Field("author", default="system"),
        Field("channel_sid", "sid"),
        Field("message_sid", "sid"),
    ),
)

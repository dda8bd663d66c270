"""The renderers written from the declarations (api/render.py): nesting of dotted names, nulls
left out where the spec leaves them out, stored lists and dates converted, and the `url` and
`links` built from the row's own and its ancestors' SIDs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chinwag.api.render import renderer
from chinwag.model.resource import Resource
from chinwag.resources import REGISTRY, TABLES
from chinwag.resources.messages import MESSAGE
from chinwag.resources.services import SERVICE

BASE = "http://chat.example"
WHEN = datetime(2026, 12, 2, 1, 2, 3, tzinfo=UTC)


def row_of(res: Resource, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {column.name: None for column in TABLES.of(res).c}
    row.update(date_created=WHEN, date_updated=WHEN, **values)
    return row


def test_a_service_nests_converts_and_links() -> None:
    row = row_of(
        SERVICE,
        sid="IS" + "1" * 32,
        account_sid="AC" + "2" * 32,
        friendly_name="chat",
        limits_channel_members=100,
        webhook_filters='["onMessageSent"]',
        notifications_new_message_enabled=True,
        notifications_new_message_template="${MESSAGE}",
    )
    body = renderer(SERVICE, "v2")(row, BASE)
    assert body["limits"] == {"channel_members": 100, "user_channels": None}
    assert body["webhook_filters"] == ["onMessageSent"]
    assert body["notifications"]["new_message"] == {
        "enabled": True,
        "template": "${MESSAGE}",  # the null sound is left out, as Twilio leaves it out
        "badge_count_enabled": None,
    }
    assert "template" not in body["notifications"]["added_to_channel"]
    assert body["media"] == {"compatibility_message": None}
    assert body["date_created"] == body["date_updated"] == "2026-12-02T01:02:03Z"
    url = f"{BASE}/v2/Services/{row['sid']}"
    assert body["url"] == url
    assert body["links"]["bindings"] == f"{url}/Bindings"
    assert "bindings" not in renderer(SERVICE, "v1")(row, BASE)["links"]


def test_a_message_url_names_its_ancestors() -> None:
    row = row_of(
        MESSAGE,
        sid="IM" + "3" * 32,
        account_sid="AC" + "2" * 32,
        service_sid="IS" + "1" * 32,
        channel_sid="CH" + "4" * 32,
        body="hi",
        index=7,
    )
    body = renderer(MESSAGE, "v1")(row, BASE)
    assert (body["service_sid"], body["channel_sid"], body["index"]) == (
        row["service_sid"],
        row["channel_sid"],
        7,
    )
    assert body["url"] == (
        f"{BASE}/v1/Services/{row['service_sid']}/Channels/{row['channel_sid']}"
        f"/Messages/{row['sid']}"
    )


def test_every_resource_renders_a_row_of_its_table() -> None:
    """Each declared resource's written renderer runs, and its `url` has no placeholder left."""
    for res in REGISTRY:
        if not res.has_table:
            continue
        for version in sorted(res.versions):
            row = row_of(res, sid="XX" + "5" * 32, account_sid="AC" + "2" * 32)
            for anc in res.ancestors:
                row[anc.ref_column] = "YY" + "6" * 32
            body = renderer(res, version)(row, BASE)
            assert body["url"].startswith(f"{BASE}/{version}/"), res.name
            assert "{" not in body["url"], body["url"]
            assert body["url"].endswith("5" * 32), body["url"]

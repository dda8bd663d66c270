"""v2's import-friendly overrides: a migration keeps its history's dates and authors.

DateCreated, DateUpdated, CreatedBy, LastUpdatedBy, From (also on update), and a member's
LastConsumedMessageIndex / LastConsumptionTimestamp / Attributes on create. Dates are ISO 8601,
answered in UTC; a bad one is a 400 naming the parameter, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.api.v2.helpers import rejected
from tests.support.servers import Server

WHEN = datetime(2015, 7, 30, 20, 0, 0, tzinfo=UTC)
LATER = datetime(2015, 8, 1, 9, 30, 15, tzinfo=UTC)
BAD = "yesterday"
DATE_PARAMS = [("date_created", "DateCreated", 50308), ("date_updated", "DateUpdated", 50309)]


def recent(value: datetime) -> bool:
    """Whether `value` is "now" as the server saw it (within a generous minute)."""
    return abs(datetime.now(UTC) - value) < timedelta(minutes=1)


class TestChannels:
    def test_create_with_history(self, svc2: Any, unique: Callable[[str], str]) -> None:
        """DateCreated, DateUpdated and CreatedBy set a new channel's dates and author."""
        channel = svc2.channels.create(
            friendly_name=unique("old"), date_created=WHEN, date_updated=LATER, created_by="alice"
        )
        assert channel.date_created == WHEN
        assert channel.date_updated == LATER
        assert channel.created_by == "alice"
        fetched = svc2.channels(channel.sid).fetch()
        assert (fetched.date_created, fetched.date_updated, fetched.created_by) == (
            WHEN,
            LATER,
            "alice",
        )

    def test_date_updated_follows_date_created(
        self, svc2: Any, unique: Callable[[str], str]
    ) -> None:
        """With only DateCreated, the new channel's date_updated is that same date."""
        channel = svc2.channels.create(friendly_name=unique("old"), date_created=WHEN)
        assert channel.date_created == WHEN
        assert channel.date_updated == WHEN
        assert channel.created_by == "system"

    def test_offset_answered_in_utc(self, svc2: Any, unique: Callable[[str], str]) -> None:
        """A date with an offset is stored as that instant and answered in UTC."""
        channel = svc2.channels.create(
            friendly_name=unique("tz"),
            date_created="2016-03-01T12:00:00+02:00",
            date_updated="2016-03-01T06:15:30-05:00",
        )
        assert channel.date_created == datetime(2016, 3, 1, 10, 0, 0, tzinfo=UTC)
        assert channel.date_updated == datetime(2016, 3, 1, 11, 15, 30, tzinfo=UTC)
        assert channel.date_created.utcoffset() == timedelta(0)

    def test_update_overrides(self, svc2: Any, channel2: Any) -> None:
        """Update takes DateCreated, DateUpdated and CreatedBy as well."""
        updated = svc2.channels(channel2.sid).update(
            date_created=WHEN, date_updated=LATER, created_by="bob"
        )
        assert (updated.date_created, updated.date_updated, updated.created_by) == (
            WHEN,
            LATER,
            "bob",
        )
        fetched = svc2.channels(channel2.sid).fetch()
        assert (fetched.date_created, fetched.date_updated, fetched.created_by) == (
            WHEN,
            LATER,
            "bob",
        )

    def test_plain_update_moves_date_updated(self, svc2: Any, unique: Callable[[str], str]) -> None:
        """An update without DateUpdated moves an imported date_updated to now."""
        channel = svc2.channels.create(friendly_name=unique("old"), date_created=WHEN)
        updated = svc2.channels(channel.sid).update(friendly_name=unique("renamed"))
        assert updated.date_created == WHEN
        assert recent(updated.date_updated)

    @pytest.mark.parametrize(("field", "param", "code"), DATE_PARAMS)
    def test_bad_date_on_create(
        self, svc2: Any, unique: Callable[[str], str], field: str, param: str, code: int
    ) -> None:
        """A date that is not ISO 8601 is 400 naming the parameter; no channel is created."""
        before = len(svc2.channels.list())
        err = rejected(
            lambda: svc2.channels.create(friendly_name=unique("bad"), **{field: BAD}), 400, code
        )
        assert param in err.msg
        assert len(svc2.channels.list()) == before

    @pytest.mark.parametrize(("field", "param", "code"), DATE_PARAMS)
    def test_bad_date_on_update(
        self, svc2: Any, channel2: Any, field: str, param: str, code: int
    ) -> None:
        """A bad date refuses the whole update: the channel is unchanged."""
        ctx = svc2.channels(channel2.sid)
        err = rejected(lambda: ctx.update(friendly_name="changed", **{field: BAD}), 400, code)
        assert param in err.msg
        fetched = ctx.fetch()
        assert fetched.friendly_name == channel2.friendly_name
        assert fetched.date_created == channel2.date_created

    def test_v1_takes_no_overrides(
        self, server: Server, auth: Any, service2: Any, unique: Callable[[str], str]
    ) -> None:
        """v1 has no import parameters: DateCreated and CreatedBy are ignored there."""
        response = requests.post(
            f"{server.url}/v1/Services/{service2.sid}/Channels",
            data={
                "FriendlyName": unique("v1"),
                "DateCreated": "2015-07-30T20:00:00Z",
                "CreatedBy": "alice",
            },
            auth=auth,
            timeout=30,
        )
        assert response.status_code == 201, response.text
        assert response.json()["created_by"] == "system"
        assert response.json()["date_created"] != "2015-07-30T20:00:00Z"


class TestMembers:
    def test_create_with_history(self, room2: Any, unique: Callable[[str], str]) -> None:
        """A member imports its read horizon, consumption time, attributes and join date."""
        member = room2.members.create(
            identity=unique("alice"),
            last_consumed_message_index=4,
            last_consumption_timestamp=LATER,
            attributes='{"imported": true}',
            date_created=WHEN,
        )
        assert member.last_consumed_message_index == 4
        assert member.last_consumption_timestamp == LATER
        assert member.attributes == '{"imported": true}'
        assert member.date_created == WHEN
        fetched = room2.members(member.sid).fetch()
        assert fetched.last_consumed_message_index == 4
        assert fetched.last_consumption_timestamp == LATER
        assert fetched.attributes == '{"imported": true}'
        assert fetched.date_created == WHEN

    def test_defaults(self, room2: Any, unique: Callable[[str], str]) -> None:
        """Without overrides a v2 member has attributes "{}" and has read nothing."""
        member = room2.members.create(identity=unique("plain"))
        assert member.attributes == "{}"
        assert member.last_consumed_message_index is None
        assert member.last_consumption_timestamp is None
        assert recent(member.date_created)

    def test_index_alone_stamps_now(self, room2: Any, unique: Callable[[str], str]) -> None:
        """A read horizon without a timestamp is consumed now."""
        member = room2.members.create(identity=unique("reader"), last_consumed_message_index=0)
        assert member.last_consumed_message_index == 0
        assert member.last_consumption_timestamp is not None
        assert recent(member.last_consumption_timestamp)

    def test_update_attributes_and_timestamp(
        self, room2: Any, unique: Callable[[str], str]
    ) -> None:
        """Update takes Attributes and LastConsumptionTimestamp, leaving the index alone."""
        member = room2.members.create(identity=unique("bob"))
        updated = room2.members(member.sid).update(
            attributes='{"role": "host"}', last_consumption_timestamp=LATER
        )
        assert updated.attributes == '{"role": "host"}'
        assert updated.last_consumption_timestamp == LATER
        assert updated.last_consumed_message_index is None
        fetched = room2.members(member.identity).fetch()
        assert fetched.attributes == '{"role": "host"}'
        assert fetched.last_consumption_timestamp == LATER

    def test_update_dates(self, room2: Any, unique: Callable[[str], str]) -> None:
        """Update takes DateCreated and DateUpdated as well."""
        member = room2.members.create(identity=unique("carol"))
        updated = room2.members(member.sid).update(date_created=WHEN, date_updated=LATER)
        assert (updated.date_created, updated.date_updated) == (WHEN, LATER)

    @pytest.mark.parametrize(
        ("field", "param", "code"),
        [*DATE_PARAMS, ("last_consumption_timestamp", "LastConsumptionTimestamp", 50405)],
    )
    def test_bad_date_on_create(
        self,
        svc2: Any,
        room2: Any,
        unique: Callable[[str], str],
        field: str,
        param: str,
        code: int,
    ) -> None:
        """A bad date is 400 naming it; neither the member nor its user is created."""
        identity = unique("ghost")
        err = rejected(lambda: room2.members.create(identity=identity, **{field: BAD}), 400, code)
        assert param in err.msg
        assert room2.members.list() == []
        assert room2.fetch().members_count == 0
        assert identity not in [u.identity for u in svc2.users.list()]

    def test_bad_timestamp_on_update(self, room2: Any, unique: Callable[[str], str]) -> None:
        """A bad LastConsumptionTimestamp on update is 400 naming it; nothing changes."""
        member = room2.members.create(identity=unique("dave"), attributes='{"a": 1}')
        ctx = room2.members(member.sid)
        err = rejected(
            lambda: ctx.update(attributes='{"a": 2}', last_consumption_timestamp=BAD), 400, 50405
        )
        assert "LastConsumptionTimestamp" in err.msg
        assert ctx.fetch().attributes == '{"a": 1}'

    def test_bad_attributes(self, room2: Any, unique: Callable[[str], str]) -> None:
        """Member attributes must be valid JSON: 400 with 50304."""
        identity = unique("eve")
        rejected(lambda: room2.members.create(identity=identity, attributes="{nope"), 400, 50304)
        assert room2.members.list() == []


class TestMessages:
    def test_create_with_history(self, room2: Any) -> None:
        """A message imports its author, dates and last editor."""
        message = room2.messages.create(
            body="from the archive",
            from_="alice",
            date_created=WHEN,
            date_updated=LATER,
            last_updated_by="bob",
        )
        assert message._from == "alice"
        assert message.date_created == WHEN
        assert message.date_updated == LATER
        assert message.last_updated_by == "bob"
        assert message.index == 0
        fetched = room2.messages(message.sid).fetch()
        assert (fetched._from, fetched.date_created, fetched.date_updated) == (
            "alice",
            WHEN,
            LATER,
        )
        assert fetched.last_updated_by == "bob"

    def test_imported_order_is_arrival_order(self, room2: Any) -> None:
        """Imported messages are indexed in the order they arrive, whatever their dates."""
        first = room2.messages.create(body="second in time", date_created=LATER)
        second = room2.messages.create(body="first in time", date_created=WHEN)
        assert (first.index, second.index) == (0, 1)
        assert [m.sid for m in room2.messages.list()] == [first.sid, second.sid]

    def test_update_from_and_last_updated_by(self, room2: Any) -> None:
        """v2 update takes From and LastUpdatedBy; the body stays as it was."""
        message = room2.messages.create(body="typo", from_="alice")
        assert message.last_updated_by is None
        updated = room2.messages(message.sid).update(from_="carol", last_updated_by="dave")
        assert updated._from == "carol"
        assert updated.last_updated_by == "dave"
        assert updated.body == "typo"
        fetched = room2.messages(message.sid).fetch()
        assert (fetched._from, fetched.last_updated_by) == ("carol", "dave")

    def test_update_dates(self, room2: Any) -> None:
        """v2 update takes DateCreated and DateUpdated."""
        message = room2.messages.create(body="x")
        updated = room2.messages(message.sid).update(date_created=WHEN, date_updated=LATER)
        assert (updated.date_created, updated.date_updated) == (WHEN, LATER)

    @pytest.mark.parametrize(("field", "param", "code"), DATE_PARAMS)
    def test_bad_date_on_create(self, room2: Any, field: str, param: str, code: int) -> None:
        """A bad date is 400 naming it; no message is written and no index is used."""
        err = rejected(lambda: room2.messages.create(body="x", **{field: BAD}), 400, code)
        assert param in err.msg
        assert room2.messages.list() == []
        assert room2.fetch().messages_count == 0
        assert room2.messages.create(body="next").index == 0

    @pytest.mark.parametrize(("field", "param", "code"), DATE_PARAMS)
    def test_bad_date_on_update(self, room2: Any, field: str, param: str, code: int) -> None:
        """A bad date refuses the whole update: the message is unchanged."""
        message = room2.messages.create(body="keep", date_created=WHEN)
        ctx = room2.messages(message.sid)
        err = rejected(lambda: ctx.update(body="lost", **{field: BAD}), 400, code)
        assert param in err.msg
        fetched = ctx.fetch()
        assert (fetched.body, fetched.date_created) == ("keep", WHEN)

"""v1 lists hide attributes that were set; v2 lists and every single resource show them.

Twilio's v1 Channel, User and Message pages: "If this property has been assigned a value, it's
only displayed in a FETCH action that returns a single resource; otherwise, it's null. If the
attributes have not been set, `{}` is returned."
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SET = '{"colour": "blue"}'


def test_channels(svc: Any, client: Any, service: Any, unique: Callable[[str], str]) -> None:
    plain = svc.channels.create(friendly_name=unique("plain"))
    decorated = svc.channels.create(friendly_name=unique("decorated"), attributes=SET)
    assert decorated.attributes == SET  # create answers a single resource
    assert svc.channels(decorated.sid).fetch().attributes == SET
    listed = {c.sid: c.attributes for c in svc.channels.list()}
    assert listed == {plain.sid: "{}", decorated.sid: None}
    v2 = {c.sid: c.attributes for c in client.chat.v2.services(service.sid).channels.list()}
    assert v2 == {plain.sid: "{}", decorated.sid: SET}


def test_users(svc: Any, client: Any, service: Any, unique: Callable[[str], str]) -> None:
    plain = svc.users.create(identity=unique("plain"))
    decorated = svc.users.create(identity=unique("decorated"), attributes=SET)
    updated = svc.users(plain.sid).update(friendly_name="Plain")
    assert updated.attributes == "{}"
    assert svc.users(decorated.sid).fetch().attributes == SET
    listed = {u.sid: u.attributes for u in svc.users.list()}
    assert listed == {plain.sid: "{}", decorated.sid: None}
    v2 = {u.sid: u.attributes for u in client.chat.v2.services(service.sid).users.list()}
    assert v2 == {plain.sid: "{}", decorated.sid: SET}


def test_messages(
    room: Any, client: Any, service: Any, channel: Any, unique: Callable[[str], str]
) -> None:
    plain = room.messages.create(body="plain")
    decorated = room.messages.create(body="decorated", attributes=SET)
    assert room.messages(decorated.sid).fetch().attributes == SET
    assert [m.attributes for m in room.messages.list()] == ["{}", None]
    later = room.messages(plain.sid).update(attributes=SET)
    assert later.attributes == SET
    assert [m.attributes for m in room.messages.list()] == [None, None]
    v2 = client.chat.v2.services(service.sid).channels(channel.sid).messages.list()
    assert [m.attributes for m in v2] == [SET, SET]

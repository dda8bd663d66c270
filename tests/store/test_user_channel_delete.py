"""Declining an invitation through User Channels (DELETE of a channel the user is only invited
to) deletes the invite and nothing else: the row it renders is no membership, and a delete of
"the membership whose pk is NULL" read every membership of every account to find none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chinwag.ops.actions import perform
from chinwag.runtime import Runtime
from chinwag.store import engine_sqlite
from chinwag.store.accounts import Account
from tests.store.test_operations import op, run


def test_declining_an_invitation_touches_no_membership(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    original = engine_sqlite.SqliteConnection._run

    def noted(self: Any, sql: str, args: Any) -> Any:
        ran.append(sql)
        return original(self, sql, args)

    monkeypatch.setattr(engine_sqlite.SqliteConnection, "_run", noted)

    async def test(runtime: Runtime, account: Account) -> None:
        async def made(name: str, path: str, params: dict[str, str], form: dict[str, str]) -> str:
            outcome = await perform(runtime, op(account, name, "create", path, params, form))
            assert outcome.row is not None
            return str(outcome.row["sid"])

        service = await made("service", "/v2/Services", {}, {"FriendlyName": "invites"})
        at = {"ServiceSid": service}
        user = await made("user", f"/v2/Services/{service}/Users", at, {"Identity": "ann"})
        channels = f"/v2/Services/{service}/Channels"
        channel = await made("channel", channels, at, {"Type": "private"})
        invites = f"{channels}/{channel}/Invites"
        await made("invite", invites, {**at, "ChannelSid": channel}, {"Identity": "ann"})
        ran.clear()
        path = f"/v2/Services/{service}/Users/{user}/Channels/{channel}"
        params = {**at, "UserSid": user, "ChannelSid": channel}
        declined = await perform(runtime, op(account, "user_channel", "delete", path, params))
        assert declined.status == 204
        assert any(sql.startswith("DELETE FROM invites") for sql in ran)
        assert not any(sql.startswith("DELETE FROM members") for sql in ran), ran
        listing = op(account, "invite", "list", invites, {**at, "ChannelSid": channel})
        page = (await perform(runtime, listing)).listing
        assert page is not None
        assert page.rows == []

    run(f"sqlite:///{tmp_path / 'invites.db'}", test)

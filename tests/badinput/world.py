"""One of every Chat resource, created over raw HTTP in one account: the targets of both suites.

The bad-input suite points schemathesis at these SIDs so that its requests reach real rows; the
isolation suite creates them in one account and attacks them from another.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import requests

from tests.support.servers import Server

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))

# Which world SID a path parameter names: {ServiceSid}, {ChannelSid}, {UserSid} directly, and
# {Sid} by the collection segment just before it.
NAMED = {"ServiceSid": "service", "ChannelSid": "channel", "UserSid": "user"}
COLLECTIONS = {
    "Services": "service",
    "Roles": "role",
    "Credentials": "credential",
    "Users": "user",
    "Channels": "channel",
    "Members": "member",
    "Messages": "message",
    "Invites": "invite",
    "Webhooks": "webhook",
    "Bindings": "binding",
    "Media": "media",
}
PARAM_RE = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class World:
    account: str
    service: str
    role: str
    credential: str
    user: str
    identity: str
    guest: str
    channel: str
    unique_name: str
    member: str
    message: str
    invite: str
    webhook: str
    binding: str
    media: str

    def path_parameters(self, template: str) -> dict[str, str]:
        """Every {Param} of a path template, bound to this world's SID of that kind."""
        values: dict[str, str] = {}
        segments = template.strip("/").split("/")
        for position, segment in enumerate(segments):
            match = PARAM_RE.fullmatch(segment)
            if match is None:
                continue
            name = match.group(1)
            kind = NAMED.get(name) or COLLECTIONS[segments[position - 1]]
            values[name] = getattr(self, kind)
        return values

    def fill(self, template: str) -> str:
        """`template` with every {Param} replaced by this world's SID."""
        path = template
        for name, value in self.path_parameters(template).items():
            path = path.replace("{" + name + "}", value)
        return path


class Api:
    """Raw HTTP as one account (its SID and token, or an API key)."""

    def __init__(self, server: Server, username: str, password: str) -> None:
        self.base = server.url
        self.session = requests.Session()
        self.session.auth = (username, password)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def create(self, path: str, **data: Any) -> dict[str, Any]:
        """POST a form to `path`, which must answer 201; the new resource's JSON."""
        response = self.post(path, data=data)
        assert response.status_code == 201, f"POST {path}: {response.status_code} {response.text}"
        body: dict[str, Any] = response.json()
        return body

    def close(self) -> None:
        self.session.close()


def build_world(api: Api, account: str, tag: str = "") -> World:
    """A service with one of everything in it (and a credential) in `api`'s account."""
    tag = tag or secrets.token_hex(4)
    credential = api.create("/v1/Credentials", Type="fcm", FriendlyName=f"cr-{tag}", Secret="s")
    service = api.create("/v1/Services", FriendlyName=f"world-{tag}")["sid"]
    svc = f"/v1/Services/{service}"
    role = api.create(
        f"{svc}/Roles", FriendlyName=f"role-{tag}", Type="channel", Permission="sendMessage"
    )
    identity, guest = f"owner-{tag}", f"guest-{tag}"
    user = api.create(f"{svc}/Users", Identity=identity)
    api.create(f"{svc}/Users", Identity=guest)
    unique_name = f"room-{tag}"
    channel = api.create(f"{svc}/Channels", UniqueName=unique_name, Type="private")["sid"]
    room = f"{svc}/Channels/{channel}"
    member = api.create(f"{room}/Members", Identity=identity)
    message = api.create(f"{room}/Messages", Body="secret", From=identity)
    invite = api.create(f"{room}/Invites", Identity=guest)
    webhook = api.create(
        f"/v2/Services/{service}/Channels/{channel}/Webhooks",
        **{
            "Type": "webhook",
            "Configuration.Url": "https://hooks.example.com/world",
            "Configuration.Filters": "onMessageSent",
        },
    )
    binding = api.create(
        f"/v2/Services/{service}/Bindings",
        Endpoint=f"device-{tag}",
        Identity=identity,
        BindingType="apn",
        Address=f"token-{tag}",
    )
    upload = api.post(f"{svc}/Media", data=PNG, headers={"Content-Type": "image/png"})
    assert upload.status_code == 201, upload.text
    return World(
        account=account,
        service=service,
        role=role["sid"],
        credential=credential["sid"],
        user=user["sid"],
        identity=identity,
        guest=guest,
        channel=channel,
        unique_name=unique_name,
        member=member["sid"],
        message=message["sid"],
        invite=invite["sid"],
        webhook=webhook["sid"],
        binding=binding["sid"],
        media=upload.json()["sid"],
    )


def destroy_world(api: Api, world: World) -> None:
    """Delete the world's service (and everything in it) and its credential, if still there."""
    for path in (f"/v1/Services/{world.service}", f"/v1/Credentials/{world.credential}"):
        response = api.delete(path)
        assert response.status_code in (204, 404), response.text

"""Push registrations ("ers"): `client.setPushRegistrationId('fcm'|'apn', token)` and
`unsetPushRegistrationId(type)`, tunnelled to `ers…/v1/registrations`.

A registration is the user's push Binding, made and removed by the Binding resource's own
operations as the connection's identity (so it shows in REST's Bindings list and new messages
reach the push gateway with it). The SDK's request names only the platform, the message types
and the device token (`data.registration_id`); the rest comes from the access token: the user,
the endpoint (`endpoint_id`, else one derived from the device token, so a device that signs in
as someone else moves to them) and the credential (`push_credential_sid`). The answer's `id` is
the Binding's SID, which the SDK sends back to unregister.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import orjson

from chinwag.model.errors import ApiError, InvalidParameter
from chinwag.model.params import Form
from chinwag.realtime.upstream import ROUTER, PathMatch, Reply, Request
from chinwag.realtime.writes import act
from chinwag.resources.bindings import BINDING_TYPES, MESSAGE_TYPES

if TYPE_CHECKING:
    from chinwag.realtime.connection import Session


def _endpoint(session: Session, channel_type: str, address: str) -> str:
    assert session.who is not None  # noqa: S101
    if session.who.grant.endpoint_id:
        return session.who.grant.endpoint_id
    return f"sdk-{channel_type}-{hashlib.sha256(address.encode()).hexdigest()[:32]}"


def _form(session: Session, body: object) -> Form:
    """The Binding create's parameters from the SDK's registrar request."""
    assert session.who is not None  # noqa: S101
    data = body if isinstance(body, dict) else {}
    channel_type = data.get("channel_type")
    if channel_type not in BINDING_TYPES:  # apn and fcm; 5.x also still offers gcm
        raise InvalidParameter("channel_type", f"expected one of {', '.join(BINDING_TYPES)}")
    inner = data.get("data")
    address = inner.get("registration_id") if isinstance(inner, dict) else None
    if not isinstance(address, str) or not address:
        raise InvalidParameter("data.registration_id", "a push registration id is required")
    # Types the SDK asks for that Chat never pushes (consumption updates) are left out.
    types = data.get("message_types")
    wanted = [t for t in types if t in MESSAGE_TYPES] if isinstance(types, list) else []
    pairs = [
        ("Endpoint", _endpoint(session, channel_type, address)),
        ("Identity", session.who.identity),
        ("BindingType", channel_type),
        ("Address", address),
    ]
    if session.who.grant.push_credential_sid:
        pairs.append(("CredentialSid", session.who.grant.push_credential_sid))
    pairs += [("MessageTypes", t) for t in wanted]
    return Form(pairs)


def _types(stored: Any) -> list[str]:
    """The binding's message types (a JSON list as stored)."""
    return list(orjson.loads(stored)) if isinstance(stored, str | bytes) else list(stored or [])


@ROUTER.add("POST", r"v1/registrations")
async def register(session: Session, request: Request, match: PathMatch) -> Reply:
    assert session.who is not None  # noqa: S101
    service_sid = session.who.grant.service_sid
    path = f"/v2/Services/{service_sid}/Bindings"
    outcome = await act(session, "binding", "create", path, {}, _form(session, request.body))
    row = outcome.row
    assert row is not None  # noqa: S101
    return Reply(
        201,
        {
            "id": row["sid"],
            "binding_sid": row["sid"],
            "identity": row["identity"],
            "endpoint": row["endpoint"],
            "channel_type": row["binding_type"],
            "message_types": _types(row["message_types"]),
        },
    )


@ROUTER.add("DELETE", r"v1/registrations/([^/]+)")
async def unregister(session: Session, request: Request, match: PathMatch) -> Reply:
    """Removes one of the user's own bindings: the path names the user, so another's is 404."""
    assert session.who is not None  # noqa: S101
    sid = match.group(1)
    if not sid.startswith("BS"):
        raise ApiError(404, 20404, f"Registration {sid} not found")
    service_sid, identity = session.who.grant.service_sid, session.who.identity
    path = f"/v2/Services/{service_sid}/Users/{identity}/Bindings/{sid}"
    params = {"UserSid": identity, "Sid": sid}
    await act(session, "user_binding", "delete", path, params)
    return Reply(204)

"""Fields several resources declare the same way: identity, attributes, role."""

from __future__ import annotations

from typing import Any

from chinwag.model.resource import Field

IDENTITY_MAX = 256  # Twilio's 50207 "Identity too long"; its bound is not documented
ATTRIBUTES_MAX = 16 * 1024  # Twilio's 50303 "Attributes too long"


def identity() -> Field:
    """The identity a user is known by: required on create, never changed."""
    return Field(
        "identity",
        param="Identity",
        create=True,
        required=True,
        max_length=IDENTITY_MAX,
        code=50207,
    )


def attributes(**overrides: Any) -> Field:
    """Application JSON, stored as sent and returned as `"{}"` until set."""
    options: dict[str, Any] = {
        "create": True,
        "update": True,
        "default": "{}",
        "max_length": ATTRIBUTES_MAX,
        "code": 50304,
        **overrides,
    }
    return Field("attributes", "json", "Attributes", **options)


def role(*, update: bool = True) -> Field:
    """A role SID; its type is checked by the resource's rules."""
    return Field("role_sid", "sid", "RoleSid", create=True, update=update, sid_prefix="RL")

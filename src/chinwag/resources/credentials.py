"""Credentials (CR): push credentials of an account; their secrets are write-only."""

from __future__ import annotations

from typing import Any

from chinwag.context import Context, Row
from chinwag.model.resource import VERSIONS, BackendOnly, Field, Resource

PUSH_TYPES = ("apn", "gcm", "fcm")


class CredentialRules(BackendOnly):
    def render(self, call: Context, row: Row, body: dict[str, Any]) -> None:
        # Twilio's schema types `sandbox` as a string: "true" / "false".
        sandbox = row["sandbox"]
        body["sandbox"] = None if sandbox is None else str(bool(sandbox)).lower()


def _secret(name: str, param: str) -> Field:
    return Field(name, param=param, create=True, update=True, hidden=True, max_length=65536)


CREDENTIAL = Resource(
    name="credential",
    sid_prefix="CR",
    path="/Credentials",
    list_key="credentials",
    schema="credential",
    page_size_max={"v1": 1000, "v2": 1000},
    versions=VERSIONS,
    rules=CredentialRules(),
    fields=(
        Field(
            "friendly_name",
            param="FriendlyName",
            create=True,
            update=True,
            max_length=64,
            code=50003,
        ),
        Field("type", param="Type", create=True, required=True, choices=PUSH_TYPES),
        Field("sandbox", "bool", "Sandbox", create=True, update=True),
        _secret("certificate", "Certificate"),
        _secret("private_key", "PrivateKey"),
        _secret("api_key", "ApiKey"),
        _secret("secret", "Secret"),
    ),
)

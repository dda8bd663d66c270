"""Every resource chinwag serves, and the tables derived from them."""

from __future__ import annotations

from chinwag.model.resource import Resource
from chinwag.resources.bindings import BINDING, USER_BINDING
from chinwag.resources.channel_webhooks import CHANNEL_WEBHOOK
from chinwag.resources.channels import CHANNEL
from chinwag.resources.credentials import CREDENTIAL
from chinwag.resources.invites import INVITE
from chinwag.resources.media import MEDIA
from chinwag.resources.members import MEMBER
from chinwag.resources.messages import MESSAGE
from chinwag.resources.roles import ROLE
from chinwag.resources.services import SERVICE
from chinwag.resources.user_channels import USER_CHANNEL
from chinwag.resources.users import USER
from chinwag.store.tables import Tables

# Parents before children: tables reference the tables before them.
REGISTRY: tuple[Resource, ...] = (
    SERVICE,
    ROLE,
    CREDENTIAL,
    USER,
    CHANNEL,
    MEMBER,
    MESSAGE,
    INVITE,
    USER_CHANNEL,
    CHANNEL_WEBHOOK,
    BINDING,
    USER_BINDING,
    MEDIA,
)
TABLES = Tables(REGISTRY)

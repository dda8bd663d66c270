"""Every resource chinwag serves, and the tables derived from them."""

from __future__ import annotations

from chinwag.api.resource import Resource
from chinwag.resources.credentials import CREDENTIAL
from chinwag.resources.roles import ROLE
from chinwag.resources.services import SERVICE
from chinwag.store.tables import Tables

REGISTRY: tuple[Resource, ...] = (SERVICE, ROLE, CREDENTIAL)
TABLES = Tables(REGISTRY)

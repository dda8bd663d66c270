"""Resource declarations: a resource's fields, parameters and rules, written once.

Routing (`routes.py`), form parsing (`forms.py`), JSON (`render.py`), tables (`store/tables.py`)
and paging (`paging.py`) are all derived from a `Resource`. Behaviour that truly differs per
resource lives in its `Rules`, a handful of hooks the generic endpoints call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select

    from chinwag.context import Context, Row

Kind = Literal["str", "int", "bool", "json", "list", "date", "sid", "url"]
Action = Literal["create", "fetch", "update", "delete", "list"]
Version = Literal["v1", "v2"]

CRUD: frozenset[Action] = frozenset({"create", "fetch", "update", "delete", "list"})
VERSIONS: frozenset[Version] = frozenset({"v1", "v2"})
V1: frozenset[Version] = frozenset({"v1"})
V2: frozenset[Version] = frozenset({"v2"})


@dataclass(frozen=True)
class Field:
    """One property of a resource: its JSON key, its column and, if writable, its parameter."""

    name: str  # JSON key; dots nest objects: "limits.channel_members" -> {"limits": {...}}
    kind: Kind = "str"
    param: str | None = None  # form name clients send: "Limits.ChannelMembers"
    create: bool | frozenset[Version] = False  # accepted on create (in these versions)
    update: bool | frozenset[Version] = False  # accepted on update (in these versions)
    required: bool = False  # required on create
    optional_in: frozenset[Version] = frozenset()  # ...except in these versions
    default: Any = None  # stored on create when absent; a callable gets the Context
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    sid_prefix: str = ""  # for kind "sid"
    code: int = 20001  # Twilio error code for an invalid value
    missing_code: int = 20001  # Twilio error code when required and absent
    stored: bool = True  # False: computed by the resource's rules at render time
    hidden: bool = False  # stored and accepted, never rendered (secrets, internal copies)
    omit_null: bool = False  # left out of the JSON while null
    empty_is_null: bool = False  # an empty form value clears the field
    versions: frozenset[Version] = VERSIONS  # rendered and accepted in these API versions
    references: str = ""  # a table whose row this SID names; deleting that row deletes this one

    @cached_property
    def column(self) -> str:
        return self.name.replace(".", "_")

    @property
    def rendered(self) -> bool:
        return not self.hidden

    def required_in(self, version: Version) -> bool:
        return self.required and version not in self.optional_in

    def accepted(self, action: Action, version: Version) -> bool:
        allowed = self.create if action == "create" else self.update
        if self.param is None or not allowed:
            return False
        if isinstance(allowed, frozenset):
            return version in allowed
        return version in self.versions


@dataclass(frozen=True)
class Filter:
    """A list query parameter, repeated for several values (`Type=public&Type=private`)."""

    param: str
    column: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Link:
    name: str
    path: str  # below the resource's own URL: "Members"
    versions: frozenset[Version] = VERSIONS


@dataclass(frozen=True)
class Unique:
    """A uniqueness rule within the parent: 409 with Twilio's code when broken."""

    columns: tuple[str, ...]
    code: int
    message: str


class Rules:
    """Hooks a resource may override; the defaults do nothing."""

    # Its create writes its parent's row (a counter) in a statement that finds no row if the
    # parent went meanwhile (`RowGone`, run again): its path may then be located before the
    # writer's turn, on a reading connection, while the writer is busy (`ops.actions`).
    create_rechecks_parent: ClassVar[bool] = False
    # Its create refuses what it refuses before its first write, and fails after one only when
    # it raced another transaction (its parent deleted, a lock held too long): so it may join
    # a group commit without a savepoint of its own (`ops.actions`, `group_commit.Undo`).
    create_fails_before_writing: ClassVar[bool] = False

    async def before_create(self, call: Context, values: dict[str, Any]) -> None:
        """Fill or check `values` (column -> value) before the row is inserted."""

    async def after_create(self, call: Context, row: Row) -> Row | None:
        """Side effects of a new row (counters, related rows); may return the row as changed."""
        return None

    async def before_update(self, call: Context, row: Row, changes: dict[str, Any]) -> None:
        """Check or extend `changes` before they are written."""

    async def after_update(self, call: Context, before: Row, after: Row) -> Row | None:
        """Side effects of a change; may return the row as it should be rendered."""
        return None

    async def lock_ahead(self, call: Context, row: Row) -> None:
        """Lock the rows a delete of `row` changes that come before it in the lock order
        (channels, then users, then members: `ops/crud.py`), before the row is locked."""

    async def before_delete(self, call: Context, row: Row) -> None:
        """Check, and undo counters, before the row (and its cascade) goes."""

    def render(self, call: Context, row: Row, body: dict[str, Any]) -> None:
        """Adjust the JSON of one row (computed fields, conditional links)."""

    async def find(self, call: Context, ident: str) -> Row | None:
        """The row a path names, for resources not addressed by their own SID."""
        return None

    def event_names(
        self, res: Resource, action: Action, row: Mapping[Any, Any]
    ) -> tuple[str | None, str | None]:
        """The (pre, post) webhook events an action raises; see `Resource.events`."""
        return res.events.get(action, (None, None))

    def push_kind(self, res: Resource, action: Action, row: Mapping[Any, Any]) -> str | None:
        """The push notification an action sends; see `Resource.push`."""
        return res.push.get(action)

    def event_params(self, call: Context, row: Mapping[Any, Any]) -> dict[str, Any]:
        """The Twilio webhook parameters describing `row` (a stored row, or a pre-event preview)."""
        return {}

    def client_permissions(
        self, call: Context, row: Row | None, values: Mapping[str, Any]
    ) -> tuple[str, ...] | None:
        """The permissions (Twilio's names, all of them) a client needs for the call's action on
        `row` (update, delete, fetch) with `values` (the parameters of a create or update);
        None when no client may do it. Account credentials (REST) are never asked."""
        return ()

    async def client_channel(self, call: Context, row: Row | None) -> Row | None:
        """The channel whose member role also counts, and whose privacy hides it."""
        return call.parents.get("channel")

    def list_query(self, call: Context) -> tuple[Select[Any], ColumnElement[Any]] | None:
        """A list's rows and keyset column, for resources that are views of other tables.
        Built once and reused for every call: it may read `call.tables` only, and names the
        path's parent (the list's scope) as the bound parameter `l_scope`."""
        return None

    def to_json(self, call: Context, row: Row) -> dict[str, Any] | None:
        """The whole JSON of a row, for resources whose shape is not the standard one."""
        return None


class BackendOnly(Rules):
    """Rules of a resource only the app's backend (account credentials) may touch: no client
    (SDK user) has a permission for it."""

    def client_permissions(
        self, call: Context, row: Row | None, values: Mapping[str, Any]
    ) -> tuple[str, ...] | None:
        return None


# The row's own dates, settable in v2 so that a migration keeps its history's timestamps.
IMPORT_DATES = (
    Field("date_created", "date", "DateCreated", create=V2, update=V2, stored=False, code=50308),
    Field("date_updated", "date", "DateUpdated", create=V2, update=V2, stored=False, code=50309),
)


def _no_lookup() -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class Resource:
    """A REST resource: where it lives, what it holds, and how it behaves."""

    name: str  # "channel"
    sid_prefix: str  # "CH"
    path: str  # below the version: "/Services/{ServiceSid}/Channels"
    list_key: str  # "channels": the array key of a list page
    schema: str  # its component in Twilio's spec, after "chat.{version}.": "service.channel"
    fields: tuple[Field, ...]
    parent: Resource | None = None
    ref_param: str = ""  # how a child's path names this resource: "ChannelSid"
    actions: frozenset[Action] = CRUD
    versions: frozenset[Version] = V1  # the API versions whose routes serve it
    # Actions served in fewer versions than the resource: {"fetch": V2}.
    only_in: Mapping[Action, frozenset[Version]] = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    page_size_max: Mapping[Version, int] = field(default_factory=lambda: {"v1": 1000, "v2": 100})
    lookup: tuple[str, ...] = field(
        default_factory=_no_lookup
    )  # columns a path may use for the SID
    filters: tuple[Filter, ...] = ()
    unique: tuple[Unique, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()  # extra lookups: (("user_sid", "pk"),)
    sort_column: str = "pk"  # the keyset of lists; "index" for messages
    rules: Rules = field(default_factory=Rules)
    extra_columns: tuple[Field, ...] = ()  # stored, never rendered or accepted (counters)
    has_table: bool = True  # False: a view of other resources' tables (user channels)
    table_of: str = ""  # the resource whose table holds its rows, when not its own
    instance_param: str = "Sid"  # the path parameter naming one row
    import_dates: bool = False  # v2 accepts DateCreated/DateUpdated (history imports)
    # Rows that may number millions a parent (a channel's messages): deleting the parent leaves
    # them to be removed in bounded batches afterwards, never in the delete's own transaction.
    swept: bool = False
    extensions: frozenset[Action] = frozenset()  # actions chinwag adds to Twilio's API
    webhook_header: frozenset[Action] = frozenset()  # actions taking X-Twilio-Webhook-Enabled
    # The Twilio events an action raises: {"create": ("onChannelAdd", "onChannelAdded")}.
    events: Mapping[Action, tuple[str | None, str | None]] = field(default_factory=dict)
    # The push notification an action sends, when the service enables it: {"create": "new_message"}.
    push: Mapping[Action, str] = field(default_factory=dict)
    default_filter: Callable[[Context], Mapping[str, tuple[str, ...]]] | None = None
    _writable: dict[tuple[Action, Version], tuple[Field, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @cached_property
    def ref_column(self) -> str:
        """Children store this resource's SID in this column: "ChannelSid" -> "channel_sid"."""
        return snake_case(self.ref_param)

    @cached_property
    def ancestors(self) -> tuple[Resource, ...]:
        chain: list[Resource] = []
        node = self.parent
        while node is not None:
            chain.insert(0, node)
            node = node.parent
        return tuple(chain)

    def serves(self, action: Action, version: Version) -> bool:
        return action in self.actions and version in self.only_in.get(action, self.versions)

    def writable(self, action: Action, version: Version) -> tuple[Field, ...]:
        key = (action, version)
        if key not in self._writable:  # asked on every request: worked out once
            fields = (*self.fields, *IMPORT_DATES) if self.import_dates else self.fields
            self._writable[key] = tuple(f for f in fields if f.accepted(action, version))
        return self._writable[key]

    def rendered(self, version: Version) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.rendered and version in f.versions)

    @cached_property
    def _stored(self) -> tuple[Field, ...]:
        return tuple(f for f in (*self.fields, *self.extra_columns) if f.stored)

    def defaults(self, call: Context) -> dict[str, Any]:
        """Column -> default of every stored field, as a new row starts."""
        return {
            f.column: f.default(call) if callable(f.default) else f.default for f in self._stored
        }


def snake_case(pascal: str) -> str:
    out = "".join("_" + c.lower() if c.isupper() else c for c in pascal)
    return out.lstrip("_")

"""A resource's update form, derived from its declaration: one input per writable field.

The form posts each field under its REST parameter name (`Limits.ChannelMembers`); `changes`
keeps only what differs from the stored row, so saving the form sends an update with exactly
the parameters a person changed, validated by the operation like any REST update.
"""

from __future__ import annotations

import re
from typing import Any

from chinwag.console.html import Html, join, render
from chinwag.console.values import as_list
from chinwag.context import Row
from chinwag.model.params import Form
from chinwag.model.resource import Field, Resource, Version

GROUPS = {
    "general": "General",
    "limits": "Limits",
    "webhooks": "Webhooks",
    "notifications": "Push notifications",
    "media": "Media",
}


def group_of(f: Field) -> str:
    head = f.name.split(".", 1)[0] if "." in f.name else "general"
    if "webhook" in f.name:
        return "webhooks"
    return head if head in GROUPS else "general"


def shown(f: Field, row: Row) -> str:
    """A field's stored value as its input shows it."""
    value: Any = row.get(f.column)
    if value is None:
        return ""
    if f.kind == "bool":
        return "true" if value else "false"
    if f.kind == "list":
        return " ".join(as_list(value))
    return str(value)


def _input(f: Field, value: str) -> Html:
    name = f.param or f.name
    if f.kind == "bool" or f.choices:
        options = ("true", "false") if f.kind == "bool" else f.choices
        return render(
            "<select name='{name}'>{options}</select>",
            name=name,
            options=join(
                render(
                    "<option{sel}>{o}</option>",
                    o=o,
                    sel=Html(" selected" if o == value else ""),
                )
                for o in options
            ),
        )
    if f.kind == "int":
        return render(
            "<input type=number name='{name}' value='{value}' min='{lo}' max='{hi}'>",
            name=name,
            value=value,
            lo="" if f.minimum is None else f.minimum,
            hi="" if f.maximum is None else f.maximum,
        )
    size = "" if f.max_length is None else f.max_length
    return render(
        "<input name='{name}' value='{value}' maxlength='{size}'>",
        name=name,
        value=value,
        size=size,
    )


def fieldsets(res: Resource, version: Version, row: Row) -> Html:
    fields = res.writable("update", version)
    parts = []
    for key, title in GROUPS.items():
        mine = [f for f in fields if group_of(f) == key]
        if not mine:
            continue
        inputs = join(
            render("<label>{label} {input}</label>", label=f.param, input=_input(f, shown(f, row)))
            for f in mine
        )
        parts.append(
            render(
                "<fieldset><legend>{title}</legend>{inputs}</fieldset>", title=title, inputs=inputs
            )
        )
    return join(parts)


def changes(res: Resource, version: Version, row: Row, posted: Form) -> Form:
    """The parameters whose posted value differs from the stored one."""
    pairs: list[tuple[str, str]] = []
    for f in res.writable("update", version):
        name = f.param or f.name
        value = posted.get(name)
        if value is None or value == shown(f, row):
            continue
        if f.kind == "list":
            values = [v for v in re.split(r"[\s,]+", value) if v]
            pairs += [(name, v) for v in values] if values else [(name, "")]
        else:
            pairs.append((name, value))
    return Form(pairs)

"""HTML built so that every value is escaped unless it is already `Html`.

`render("<p>{name}</p>", name=user_text)` escapes `user_text`; a value that is `Html` (the
output of `render`, `join` or `Html(...)` around a constant) goes in as it is. Pages build
their markup only through these, so a message body of `<script>` can only ever show as text.
"""

from __future__ import annotations

import html
import string
from collections.abc import Iterable
from typing import Any


class Html(str):
    """Markup that is safe to insert as it is (never wrap user text in it)."""

    __slots__ = ()


def escape(value: Any) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


class _Escaping(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Html):
            return value
        return escape(format(value, format_spec) if format_spec else value)


_FORMATTER = _Escaping()


def render(template: str, /, **values: Any) -> Html:
    """`template` (trusted markup, `{name}` placeholders) with every value escaped."""
    return Html(_FORMATTER.vformat(template, (), values))


def join(parts: Iterable[Html], separator: str = "") -> Html:
    """Fragments already rendered, one after another (plain strings are escaped)."""
    return Html(escape(separator).join(escape(p) for p in parts))

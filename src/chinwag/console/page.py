"""What a console page module declares: its place in the navigation and its routes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.routing import BaseRoute


@dataclass(frozen=True)
class Page:
    """One section of the console, e.g. `Page("Users", "/users", (get("/users", show), ...))`.

    `nav` is the label in the navigation bar (None keeps it out of the bar) and `href` the
    path it links to, under /console. `routes` are relative to /console, made with
    `web.get` / `web.post` (signed in, CSRF-checked) or plain Starlette routes.
    """

    nav: str | None
    href: str
    routes: Sequence[BaseRoute]

"""Routes from declarations: every action of a resource, in every version it exists in.

Twilio's paths alternate names and identifiers (`/v1/Services/{Sid}/Channels/{Sid}/Messages`),
so a request's path has a shape (its length and its name segments) that picks the one or two
routes that can match it: `RouteIndex` looks them up instead of trying a hundred regexes.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from chinwag.api.endpoints import endpoint
from chinwag.model.resource import Action, Resource

# Twilio updates with POST; the instance path adds /{Sid}.
VERBS: dict[Action, tuple[str, str]] = {
    "list": ("", "GET"),
    "create": ("", "POST"),
    "fetch": ("/{Sid}", "GET"),
    "update": ("/{Sid}", "POST"),
    "delete": ("/{Sid}", "DELETE"),
}


def route_path(res: Resource, version: str, action: Action) -> str:
    suffix = VERBS[action][0].replace("Sid", res.instance_param)
    return f"/{version}{res.path}{suffix}"


def routes_for(res: Resource) -> list[Route]:
    return [
        Route(
            route_path(res, version, action),
            endpoint(res, action, version),
            methods=[verb],
            name=f"{version}.{res.name}.{action}",
        )
        for version in sorted(res.versions)
        for action, (_, verb) in VERBS.items()
        if res.serves(action, version)
    ]


def shape(path: str) -> tuple[object, ...]:
    """The segment count and the name segments (the version, then every other one)."""
    parts = path.split("/")
    return (len(parts), parts[1] if len(parts) > 1 else "", *parts[2::2])


class RouteIndex(BaseRoute):
    """Routes found by their path's shape; each candidate still matches as Starlette's own."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self._by_shape: dict[tuple[object, ...], list[Route]] = {}
        for route in routes:
            self._by_shape.setdefault(shape(route.path), []).append(route)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        partial: tuple[Match, Scope] = (Match.NONE, {})
        for route in self._by_shape.get(shape(scope["path"]), ()):
            match, child = route.matches(scope)
            if match is Match.FULL:
                return match, {**child, "route": route}  # the router records the real route
            if match is Match.PARTIAL and partial[0] is Match.NONE:
                partial = (match, {**child, "route": route})
        return partial

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["route"].handle(scope, receive, send)

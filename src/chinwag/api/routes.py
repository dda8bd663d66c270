"""Routes from declarations: every action of a resource, in every version it exists in."""

from __future__ import annotations

from starlette.routing import Route

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

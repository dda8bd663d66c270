"""REST endpoints: thin adapters that read a request, `perform` its operation, and render.

No rule lives here: credentials are read (401 before any body), the form decoded, the operation
performed by `ops.actions`, and its rows written as Twilio's JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response

from chinwag.api.auth import request_credentials
from chinwag.api.forms import read_body, read_query
from chinwag.api.render import dumps, to_json
from chinwag.model.errors import ApiError
from chinwag.model.resource import Action, Resource, Version
from chinwag.ops.actions import Operation, Outcome, perform
from chinwag.ops.crud import WRITES
from chinwag.ops.locate import Credentials
from chinwag.ops.paging import meta
from chinwag.runtime import Runtime

Handler = Callable[[Request], Awaitable[Response]]


def base_url(runtime: Runtime, request: Request) -> str:
    """The root of every `url` we emit: --public-url, else the request's own scheme and host."""
    if runtime.settings.public_url:
        return runtime.settings.public_url.rstrip("/")
    host = request.headers.get("host") or f"{runtime.settings.host}:{runtime.settings.port}"
    return f"{request.url.scheme}://{host}"


def operation(request: Request, res: Resource, action: Action, version: Version) -> Operation:
    """The operation a request asks for, with its Basic credentials (401 without them), before
    its body is read."""
    runtime: Runtime = request.app.state.runtime
    username, password = request_credentials(request)
    return Operation(
        res,
        action,
        version,
        Credentials(username, password),
        request.url.path,
        request.path_params,
        base_url=base_url(runtime, request),
        webhooks_enabled=webhook_header(request, res, action, version),
    )


def webhook_header(request: Request, res: Resource, action: Action, version: Version) -> bool:
    """X-Twilio-Webhook-Enabled, where v2 takes it: true or false, anything else is a 400."""
    raw = request.headers.get("x-twilio-webhook-enabled")
    if raw is None or version != "v2" or action not in res.webhook_header:
        return False
    if raw.lower() not in ("true", "false"):
        raise ApiError(400, 20001, f"Invalid header X-Twilio-Webhook-Enabled: {raw!r}")
    return raw.lower() == "true"


def render(outcome: Outcome, list_url: str) -> Response:
    """Twilio's JSON of what an operation did: a row, a page with `meta`, or 204."""
    status, call = outcome.status, outcome.context
    if status == 204:
        return Response(status_code=204)
    listing = outcome.listing
    if listing is None:
        assert outcome.row is not None  # noqa: S101  (every other action has a row)
        return Response(dumps(to_json(call, outcome.row)), status, media_type="application/json")
    res = call.resource
    body = {
        res.list_key: [to_json(call, row) for row in listing.rows],
        "meta": meta(
            list_url, res.list_key, listing.filters, listing.request, listing.page, res.sort_column
        ),
    }
    return Response(dumps(body), status, media_type="application/json")


def endpoint(res: Resource, action: Action, version: Version) -> Handler:
    """The Starlette endpoint of one action of one resource in one API version."""

    async def handle(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        op = operation(request, res, action, version)
        form = await read_body(request) if action in WRITES else read_query(request)
        outcome = await perform(runtime, replace(op, form=form))
        return render(outcome, op.base_url + op.path)

    return handle

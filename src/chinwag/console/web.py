"""The console's request handling: who is signed in, CSRF on every POST, operations, errors.

A page handler is `async def handler(visit: Visit) -> Response`, routed with `get(...)` or
`post(...)`. Before it runs, the wrapper has checked the session cookie (else: sign in first)
and, on POST, the form's CSRF token (else 403). Writes go through `visit.perform`, the same
`ops.actions.perform` the REST API calls, as the signed-in account; an `ApiError` it raises
(404 for another account's SID, 400 for a bad value) becomes an HTML error page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from chinwag import clock
from chinwag.api.endpoints import base_url
from chinwag.api.forms import read_body, read_query
from chinwag.console import session as sessions
from chinwag.console.html import Html, render
from chinwag.console.layout import page
from chinwag.context import Row
from chinwag.model.errors import ApiError
from chinwag.model.params import Form
from chinwag.model.resource import Action, Resource, Version
from chinwag.ops.actions import Operation, Outcome, perform
from chinwag.runtime import Runtime
from chinwag.store.accounts import Account, get_account

PREFIX = "/console"
COOKIE = "chinwag_console"
# A strict policy: scripts and styles only from the console's own static files.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def secure(response: Response) -> Response:
    """The console's headers, where a handler did not set its own (a download's sandbox)."""
    for name, value in HEADERS.items():
        if name not in response.headers:
            response.headers[name] = value
    return response


@dataclass
class Visit:
    """One signed-in request: the account, its session, the form, and a way to perform."""

    request: Request
    runtime: Runtime
    account: Account
    session: sessions.Session
    csrf: str
    form: Form = field(default_factory=Form)  # the POST body; on GET, the query

    @property
    def params(self) -> Mapping[str, str]:
        return self.request.path_params

    async def perform(
        self,
        res: Resource,
        action: Action,
        path: str,
        params: Mapping[str, str] | None = None,
        form: Form | None = None,
        version: Version = "v2",
    ) -> Outcome:
        """`action` on the REST `path`, as the signed-in account, as REST would run it."""
        op = Operation(
            res,
            action,
            version,
            self.account,
            path,
            params or {},
            form or Form(),
            base_url=base_url(self.runtime, self.request),
        )
        return await perform(self.runtime, op)

    def page(self, title: str, body: Html, status: int = 200) -> Response:
        from chinwag.console.pages import NAV  # the registry imports the pages, which import us

        html = page(title, body, NAV, account=self.account.sid, csrf=self.csrf, current=self.path)
        return secure(HTMLResponse(html, status))

    @property
    def path(self) -> str:
        return str(self.request.url.path)


Handler = Callable[[Visit], Awaitable[Response]]


async def signed_in(request: Request) -> tuple[Account, sessions.Session, bytes] | None:
    """The account whose valid, unexpired session cookie the request carries."""
    cookie = request.cookies.get(COOKIE)
    claims = sessions.peek(cookie) if cookie else None
    if cookie is None or claims is None:
        return None
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.read() as conn:
        account = await get_account(conn, runtime.tables, claims.account_sid)
        if account is None:
            return None
        key = sessions.key_for(account.auth_token)
        session = sessions.verify(cookie, key, clock.time())
        if session is None:
            return None
        if session.principal_sid != account.sid:  # an API key: it must still exist
            keys = runtime.tables.api_keys
            query = select(keys.c.sid).where(
                keys.c.sid == session.principal_sid, keys.c.account_sid == account.sid
            )
            if (await conn.execute(query)).first() is None:
                return None
    return account, session, key


def to_sign_in(request: Request) -> Response:
    target = quote(str(request.url.path) + ("?" + request.url.query if request.url.query else ""))
    return secure(RedirectResponse(f"{PREFIX}/signin?next={target}", 303))


def error_page(visit: Visit, error: ApiError) -> Response:
    if error.status == 404:
        body = render("<h1>Not found</h1><p>There is no such thing in this account.</p>")
        return visit.page("Not found", body, 404)
    body = render(
        "<h1>That did not work</h1><p class=error>{message}</p><p>Error {code}.</p>"
        "<p><a href='{back}'>Back</a></p>",
        back=visit.request.headers.get("referer") or PREFIX + "/",
        message=error.message,
        code=error.code,
    )
    response = visit.page("Error", body, error.status)
    response.headers.update(error.headers)
    return response


def _refuse_nul(request: Request, form: Form) -> None:
    """The console's own fields (searches, filters, key names) and path segments go to the
    database as they are: a NUL, which PostgreSQL refuses (it answered 503), is a 400 in a field
    and names nothing in a path (404), on both databases."""
    if any("\x00" in str(value) for value in request.path_params.values()):
        raise ApiError(404, 20404, "Not found")
    name = form.holding_nul()
    if name is not None:
        raise ApiError(400, 20001, f"Invalid parameter {name}: contains a NUL character")


def wrap(handler: Handler, method: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        found = await signed_in(request)
        if found is None:
            if method == "POST":
                return secure(HTMLResponse("Sign in first", 403))
            return to_sign_in(request)
        account, session, key = found
        form = await read_body(request) if method == "POST" else read_query(request)
        runtime: Runtime = request.app.state.runtime
        visit = Visit(request, runtime, account, session, sessions.csrf_token(session, key), form)
        if method == "POST" and not sessions.csrf_ok(session, key, form.get("csrf")):
            body = render("<h1>Forbidden</h1><p>The form was stale: reload the page.</p>")
            return visit.page("Forbidden", body, 403)
        try:
            _refuse_nul(request, form)
            return secure(await handler(visit))
        except ApiError as error:
            return error_page(visit, error)

    return endpoint


def get(path: str, handler: Handler, name: str | None = None) -> Route:
    """A signed-in GET page at `path` (under /console)."""
    return Route(path, wrap(handler, "GET"), methods=["GET"], name=name)


def post(path: str, handler: Handler, name: str | None = None) -> Route:
    """A signed-in POST action at `path`, CSRF-checked; it usually redirects (303) to a page."""
    return Route(path, wrap(handler, "POST"), methods=["POST"], name=name)


def redirect(path: str) -> Response:
    """After a POST: back to a console page (`path` under /console)."""
    return RedirectResponse(PREFIX + path, 303)


def csrf_field(visit: Visit) -> Html:
    return render("<input type=hidden name=csrf value='{token}'>", token=visit.csrf)


def rows(outcome: Outcome) -> list[Row]:
    """The rows of a list operation's page."""
    if outcome.listing is None:
        raise TypeError("not the outcome of a list")
    return list(outcome.listing.rows)


def link(path: str) -> str:
    """The URL of a console page (`path` under /console)."""
    return PREFIX + path

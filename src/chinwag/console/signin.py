"""Sign in (account SID + auth token, or API key SID + secret) and sign out.

The credentials are checked by `store.accounts.authenticate`, the check REST's Basic auth falls
back to, so whatever REST accepts the console accepts. Wrong passwords are limited per name
and per client address (domain/signins.py): past the limit the form answers 429.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from chinwag import clock
from chinwag.api.forms import read_body
from chinwag.console import session as sessions
from chinwag.console.html import Html, render
from chinwag.console.layout import page
from chinwag.console.web import COOKIE, PREFIX, Visit, post, secure, signed_in
from chinwag.domain import signins
from chinwag.domain.ratelimit import Window
from chinwag.runtime import Runtime
from chinwag.store.accounts import authenticate

FORM_COOKIE = "chinwag_console_form"  # the sign-in form's double-submit token

_FORM = """<section class=signin><h1>Sign in</h1>{message}
<form method=post action="/console/signin">
<input type=hidden name=csrf value="{token}"><input type=hidden name=next value="{next}">
<label>Account SID or API key SID <input name=username autocomplete=username required
 value="{username}" placeholder="AC… or SK…"></label>
<label>Auth token or API key secret <input name=password type=password required
 autocomplete=current-password></label>
<button type=submit>Sign in</button></form></section>"""


def _next(value: str | None) -> str:
    """Only a console path: never another site (`//host`) after signing in."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//"):
        return value
    return PREFIX + "/"


def _cookie_options(request: Request) -> dict[str, object]:
    secure_only = request.url.scheme == "https"
    return {"httponly": True, "samesite": "strict", "path": PREFIX, "secure": secure_only}


def _form(
    request: Request, message: Html, status: int, username: str = "", after: str = ""
) -> Response:
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    body = render(_FORM, message=message, token=token, next=after, username=username)
    response = secure(HTMLResponse(page("Sign in", body), status))
    response.set_cookie(FORM_COOKIE, token, **_cookie_options(request))  # type: ignore[arg-type]
    return response


async def sign_in_form(request: Request) -> Response:
    if await signed_in(request) is not None:
        return secure(RedirectResponse(_next(request.query_params.get("next")), 303))
    return _form(request, Html(""), 200, after=_next(request.query_params.get("next")))


def _problem(text: str) -> Html:
    return render("<p class=error role=alert>{text}</p>", text=text)


async def sign_in(request: Request) -> Response:
    form = await read_body(request)
    username, password = form.get("username") or "", form.get("password") or ""
    after = _next(form.get("next"))
    if not sessions.double_submit_ok(request.cookies.get(FORM_COOKIE), form.get("csrf")):
        return _form(request, _problem("The form was stale: try again."), 403, username, after)
    if form.holding_nul() is not None:  # no SID or secret holds one; PostgreSQL refuses it
        return _form(request, _problem("Wrong SID or secret."), 401, "", after)
    runtime: Runtime = request.app.state.runtime
    address = request.client.host if request.client else ""
    buckets = signins.buckets(username, address)
    async with runtime.db.write() as conn:
        wait = await signins.wait_ms(conn, runtime.tables, buckets)
        account = None
        if wait == 0:
            account = await authenticate(conn, runtime.tables, username, password)
            if account is None:
                await signins.record_failure(conn, runtime.tables, buckets)
    if wait > 0:
        seconds = Window.retry_after(wait)
        text = f"Too many wrong passwords: try again in {seconds} seconds."
        response = _form(request, _problem(text), 429, username, after)
        response.headers["Retry-After"] = str(seconds)
        return response
    if account is None:
        return _form(request, _problem("Wrong SID or secret."), 401, username, after)
    session = sessions.new_session(account.sid, username, clock.time())
    cookie = sessions.sign(session, sessions.key_for(account.auth_token))
    response = secure(RedirectResponse(after, 303))
    response.set_cookie(COOKIE, cookie, max_age=sessions.LIFETIME, **_cookie_options(request))  # type: ignore[arg-type]
    response.delete_cookie(FORM_COOKIE, path=PREFIX)
    return response


async def sign_out(visit: Visit) -> Response:
    response = RedirectResponse(PREFIX + "/signin", 303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


ROUTES = [
    Route("/signin", sign_in_form, methods=["GET"]),
    Route("/signin", sign_in, methods=["POST"]),
    post("/signout", sign_out),
]

"""The console's base layout: head, navigation, who is signed in, the sign-out form."""

from __future__ import annotations

from collections.abc import Sequence

from chinwag.console.html import Html, join, render

NavItem = tuple[str, str]  # (label, href)

_PAGE = """<!doctype html>
<html lang=en><head><meta charset=utf-8>
<meta name=viewport content="width=device-width, initial-scale=1">
<title>{title} · chinwag console</title>
<link rel=stylesheet href="/console/static/console.css">
<script src="/console/static/console.js" defer></script>
</head><body>
<header><a class=brand href="/console/">chinwag</a><nav>{nav}</nav>
<div class=who>{who}</div></header>
<main>{body}</main>
</body></html>"""

_SIGN_OUT = """<span title="Signed in">{account}</span>
<form method=post action="/console/signout" class=inline>
<input type=hidden name=csrf value="{csrf}"><button type=submit>Sign out</button></form>"""


def nav_links(items: Sequence[NavItem], current: str) -> Html:
    return join(
        render(
            "<a href='{href}'{here}>{label}</a>",
            href=href,
            label=label,
            here=Html(" aria-current=page" if current.startswith(href) else ""),
        )
        for label, href in items
    )


def page(
    title: str,
    body: Html,
    nav: Sequence[NavItem] = (),
    *,
    account: str | None = None,
    csrf: str = "",
    current: str = "",
) -> Html:
    """A whole HTML document: the navigation appears once someone is signed in."""
    who = render(_SIGN_OUT, account=account, csrf=csrf) if account else Html("")
    links = nav_links(nav, current) if account else Html("")
    return render(_PAGE, title=title, nav=links, who=who, body=body)

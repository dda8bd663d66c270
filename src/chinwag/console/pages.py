"""The console's pages, in navigation order: adding a page is one line here."""

from __future__ import annotations

from chinwag.console import channel, channels, dashboard, deliveries, keys, services, users
from chinwag.console.layout import NavItem
from chinwag.console.page import Page

PAGES: tuple[Page, ...] = (
    services.PAGE,
    channels.PAGE,
    channel.PAGE,
    users.PAGE,
    deliveries.PAGE,
    keys.PAGE,
    dashboard.PAGE,
)

NAV: tuple[NavItem, ...] = tuple((p.nav, "/console" + p.href) for p in PAGES if p.nav is not None)

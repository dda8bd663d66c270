"""A dashboard per service: messages per hour and per day as charts, active channels, the
busiest channels of the day and the deliveries by outcome (numbers from `ops.stats`)."""

from __future__ import annotations

from starlette.responses import Response

from chinwag.console.chart import bar_chart
from chinwag.console.html import Html, join, render
from chinwag.console.page import Page
from chinwag.console.web import Visit, get, link
from chinwag.model.params import Form
from chinwag.ops.stats import COUNTED, ServiceStats, more_than, service_stats
from chinwag.resources.services import SERVICE

SERVICES_SHOWN = 200


async def pick_service(visit: Visit) -> Response:
    """The account's services, each linking to its dashboard."""
    form = Form([("PageSize", str(SERVICES_SHOWN))])
    outcome = await visit.perform(SERVICE, "list", "/v2/Services", form=form)
    assert outcome.listing is not None  # noqa: S101  (a list action has a listing)
    items = join(
        render(
            "<li><a href='{href}'>{name}</a> <span class=sid>{sid}</span></li>",
            href=link(f"/dashboard/{row['sid']}"),
            name=row["friendly_name"] or row["sid"],
            sid=row["sid"],
        )
        for row in outcome.listing.rows
    )
    body = render(
        "<h1>Dashboard</h1><p>Choose a service:</p><ul id=services>{items}</ul>",
        items=items or render("<li class=muted>No services yet.</li>"),
    )
    return visit.page("Dashboard", body)


def _charts(stats: ServiceStats) -> tuple[Html, Html]:
    hourly = [(f"{start:%H}:00", n) for start, n in stats.hourly]
    daily = [(f"{day:%m-%d}", n) for day, n in stats.daily]
    return (
        bar_chart(hourly, title="Messages per hour, last 24 hours (UTC)", label_every=3),
        bar_chart(daily, title="Messages per day, last 30 days (UTC)", label_every=5),
    )


def _deliveries(stats: ServiceStats) -> Html:
    return join(
        render(
            "<li class={status}><a href='{href}'>{status}</a>: <strong>{n}</strong></li>",
            status=status,
            href=link(f"/deliveries?status={status}&service={stats.service_sid}"),
            n=_count(n),
        )
        for status, n in stats.deliveries.items()
    )


def _count(n: int) -> str:
    """A count that stopped at its bound (`ops.stats.COUNTED`) reads "more than" it."""
    return f"more than {COUNTED:,}" if more_than(n) else f"{n:,}"


def _busiest(stats: ServiceStats) -> Html:
    rows = join(
        render(
            "<tr><td><a href='{href}'>{name}</a></td><td class=sid>{sid}</td><td>{n}</td></tr>",
            href=link(f"/services/{stats.service_sid}/channels/{c.sid}"),
            name=c.friendly_name or c.unique_name or c.sid,
            sid=c.sid,
            n=c.messages,
        )
        for c in stats.busiest
    )
    return rows or render("<tr><td colspan=3 class=muted>No messages today.</td></tr>")


async def show_dashboard(visit: Visit) -> Response:
    sid = visit.params["sid"]
    stats = await service_stats(visit.runtime, visit.account, sid)  # 404: not this account's
    hourly, daily = _charts(stats)
    body = render(
        "<h1>Dashboard: {name}</h1><p class=sid>{sid}</p>"
        "<dl class=cards id=numbers>"
        "<div><dt>Messages, 24 hours</dt><dd id=messages-day>{day}</dd></div>"
        "<div><dt>Messages, 30 days</dt><dd id=messages-month>{month}</dd></div>"
        "<div><dt>Channels</dt><dd id=channels>{channels}</dd></div>"
        "<div><dt>Active, 24 hours</dt><dd id=active-day>{active_day}</dd></div>"
        "<div><dt>Active, 7 days</dt><dd id=active-week>{active_week}</dd></div></dl>"
        "<h2>Messages per hour</h2><figure id=hourly>{hourly}</figure>"
        "<h2>Messages per day</h2><figure id=daily>{daily}</figure>"
        "<h2>Deliveries by outcome</h2><ul id=deliveries>{deliveries}</ul>"
        "<h2>Busiest channels, 24 hours</h2><table id=busiest><thead><tr><th>Channel</th>"
        "<th>SID</th><th>Messages</th></tr></thead><tbody>{busiest}</tbody></table>"
        "<p class=muted>As of {now} UTC. Active: with a message in the period. Deliveries "
        "count those kept (delivered 7 days, failed 30).</p>",
        name=stats.friendly_name or sid,
        sid=sid,
        day=stats.messages_day,
        month=stats.messages_month,
        channels=_count(stats.channels),
        active_day=stats.active_day,
        active_week=stats.active_week,
        hourly=hourly,
        daily=daily,
        deliveries=_deliveries(stats),
        busiest=_busiest(stats),
        now=f"{stats.now:%Y-%m-%d %H:%M}",
    )
    return visit.page(f"Dashboard: {stats.friendly_name or sid}", body)


PAGE = Page(
    "Dashboard",
    "/dashboard",
    (get("/dashboard", pick_service), get("/dashboard/{sid}", show_dashboard)),
)

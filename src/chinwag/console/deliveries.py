"""Webhook and push deliveries: pending, failed and delivered, by service and event; retry.

The rows come from `ops.deliveries`, always the signed-in account's. Retrying is a POST
(CSRF-checked like every console form) that puts failed deliveries back in the outbox, due at
once; the deliverer sends them as it sends any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.responses import RedirectResponse, Response

from chinwag import times
from chinwag.console.html import Html, join, render
from chinwag.console.page import Page
from chinwag.console.web import PREFIX, Visit, csrf_field, get, link, post
from chinwag.model.errors import NotFound
from chinwag.model.params import Form
from chinwag.ops import deliveries
from chinwag.ops.deliveries import STATUSES, DeliveryFilter
from chinwag.ops.paging import Page as RowsPage
from chinwag.ops.paging import PageRequest, page_request
from chinwag.resources import REGISTRY
from chinwag.resources.services import SERVICE

PAGE_MAX = 200
SERVICES_SHOWN = 200  # services offered in the filter (others can still be named in the URL)
# Every event the outbox may hold: each resource's post-events, the media message's, pushes.
EVENTS = sorted(
    {post for res in REGISTRY for _, post in res.events.values() if post}
    | {"onMediaMessageSent"}  # MessageRules.event_names: a message with media
    | {f"twilio.channel.{kind}" for res in REGISTRY for kind in res.push.values()}
)


def _filter(form: Form) -> DeliveryFilter:
    return DeliveryFilter(
        form.get("status") or "failed",
        form.get("service") or None,
        form.get("event") or None,
    )


def _query(which: DeliveryFilter, **extra: str) -> list[tuple[str, str]]:
    """The filter as query parameters (what the page links and forms carry along)."""
    pairs = [("status", which.status)]
    pairs += [("service", which.service_sid)] if which.service_sid else []
    pairs += [("event", which.event)] if which.event else []
    return pairs + list(extra.items())


def _href(which: DeliveryFilter, **extra: str) -> str:
    return link("/deliveries") + "?" + urlencode(_query(which, **extra))


async def _service_names(visit: Visit) -> dict[str, str]:
    form = Form([("PageSize", str(SERVICES_SHOWN))])
    outcome = await visit.perform(SERVICE, "list", "/v2/Services", form=form)
    assert outcome.listing is not None  # noqa: S101  (a list action has a listing)
    return {r["sid"]: r["friendly_name"] or r["sid"] for r in outcome.listing.rows}


def _tabs(which: DeliveryFilter) -> Html:
    return join(
        render(
            "<a href='{href}'{here}>{label}</a>",
            href=_href(DeliveryFilter(status, which.service_sid, which.event)),
            here=Html(" aria-current=page" if status == which.status else ""),
            label=status.capitalize(),
        )
        for status in STATUSES
    )


def _filter_form(which: DeliveryFilter, services: Mapping[str, str]) -> Html:
    options = join(
        render(
            "<option value='{sid}'{sel}>{name}</option>",
            sid=sid,
            name=name,
            sel=Html(" selected" if sid == which.service_sid else ""),
        )
        for sid, name in services.items()
    )
    events = join(render("<option value='{e}'>", e=e) for e in EVENTS)
    return render(
        "<form method=get action='{action}' class=row id=filter>"
        "<input type=hidden name=status value='{status}'>"
        "<label>Service <select name=service><option value=''>All services</option>"
        "{options}</select></label>"
        "<label>Event <input name=event list=events value='{event}' placeholder='any event'>"
        "</label><datalist id=events>{events}</datalist>"
        "<button type=submit>Filter</button></form>",
        action=link("/deliveries"),
        status=which.status,
        options=options,
        event=which.event or "",
        events=events,
    )


def _row(visit: Visit, row: Mapping[str, Any], services: Mapping[str, str]) -> Html:
    failed = row["status"] == "failed"
    retry = Html("")
    if failed:
        retry = render(
            "<form method=post action='{action}' class=inline>{csrf}"
            "<button type=submit>Retry</button></form>",
            action=link(f"/deliveries/{row['pk']}/retry"),
            csrf=csrf_field(visit),
        )
    due = times.render(row["next_attempt_at"]) if row["status"] in STATUSES["pending"] else ""
    return render(
        "<tr class='delivery {status}' data-pk='{pk}'>"
        "<td><a href='{detail}'>{created}</a></td><td>{service}</td><td>{kind}</td>"
        "<td>{event}</td><td class=url><code>{method} {url}</code></td>"
        "<td class=status>{status}</td><td>{attempts}</td><td class=http>{http}</td>"
        "<td class=error>{error}</td><td>{due}</td><td>{retry}</td></tr>",
        pk=row["pk"],
        detail=link(f"/deliveries/{row['pk']}"),
        created=times.render(row["date_created"]),
        service=services.get(row["service_sid"] or "", row["service_sid"] or ""),
        kind=row["kind"],
        event=row["event"],
        method=row["method"],
        url=row["url"],
        status=row["status"],
        attempts=row["attempts"],
        http=row["last_status"] if row["last_status"] is not None else "",
        error=row["last_error"] or "",
        due=due or "",
        retry=retry,
    )


def _pager(which: DeliveryFilter, request: PageRequest, rows: RowsPage) -> Html:
    """Newer/older links with the REST API's keyset tokens (newest first: PB goes back); a
    page filtered by event may name where the next one starts, even with no rows."""
    size = str(request.size)
    first = rows.previous_key if rows.previous_key is not None else None
    last = rows.next_key if rows.next_key is not None else None
    if rows.rows:
        first = rows.rows[0]["pk"] if first is None else first
        last = rows.rows[-1]["pk"] if last is None else last
    links = []
    if rows.has_previous and first is not None:
        href = _href(which, PageSize=size, PageToken=f"PB{first}")
        links.append(render("<a rel=prev href='{href}'>← Newer</a>", href=href))
    if rows.has_next and last is not None:
        href = _href(which, PageSize=size, PageToken=f"PA{last}")
        links.append(render("<a rel=next href='{href}'>Older →</a>", href=href))
    return render("<nav class=pager>{links}</nav>", links=join(links))


async def list_deliveries(visit: Visit) -> Response:
    which = _filter(visit.form)
    request = page_request(visit.form, PAGE_MAX)
    rows = await deliveries.list_deliveries(visit.runtime, visit.account, which, request)
    services = await _service_names(visit)
    notice = Html("")
    retried = visit.form.get("retried") or ""
    if retried.isdigit():  # set by the redirect after a retry
        notice = render("<p class=note role=status>Sent again: {n}.</p>", n=int(retried))
    retry_all = Html("")
    if which.status == "failed" and rows.rows:
        retry_all = render(
            "<form method=post action='{action}' class=row id=retry-all>{csrf}"
            "<input type=hidden name=service value='{service}'>"
            "<input type=hidden name=event value='{event}'>"
            "<button type=submit>Retry all failed{scope}</button></form>",
            action=link("/deliveries/retry"),
            csrf=csrf_field(visit),
            service=which.service_sid or "",
            event=which.event or "",
            scope=" of this filter" if which.service_sid or which.event else "",
        )
    body = render(
        "<h1>Deliveries</h1><nav class='pager tabs'>{tabs}</nav>{filter}{notice}{retry_all}"
        "<table id=deliveries><thead><tr><th>Created</th><th>Service</th><th>Kind</th>"
        "<th>Event</th><th>Target</th><th>Status</th><th>Attempts</th><th>HTTP</th>"
        "<th>Error</th><th>Next attempt</th><th></th></tr></thead><tbody>{rows}</tbody>"
        "</table>{pager}<p class=muted>Delivered webhooks and pushes are kept 7 days, failed "
        "ones 30 days.</p>",
        tabs=_tabs(which),
        filter=_filter_form(which, services),
        notice=notice,
        retry_all=retry_all,
        rows=join(_row(visit, r, services) for r in rows.rows)
        or render("<tr><td colspan=11 class=muted>No {s} deliveries.</td></tr>", s=which.status),
        pager=_pager(which, request, rows),
    )
    return visit.page("Deliveries", body)


async def show_delivery(visit: Visit) -> Response:
    pk = int(visit.params["pk"])
    found = await deliveries.get_delivery(visit.runtime, visit.account, pk)
    if found is None:
        raise NotFound(f"/deliveries/{pk}")
    fields = join(
        render("<tr><th>{name}</th><td>{value}</td></tr>", name=name, value=_shown(found[name]))
        for name in deliveries.COLUMNS
    )
    params = orjson.dumps(found["params"], option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    body = render(
        "<h1>Delivery {pk}</h1><p><a href='{back}'>All {status} deliveries</a></p>"
        "<table class=fields>{fields}</table><h2>Parameters</h2><pre class=params>{params}</pre>",
        pk=pk,
        back=_href(DeliveryFilter(_listed_as(found["status"]))),
        status=_listed_as(found["status"]),
        fields=fields,
        params=params.decode(),
    )
    return visit.page(f"Delivery {pk}", body)


def _listed_as(status: str) -> str:
    return next(name for name, statuses in STATUSES.items() if status in statuses)


def _shown(value: Any) -> Any:
    if hasattr(value, "year"):
        return times.render(value)
    return "" if value is None else value


def _back(visit: Visit, which: DeliveryFilter, retried: int) -> Response:
    """303 to the failed list of the same filter, saying how many were sent again."""
    href = PREFIX + "/deliveries?" + urlencode(_query(which, retried=str(retried)))
    return RedirectResponse(href, 303)


async def retry_one(visit: Visit) -> Response:
    pk = int(visit.params["pk"])
    retried = await deliveries.retry(visit.runtime, visit.account, pk)
    return _back(visit, DeliveryFilter("failed"), int(retried))


async def retry_all(visit: Visit) -> Response:
    form = visit.form
    which = DeliveryFilter("failed", form.get("service") or None, form.get("event") or None)
    retried = await deliveries.retry_failed(visit.runtime, visit.account, which)
    return _back(visit, which, retried)


PAGE = Page(
    "Deliveries",
    "/deliveries",
    (
        get("/deliveries", list_deliveries),
        get("/deliveries/{pk:int}", show_delivery),
        post("/deliveries/{pk:int}/retry", retry_one),
        post("/deliveries/retry", retry_all),
    ),
)

"""One channel: its messages (newest first, live), members with read positions, invites; post
or remove a message, add or remove a member, each through the operation REST would run."""

from __future__ import annotations

from starlette.responses import FileResponse, Response

from chinwag import times
from chinwag.console import live
from chinwag.console.html import Html, join, render
from chinwag.console.page import Page
from chinwag.console.paging import outcome_pager
from chinwag.console.services import service_nav
from chinwag.console.web import Visit, csrf_field, get, link, post, redirect, rows
from chinwag.context import Row
from chinwag.domain.consumption import unread
from chinwag.model.errors import ApiError
from chinwag.model.params import Form
from chinwag.ops import media
from chinwag.resources.channels import CHANNEL
from chinwag.resources.invites import INVITE
from chinwag.resources.media import MEDIA
from chinwag.resources.members import MEMBER
from chinwag.resources.messages import MESSAGE
from chinwag.resources.roles import ROLE

MESSAGES_PER_PAGE = 25
MEMBERS_SHOWN = 100

_POST = """<form method=post action='{action}' class='row post-message'>{csrf}
<label>As <input name=From value=system list=identities maxlength=256 required></label>
<label class=grow>Message <textarea name=Body rows=2 cols=50 required></textarea></label>
<label>Attributes <input name=Attributes placeholder='{{}}'></label>
<button type=submit>Post</button></form>
<datalist id=identities>{identities}</datalist>"""


def _paths(visit: Visit) -> tuple[str, dict[str, str]]:
    sid, ch = visit.params["sid"], visit.params["ch"]
    return f"/v2/Services/{sid}/Channels/{ch}", {"ServiceSid": sid, "ChannelSid": ch}


def _back_to_channel(visit: Visit) -> Response:
    """After a form's action: the channel's page again."""
    return redirect(f"/services/{visit.params['sid']}/channels/{visit.params['ch']}")


async def fetch_channel(visit: Visit) -> Row:
    base, params = _paths(visit)
    found = {"ServiceSid": params["ServiceSid"], "Sid": params["ChannelSid"]}
    outcome = await visit.perform(CHANNEL, "fetch", base, found)
    assert outcome.row is not None  # noqa: S101
    return outcome.row


def _media(service_sid: str, m: Row) -> Html:
    if not m["media_sid"]:
        return Html("")
    return render(
        "<p class=media><a href='{href}' download>{name}</a> <span class=muted>{type}, "
        "{size} bytes</span></p>",
        href=link(f"/services/{service_sid}/media/{m['media_sid']}"),
        name=m["media_filename"] or m["media_sid"],
        type=m["media_content_type"],
        size=m["media_size"],
    )


def _message(visit: Visit, m: Row) -> Html:
    base = link(f"/services/{visit.params['sid']}/channels/{visit.params['ch']}")
    return render(
        "<li class=message id='{sid}' data-index='{index}'><div class=meta>"
        "<strong class=author>{author}</strong> <time>{time}</time> "
        "<span class=muted>#{index}{edited}</span>"
        "<form method=post action='{remove}' class=inline data-confirm='Remove this message?'>"
        "{csrf}<button type=submit class=remove>Remove</button></form></div>"
        "<div class=body>{body}</div><div class='attributes muted'>{attributes}</div>{media}</li>",
        sid=m["sid"],
        index=m["index"],
        author=m["from"],
        time=times.render(m["date_created"]),
        edited=" · edited" if m["was_edited"] else "",
        remove=f"{base}/messages/{m['sid']}/delete",
        csrf=csrf_field(visit),
        body=m["body"] if m["body"] is not None else "",
        attributes="" if m["attributes"] in (None, "{}") else m["attributes"],
        media=_media(visit.params["sid"], m),
    )


def _member(visit: Visit, channel: Row, roles: dict[str, str], m: Row) -> Html:
    base = link(f"/services/{visit.params['sid']}/channels/{visit.params['ch']}")
    left = unread(m["last_consumed_message_index"], channel["message_counter"])
    return render(
        "<tr><td><a href='{user}'>{identity}</a></td><td>{role}</td><td>{read}</td>"
        "<td>{when}</td><td>{unread}</td><td>{joined}</td><td>"
        "<form method=post action='{remove}' class=inline data-confirm='Remove {identity}?'>"
        "{csrf}<button type=submit>Remove</button></form></td></tr>",
        user=link(f"/services/{visit.params['sid']}/users/{m['user_sid']}"),
        identity=m["identity"],
        role=roles.get(m["role_sid"], m["role_sid"]),
        read="" if m["last_consumed_message_index"] is None else m["last_consumed_message_index"],
        when=times.render(m["last_consumption_timestamp"]) or "",
        unread="" if left is None else left,
        joined=times.render(m["date_created"]),
        remove=f"{base}/members/{m['sid']}/delete",
        csrf=csrf_field(visit),
    )


def _invite(i: Row) -> Html:
    return render(
        "<tr><td>{identity}</td><td>{by}</td><td>{when}</td><td class=sid>{sid}</td></tr>",
        identity=i["identity"],
        by=i["created_by"],
        when=times.render(i["date_created"]),
        sid=i["sid"],
    )


def _details(channel: Row) -> Html:
    return render(
        "<dl class=details><dt>SID</dt><dd class=sid>{sid}</dd><dt>Unique name</dt><dd>{unique}"
        "</dd><dt>Type</dt><dd>{type}</dd><dt>Created by</dt><dd>{by}</dd><dt>Members</dt>"
        "<dd>{members}</dd><dt>Messages</dt><dd>{messages}</dd><dt>Attributes</dt>"
        "<dd><code>{attributes}</code></dd></dl>",
        sid=channel["sid"],
        unique=channel["unique_name"] or "",
        type=channel["type"],
        by=channel["created_by"],
        members=channel["members_count"],
        messages=channel["messages_count"],
        attributes=channel["attributes"],
    )


async def show_channel(visit: Visit) -> Response:
    sid, ch = visit.params["sid"], visit.params["ch"]
    base, params = _paths(visit)
    channel = await fetch_channel(visit)
    # The live stream starts where this page's reading starts: nothing falls in between.
    since = await live.position(visit.runtime, channel["service_sid"], channel["sid"])
    token = visit.form.get("PageToken")
    wanted = [("Order", "desc"), ("PageSize", str(MESSAGES_PER_PAGE))]
    query = Form([*wanted, ("PageToken", token)] if token else wanted)
    messages = await visit.perform(MESSAGE, "list", base + "/Messages", params, query)
    shown = Form([("PageSize", str(MEMBERS_SHOWN))])
    members = await visit.perform(MEMBER, "list", base + "/Members", params, shown)
    invites = await visit.perform(INVITE, "list", base + "/Invites", params, shown)
    service_path = f"/v2/Services/{channel['service_sid']}/Roles"
    found = await visit.perform(ROLE, "list", service_path, {"ServiceSid": sid}, shown)
    roles = {r["sid"]: str(r["friendly_name"]) for r in rows(found)}
    here = link(f"/services/{sid}/channels/{ch}")
    # Live only on the newest page; an older page stays as it was.
    events = "" if visit.form.get("PageToken") else f"{here}/events"
    body = render(
        "<h1>{name}</h1>{nav}{details}<h2>Messages <span class=live id=live-state></span></h2>"
        "{post}<p class='typing muted' id=typing aria-live=polite></p>"
        "<ol class=messages id=messages data-events='{events}' data-since='{since}' "
        "data-base='{here}' data-csrf='{csrf}'>{messages}</ol>{pager}"
        "<h2>Members</h2><form method=post action='{here}/members' class=row>{csrf_field}"
        "<label>Identity <input name=Identity required maxlength=256></label>"
        "<button type=submit>Add member</button></form>"
        "<table class=members><thead><tr><th>Identity</th><th>Role</th><th>Read up to</th>"
        "<th>Read at</th><th>Unread</th><th>Joined</th><th></th></tr></thead>"
        "<tbody>{members}</tbody></table>"
        "<h2>Invites</h2><table><thead><tr><th>Identity</th><th>Invited by</th><th>When</th>"
        "<th>SID</th></tr></thead><tbody>{invites}</tbody></table>",
        name=channel["friendly_name"] or channel["unique_name"] or ch,
        nav=service_nav(messages.context.parent("service"), ""),
        details=_details(channel),
        post=render(
            _POST,
            action=f"{here}/messages",
            csrf=csrf_field(visit),
            identities=join(render("<option value='{i}'>", i=m["identity"]) for m in rows(members)),
        ),
        events=events,
        since=since,
        here=here,
        csrf=visit.csrf,
        csrf_field=csrf_field(visit),
        messages=join(_message(visit, m) for m in rows(messages)),
        pager=outcome_pager(messages, here),
        members=join(_member(visit, channel, roles, m) for m in rows(members))
        or render("<tr><td colspan=7 class=muted>No members.</td></tr>"),
        invites=join(_invite(i) for i in rows(invites))
        or render("<tr><td colspan=4 class=muted>No invites.</td></tr>"),
    )
    return visit.page(str(channel["friendly_name"] or ch), body)


def _form(visit: Visit, *names: str) -> Form:
    """The posted parameters an operation takes (the CSRF token is not one of them)."""
    return Form((n, v) for n in names for v in visit.form.getlist(n) if v != "")


async def post_message(visit: Visit) -> Response:
    base, params = _paths(visit)
    form = _form(visit, "From", "Body", "Attributes")
    await visit.perform(MESSAGE, "create", base + "/Messages", params, form)
    return _back_to_channel(visit)


async def remove_message(visit: Visit) -> Response:
    base, params = _paths(visit)
    im = visit.params["im"]
    await visit.perform(MESSAGE, "delete", f"{base}/Messages/{im}", {**params, "Sid": im})
    return _back_to_channel(visit)


async def add_member(visit: Visit) -> Response:
    base, params = _paths(visit)
    await visit.perform(MEMBER, "create", base + "/Members", params, _form(visit, "Identity"))
    return _back_to_channel(visit)


async def remove_member(visit: Visit) -> Response:
    base, params = _paths(visit)
    mb = visit.params["mb"]
    await visit.perform(MEMBER, "delete", f"{base}/Members/{mb}", {**params, "Sid": mb})
    return _back_to_channel(visit)


async def media_content(visit: Visit) -> Response:
    """A message's media, always as a download: a file's own type never runs in the console."""
    sid, me = visit.params["sid"], visit.params["me"]
    path = f"/v1/Services/{sid}/Media/{me}"
    params = {"ServiceSid": sid, "Sid": me}
    outcome = await visit.perform(MEDIA, "fetch", path, params, version="v1")
    assert outcome.row is not None  # noqa: S101
    file = media.content_path(visit.runtime, outcome.row["sid"])
    if not file.exists():
        raise ApiError(404, 20404, f"The content of media {me} is missing")
    response = FileResponse(
        file, media_type="application/octet-stream", filename=outcome.row["filename"] or me
    )
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


_ONE = "/services/{sid}/channels/{ch}"
PAGE = Page(
    None,
    "/services",
    (
        get(_ONE, show_channel),
        get(_ONE + "/events", live.events),
        post(_ONE + "/messages", post_message),
        post(_ONE + "/messages/{im}/delete", remove_message),
        post(_ONE + "/members", add_member),
        post(_ONE + "/members/{mb}/delete", remove_member),
        get("/services/{sid}/media/{me}", media_content),
    ),
)

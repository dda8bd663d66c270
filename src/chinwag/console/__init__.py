"""The web console at /console: the third front door, for people (REST and the SDK are the others).

Server-rendered HTML (console/html.py escapes every value), a signed session cookie
(console/session.py), CSRF on every POST, and writes only through `ops.actions.perform`.

How to add a page
-----------------
1. Write `src/chinwag/console/<name>.py`:

       from starlette.responses import Response
       from chinwag.console.html import render, join
       from chinwag.console.page import Page
       from chinwag.console.web import Visit, get, post, redirect, csrf_field, link

       async def show(visit: Visit) -> Response:           # signed in: visit.account
           outcome = await visit.perform(SERVICE, "list", "/v2/Services", form=visit.form)
           body = render("<h1>{title}</h1>", title="Mine")  # every value is escaped
           return visit.page("Mine", body)                  # the layout with the navigation

       async def act(visit: Visit) -> Response:            # CSRF already checked
           await visit.perform(RES, "create", path, params, form)
           return redirect("/mine")                        # 303 back to a GET page

       PAGE = Page("Mine", "/mine", (get("/mine", show), post("/mine", act)))

   Forms must include `csrf_field(visit)`. Paths are relative to /console; `link(path)`
   makes an href. Path parameters are in `visit.params`, the query (GET) or the posted form
   (POST) in `visit.form`. An `ApiError` raised by `visit.perform` becomes an error page
   (another account's SID: 404). Use `Page(None, ...)` for routes outside the navigation.
2. Add `<name>.PAGE` to `PAGES` in `console/pages.py` (its place there is its place in the
   navigation). That is all: `console/routes.py` mounts every page's routes.

Reads the REST API has no list for (deliveries, statistics) may query the store directly, in
`runtime.db.read()`, always filtered by `visit.account.sid`; writes go through an operation.
"""

"""The `chinwag` command: serve, migrate, backup and restore, accounts, keys and events."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn

from chinwag import logsetup
from chinwag.events import outbox
from chinwag.realtime.framing import MAX_FRAME
from chinwag.resources import TABLES
from chinwag.settings import DEFAULT_DATABASE, Settings
from chinwag.store import accounts
from chinwag.store import backup as copies
from chinwag.store.db import Connection, Database
from chinwag.store.migrate import upgrade

app = typer.Typer(no_args_is_help=True, help="A self-hosted Twilio Programmable Chat server.")
accounts_app = typer.Typer(no_args_is_help=True, help="Manage accounts.")
keys_app = typer.Typer(no_args_is_help=True, help="Manage API keys.")
app.add_typer(accounts_app, name="accounts")
events_app = typer.Typer(no_args_is_help=True, help="Inspect and retry webhook deliveries.")
app.add_typer(keys_app, name="keys")
app.add_typer(events_app, name="events")

T = TypeVar("T")

DatabaseOption = Annotated[
    str,
    typer.Option(
        "--database", envvar="CHINWAG_DATABASE", help="sqlite:///path or postgresql://..."
    ),
]


def _with_database(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Migrate, then run `work` on the database."""
    upgrade(url)

    async def run() -> T:
        db = Database(url)
        try:
            await db.measure_clock()  # what a command writes is dated as the servers date it
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())


def _with_db(url: str, work: Callable[[Connection], Awaitable[T]]) -> T:
    """Migrate, then run `work` in one write transaction."""

    async def run(db: Database) -> T:
        async with db.write() as conn:
            return await work(conn)

    return _with_database(url, run)


def _or_exit(work: Callable[[], T]) -> T:
    """`work()`; if it refuses (ValueError), its reason on stderr and exit status 1."""
    try:
        return work()
    except ValueError as exc:
        typer.echo(f"chinwag: {exc}", err=True)
        raise typer.Exit(code=1) from None


def _bootstrap_account(url: str) -> None:
    """The account from TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN, or a first one, printed once."""
    sid, token = os.environ.get("TWILIO_ACCOUNT_SID"), os.environ.get("TWILIO_AUTH_TOKEN")

    async def work(conn: Connection) -> tuple[accounts.Account | None, list[str]]:
        if sid and token:
            await accounts.ensure_account(conn, TABLES, sid, token)
            return None, [sid]
        existing = await accounts.list_accounts(conn, TABLES)
        if existing:
            return None, [a.sid for a in existing]
        return await accounts.create_account(conn, TABLES), []

    created, known = _or_exit(lambda: _with_db(url, work))
    if created:
        typer.echo("Created an account. Use these credentials with the Twilio client:")
        typer.echo(f"  TWILIO_ACCOUNT_SID={created.sid}")
        typer.echo(f"  TWILIO_AUTH_TOKEN={created.auth_token}")
    elif not (sid and token):
        typer.echo(f"Accounts: {', '.join(known)} (tokens: chinwag accounts list --show-tokens)")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(envvar="CHINWAG_HOST", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="CHINWAG_PORT", help="Port to listen on.")] = 8000,
    database: DatabaseOption = DEFAULT_DATABASE,
    public_url: Annotated[
        str | None,
        typer.Option(
            envvar="CHINWAG_PUBLIC_URL", help="Base of url/links (default: the request's)."
        ),
    ] = None,
    sqlite_synchronous: Annotated[
        str,
        typer.Option(
            envvar="CHINWAG_SQLITE_SYNCHRONOUS",
            help="NORMAL survives a crash of the server; FULL also a power loss.",
        ),
    ] = "NORMAL",
    log_format: Annotated[
        str, typer.Option(envvar="CHINWAG_LOG_FORMAT", help="text or json.")
    ] = "text",
    media_dir: Annotated[
        str | None,
        typer.Option(
            envvar="CHINWAG_MEDIA_DIR",
            help="Where media files live (default: beside the SQLite file).",
        ),
    ] = None,
    media_max_mb: Annotated[
        int, typer.Option(envvar="CHINWAG_MEDIA_MAX_MB", min=1, help="Largest media upload, in MB.")
    ] = 150,
    rest_webhooks: Annotated[
        str,
        typer.Option(
            envvar="CHINWAG_REST_WEBHOOKS",
            help="twilio: post-events only with X-Twilio-Webhook-Enabled: true; "
            "post: every REST action raises post-events; all: pre-events too.",
        ),
    ] = "twilio",
    webhook_timeout: Annotated[
        float,
        typer.Option(envvar="CHINWAG_WEBHOOK_TIMEOUT", min=0.1, help="Seconds a webhook may take."),
    ] = 5.0,
    webhook_backoff: Annotated[
        float,
        typer.Option(
            envvar="CHINWAG_WEBHOOK_BACKOFF",
            min=0.0,
            help="Seconds before the first retry; doubles.",
        ),
    ] = 1.0,
    push_gateway_url: Annotated[
        str | None,
        typer.Option(
            envvar="CHINWAG_PUSH_GATEWAY_URL",
            help="Receives a signed JSON POST per push notification.",
        ),
    ] = None,
    rate_limits: Annotated[
        str,
        typer.Option(
            envvar="CHINWAG_RATE_LIMITS",
            help="off, or twilio: Twilio's Chat limits of 30 writes per second per channel "
            "and per service, averaged over 5 s (429 beyond).",
        ),
    ] = "off",
    console: Annotated[
        bool,
        typer.Option(
            "--console/--no-console",
            envvar="CHINWAG_CONSOLE",
            help="Serve the web console at /console.",
        ),
    ] = True,
    reachability_lease: Annotated[
        float,
        typer.Option(
            envvar="CHINWAG_REACHABILITY_LEASE",
            min=1.0,
            help="Seconds the SDK connections of a server process that stopped (kill -9) keep "
            "their users online; its heartbeat renews it every third of that.",
        ),
    ] = 30.0,
    workers: Annotated[
        int,
        typer.Option(
            envvar="CHINWAG_WORKERS", min=1, help="Server processes (one per core for throughput)."
        ),
    ] = 1,
    pg_connections: Annotated[
        int,
        typer.Option(
            envvar="CHINWAG_PG_CONNECTIONS",
            min=2,
            help="PostgreSQL connections each server process opens at most (requests beyond "
            "wait for one), besides one for real-time notifications.",
        ),
    ] = 20,
    demo: Annotated[
        bool,
        typer.Option(
            envvar="CHINWAG_DEMO",
            help="Serve the demo chat page at /demo, with a token endpoint open to anyone "
            "(for trying chinwag out; never where strangers can connect).",
        ),
    ] = False,
) -> None:
    """Apply migrations, make sure an account exists, and serve the Chat REST API."""
    if sqlite_synchronous.upper() not in ("NORMAL", "FULL"):
        raise typer.BadParameter("must be NORMAL or FULL", param_hint="--sqlite-synchronous")
    if log_format not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--log-format")
    if rest_webhooks not in ("twilio", "post", "all"):
        raise typer.BadParameter("must be twilio, post or all", param_hint="--rest-webhooks")
    if rate_limits not in ("off", "twilio"):
        raise typer.BadParameter("must be off or twilio", param_hint="--rate-limits")
    settings = Settings(
        host=host,
        port=port,
        database=database,
        public_url=public_url,
        sqlite_synchronous=sqlite_synchronous.upper(),
        log_format=log_format,
        media_dir=media_dir,
        media_max_mb=media_max_mb,
        rest_webhooks=rest_webhooks,
        webhook_timeout=webhook_timeout,
        webhook_backoff=webhook_backoff,
        push_gateway_url=push_gateway_url,
        rate_limits=rate_limits,
        console=console,
        demo=demo,
        reachability_lease=reachability_lease,
        pg_connections=pg_connections,
    )
    logsetup.configure(log_format)
    _bootstrap_account(database)
    from chinwag.api.malformed import TwilioShapedHttp
    from chinwag.app import SETTINGS_VARIABLE, build_app
    from chinwag.realtime.handshake import TwilioShapedWebSockets

    typer.echo(f"chinwag serving http://{host}:{port} on {database}")
    if console:
        typer.echo(
            f"console: http://{host}:{port}/console (sign in with the account SID and token)"
        )
    if demo:
        typer.echo(f"demo: open http://{host}:{port}/demo (anyone who can reach it gets a token)")
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,
        "log_config": None,  # uvicorn's own lines go through our handler (text or JSON)
        "log_level": "warning",
        "timeout_graceful_shutdown": 10,
        "http": TwilioShapedHttp,  # its 400 for malformed HTTP is JSON, as every other error
        # The client SDK's socket: WebSocket pings find dead peers (twilsock has no pings of
        # its own); larger messages are refused (closed with 1009) before they are buffered.
        "ws": TwilioShapedWebSockets,  # websockets-sansio, its refusals in Twilio's body
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "ws_max_size": MAX_FRAME + 1024,
    }
    if workers == 1:
        uvicorn.run(build_app(settings), **options)
        return
    # Each worker process builds its own app: database pools, webhook deliverer, metrics.
    os.environ[SETTINGS_VARIABLE] = json.dumps(dataclasses.asdict(settings))
    uvicorn.run("chinwag.app:from_environment", factory=True, workers=workers, **options)


@app.command()
def migrate(database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """Apply pending migrations without serving."""
    upgrade(database)
    typer.echo(f"migrated {database}")


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="The new file to write the copy to.")],
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Copy a SQLite database while servers run on it, as of one commit (PostgreSQL: pg_dump)."""
    source = _or_exit(lambda: copies.sqlite_path(database))
    size = _or_exit(lambda: copies.backup(source, dest))
    typer.echo(f"copied {source} to {dest} ({size:,} bytes)")


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="A copy made by `chinwag backup`.")],
    database: DatabaseOption = DEFAULT_DATABASE,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask first.")] = False,
) -> None:
    """Replace a SQLite database with a copy made by `chinwag backup`. Stop its servers first."""
    target = _or_exit(lambda: copies.sqlite_path(database))
    if not yes:
        typer.confirm(
            f"Replace everything in {target} with {source}? Every server on it must be stopped",
            abort=True,
        )
    size = _or_exit(lambda: copies.restore(source, target))
    typer.echo(f"restored {target} from {source} ({size:,} bytes)")


@accounts_app.command("create")
def accounts_create(
    database: DatabaseOption = DEFAULT_DATABASE,
    friendly_name: Annotated[str, typer.Option(help="A name for the account.")] = "chinwag",
) -> None:
    """Create an account and print its SID and auth token."""
    account = _with_db(database, lambda c: accounts.create_account(c, TABLES, friendly_name))
    typer.echo(f"{account.sid} {account.auth_token}")


@accounts_app.command("list")
def accounts_list(
    database: DatabaseOption = DEFAULT_DATABASE,
    show_tokens: Annotated[
        bool, typer.Option("--show-tokens", help="Also print each auth token.")
    ] = False,
) -> None:
    """List accounts: SID and name (and auth token, when asked)."""
    for account in _with_db(database, lambda c: accounts.list_accounts(c, TABLES)):
        token = f" {account.auth_token}" if show_tokens else ""
        typer.echo(f"{account.sid} {account.friendly_name}{token}")


@keys_app.command("create")
def keys_create(
    account: Annotated[str, typer.Option(help="The account SID (AC...) the key belongs to.")],
    database: DatabaseOption = DEFAULT_DATABASE,
    friendly_name: Annotated[str, typer.Option(help="A name for the key.")] = "",
) -> None:
    """Create an API key; its secret is printed once and never again."""

    async def work(conn: Connection) -> accounts.ApiKey | None:
        if await accounts.get_account(conn, TABLES, account) is None:
            return None
        return await accounts.create_key(conn, TABLES, account, friendly_name)

    key = _with_db(database, work)
    if key is None:
        typer.echo(f"chinwag: no account {account}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"{key.sid} {key.secret}")


@keys_app.command("list")
def keys_list(
    database: DatabaseOption = DEFAULT_DATABASE,
    account: Annotated[str | None, typer.Option(help="Only this account's keys.")] = None,
) -> None:
    """List API keys (SID, account, name); keys that cannot sign access tokens say so."""
    for key in _with_db(database, lambda c: accounts.list_keys(c, TABLES, account)):
        note = (
            ""
            if key.can_sign
            else " (cannot sign access tokens: made before chinwag kept secrets; re-create it)"
        )
        typer.echo(f"{key.sid} {key.account_sid} {key.friendly_name}{note}")


@keys_app.command("delete")
def keys_delete(
    sid: Annotated[str, typer.Argument(help="The key SID (SK...).")],
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Delete an API key; it stops working at once."""
    if not _with_db(database, lambda c: accounts.delete_key(c, TABLES, sid)):
        typer.echo(f"chinwag: no key {sid}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"deleted {sid}")


@events_app.command("list")
def events_list(
    database: DatabaseOption = DEFAULT_DATABASE,
    status: Annotated[
        str | None, typer.Option(help="pending, sending, delivered or failed.")
    ] = None,
    service: Annotated[str | None, typer.Option(help="Only this service's (IS...).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 100,
) -> None:
    """List webhook and push deliveries, newest first."""
    rows = _with_db(database, lambda c: outbox.listing(c, TABLES, status, service, limit))
    for row in rows:
        error = f" {row['last_error']}" if row["last_error"] else ""
        typer.echo(
            f"{row['pk']} {row['status']} {row['kind']} {row['event']} {row['method']} "
            f"{row['url']} attempts={row['attempts']}{error}"
        )


@events_app.command("retry")
def events_retry(
    event_id: Annotated[int | None, typer.Argument(help="The delivery's number.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Retry every failed delivery.")] = False,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Send failed deliveries again (a running server picks them up within a second)."""
    if event_id is None and not failed:
        raise typer.BadParameter("give an ID or --failed")
    if failed:  # a batch a transaction: a running server's writes go on meanwhile
        count = _with_database(database, lambda db: outbox.requeue_failed(db, TABLES))
    else:
        o = TABLES.outbox
        count = _with_db(database, lambda c: outbox.requeue(c, TABLES, o.c.pk == event_id))
    typer.echo(f"requeued {count}")
    if count == 0 and not failed:
        raise typer.Exit(code=1)


def main() -> None:
    app()

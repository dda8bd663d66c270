"""The bare stack: what one server process of Starlette + uvicorn can do for a message create,
with none of chinwag's machinery. A yardstick for bench/, measured side by side in the same run.

Origin: a copy of `../shared/bench/bare_create.py`, the yardstick issue 10 measures chinwag
against, kept here so that `make bench` runs it from a plain clone; only the formatting (ruff)
and this paragraph differ. `bench/servers.py` starts it under uvicorn on a free port of
127.0.0.1, with a SQLite file in the bench's temporary directory or a fresh PostgreSQL database.

Per request: Basic auth compared with one string, the form parsed, one transaction (the channel's
counter UPDATE ... RETURNING, the message INSERT), a Twilio-shaped JSON body with orjson.

    BARE_DATABASE=sqlite:///bare.db uvicorn bare_create:app --port 8099 --no-access-log
    BARE_DATABASE=postgresql://postgres@127.0.0.1:5432/bare uvicorn bare_create:app --port 8099 --no-access-log
    curl -u AC1:tok -d Body=hi http://127.0.0.1:8099/v1/Services/IS1/Channels/CH1/Messages

SQLite runs with WAL and synchronous=NORMAL, the statements straight on the event loop (each takes
microseconds); PostgreSQL through an asyncpg pool. Any path of that shape is answered.
"""

import base64
import contextlib
import os
import secrets
import sqlite3
import time
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

URL = os.environ.get("BARE_DATABASE", "sqlite:///bare.db")
AUTH = "Basic " + base64.b64encode(b"AC1:tok").decode()
SCHEMA = [
    "create table if not exists ch(sid text primary key, counter int, cnt int, last text)",
    "create table if not exists msg(pk {pk}, sid text unique, ch text, idx int, body text,"
    " frm text, attrs text, created text, updated text)",
    "create index if not exists msg_ch on msg(ch, idx)",
]
BUMP = "update ch set counter=counter+1, cnt=cnt+1, last={p1} where sid={p2} returning counter"
INSERT = (
    "insert into msg(sid,ch,idx,body,frm,attrs,created,updated)"
    " values({p1},{p2},{p3},{p4},{p5},{p6},{p7},{p8})"
)
state: dict = {}


def sqlite_params(sql: str) -> str:
    return sql.format(**{f"p{i}": "?" for i in range(1, 9)})


def pg_params(sql: str) -> str:
    return sql.format(**{f"p{i}": f"${i}" for i in range(1, 9)})


async def startup() -> None:
    if URL.startswith("sqlite"):
        db = sqlite3.connect(URL.split("///", 1)[1], isolation_level=None, check_same_thread=False)
        db.execute("pragma journal_mode=wal")
        db.execute("pragma synchronous=normal")
        for sql in SCHEMA:
            db.execute(sql.format(pk="integer primary key"))
        db.execute("insert or ignore into ch values('CH1',0,0,null)")
        state["sqlite"] = db
    else:
        import asyncpg

        pool = await asyncpg.create_pool(URL, min_size=4, max_size=16)
        async with pool.acquire() as conn:
            for sql in SCHEMA:
                await conn.execute(sql.format(pk="bigserial primary key"))
            await conn.execute("insert into ch values('CH1',0,0,null) on conflict do nothing")
        state["pg"] = pool


async def store(sid: str, form: dict, now: str) -> int:
    row = (sid, "CH1")
    if "sqlite" in state:
        db = state["sqlite"]
        db.execute("begin immediate")
        idx = db.execute(sqlite_params(BUMP), row).fetchone()[0] - 1
        db.execute(
            sqlite_params(INSERT),
            (sid, "CH1", idx, form.get("Body"), form.get("From", "system"), "{}", now, now),
        )
        db.execute("commit")
        return idx
    async with state["pg"].acquire() as conn, conn.transaction():
        idx = await conn.fetchval(pg_params(BUMP), *row) - 1
        await conn.execute(
            pg_params(INSERT),
            sid,
            "CH1",
            idx,
            form.get("Body"),
            form.get("From", "system"),
            "{}",
            now,
            now,
        )
        return idx


async def create(request):
    if request.headers.get("authorization") != AUTH:
        return Response(b'{"code":20003,"status":401}', 401, media_type="application/json")
    form = dict(parse_qsl((await request.body()).decode()))
    sid = "IM" + secrets.token_hex(16)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    idx = await store(sid, form, now)
    body = {
        "sid": sid,
        "account_sid": "AC1",
        "service_sid": "IS1",
        "to": "CH1",
        "channel_sid": "CH1",
        "index": idx,
        "body": form.get("Body"),
        "from": form.get("From", "system"),
        "attributes": "{}",
        "was_edited": False,
        "date_created": now,
        "date_updated": now,
        "url": f"{request.url}/{sid}",
    }
    return Response(orjson.dumps(body), 201, media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app):
    await startup()
    yield


app = Starlette(
    routes=[Route("/v1/Services/{service}/Channels/{channel}/Messages", create, methods=["POST"])],
    lifespan=lifespan,
)

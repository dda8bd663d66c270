"""Fixtures of the webhooks and push suite: a real HTTP receiver and chinwag servers of its own.

The receiver is a ThreadingHTTPServer on 127.0.0.1 that records every request as it arrives
(method, the full URL it was sent to, headers, raw body, form pairs) and answers each path as a
test scripts it: a queue of replies consumed in order, then a default. Signatures are checked
with the official `twilio.request_validator.RequestValidator`.

Every module gets chinwag servers of its own, each on a fresh database of each kind (a server's
deliverer claims every delivery in its database, so sharing the session server's database would
let it steal ours). PostgreSQL skips without a server, except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.conftest import make_client
from tests.support.databases import require_postgresql
from tests.support.servers import (
    Server,
    pg_create_database,
    pg_drop_database,
)

T = TypeVar("T")

WAIT = 10.0  # seconds any single wait may take
POLL = 0.02


def wait_for(predicate: Callable[[], T], timeout: float = WAIT, what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy (returned), for at most `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(POLL)


# --- the receiver -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """How the receiver answers one request: status, a delay first, a body (JSON unless text)."""

    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes -> sent as they are
    delay: float = 0.0
    probe: Callable[[], Any] | None = None  # run when the request arrives; kept on the Hit


class FormParams:
    """Form pairs as RequestValidator wants them: a MultiDict of str values (`getlist`)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.pairs = list(pairs)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self.pairs))

    def __len__(self) -> int:
        return len(self.pairs)

    def getlist(self, name: str) -> list[str]:
        return [value for n, value in self.pairs if n == name]


@dataclass(frozen=True)
class Hit:
    """One request as the receiver got it."""

    method: str
    url: str  # http://127.0.0.1:{port}{path and query}, exactly as requested
    path: str  # without the query
    headers: dict[str, str]  # lower-case names
    body: bytes
    pairs: list[tuple[str, str]]  # the form body (POST) or the query (GET)
    at: float  # time.monotonic() on arrival
    status: int  # what the receiver answered
    probe: Any = None

    @property
    def params(self) -> dict[str, str]:
        names = [name for name, _ in self.pairs]
        assert len(names) == len(set(names)), f"repeated parameters: {self.pairs}"
        return dict(self.pairs)

    @property
    def event(self) -> str | None:
        return self.params.get("EventType")

    @property
    def token(self) -> str | None:
        return self.headers.get("i-twilio-idempotency-token")

    @property
    def is_json(self) -> bool:
        return self.headers.get("content-type", "").startswith("application/json")

    def json(self) -> Any:
        return json.loads(self.body)

    def signed_by(self, auth_token: str) -> bool:
        """Whether X-Twilio-Signature validates, as a Twilio receiver would check it."""
        signature = self.headers.get("x-twilio-signature")
        if not signature:
            return False
        validator = RequestValidator(auth_token)
        if self.is_json:
            return bool(validator.validate(self.url, self.body.decode(), signature))
        if self.method == "GET":
            return bool(validator.validate(self.url, {}, signature))
        return bool(validator.validate(self.url, FormParams(self.pairs), signature))


class _Http(ThreadingHTTPServer):
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a sender that gave up (a timeout) closes the socket under a delayed reply


class _Handler(BaseHTTPRequestHandler):
    server: _Http

    def _any(self) -> None:
        self.server.receiver.handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """A real HTTP server in a thread that records requests and answers as scripted."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._queued: dict[str, list[Reply]] = {}
        self._default: dict[str, Reply] = {}
        self._closing = threading.Event()
        self._http = _Http(("127.0.0.1", 0), _Handler)
        self._http.receiver = self
        self.port = int(self._http.server_address[1])
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, path: str, *replies: Reply, then: Reply | None = None) -> None:
        """Answer `path` with `replies` in order, then with `then` (200 if never set)."""
        with self._lock:
            self._queued[path] = list(replies)
            if then is not None:
                self._default[path] = then

    def at(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path == path]

    def _next(self, path: str) -> Reply:
        with self._lock:
            queued = self._queued.get(path)
            if queued:
                return queued.pop(0)
            return self._default.get(path, Reply())

    def handle(self, h: _Handler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        split = urlsplit(h.path)
        content_type = h.headers.get("Content-Type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            pairs = parse_qsl(body.decode(), keep_blank_values=True)
        elif h.command == "GET":
            pairs = parse_qsl(split.query, keep_blank_values=True)
        else:
            pairs = []
        arrived = time.monotonic()
        reply = self._next(split.path)
        probe = reply.probe() if reply.probe is not None else None
        hit = Hit(
            method=h.command,
            url=self.url(h.path),
            path=split.path,
            headers={name.lower(): value for name, value in h.headers.items()},
            body=body,
            pairs=pairs,
            at=arrived,
            status=reply.status,
            probe=probe,
        )
        with self._lock:
            self.hits.append(hit)
        if reply.delay:
            self._closing.wait(reply.delay)
        if reply.body is None:
            payload, media = b"", "text/plain"
        elif isinstance(reply.body, bytes | str):
            payload = reply.body if isinstance(reply.body, bytes) else reply.body.encode()
            media = "text/plain"
        else:
            payload, media = json.dumps(reply.body).encode(), "application/json"
        try:
            h.send_response(reply.status)
            h.send_header("Content-Type", media)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except OSError:
            pass  # the sender stopped waiting

    def close(self) -> None:
        self._closing.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)


@dataclass
class Hooks:
    """One test's paths on the receiver: `url("post")`, `hits("post")`, `wait("post", 3)`."""

    receiver: Receiver
    prefix: str

    def path(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def url(self, name: str) -> str:
        return self.receiver.url(self.path(name))

    def reply(self, name: str, *replies: Reply, then: Reply | None = None) -> None:
        self.receiver.reply(self.path(name), *replies, then=then)

    def hits(self, name: str) -> list[Hit]:
        return self.receiver.at(self.path(name))

    def events(self, name: str) -> list[str | None]:
        return [hit.event for hit in self.hits(name)]

    def wait(
        self,
        name: str,
        count: int,
        timeout: float = WAIT,
        where: Callable[[Hit], bool] = lambda hit: True,
    ) -> list[Hit]:
        """The hits at `name` (matching `where`) once there are at least `count` of them."""

        def enough() -> list[Hit]:
            found = [hit for hit in self.hits(name) if where(hit)]
            return found if len(found) >= count else []

        try:
            return wait_for(enough, timeout, f"{count} request(s) at {self.path(name)}")
        except AssertionError as exc:
            seen = [(hit.method, hit.event, hit.status) for hit in self.hits(name)]
            raise AssertionError(f"{exc}; got {seen}") from None


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture
def hooks(receiver: Receiver) -> Hooks:
    """Paths on the receiver that no other test uses."""
    return Hooks(receiver, f"/t-{secrets.token_hex(6)}")


# --- chinwag servers -------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    """One line of `chinwag events list`."""

    id: int
    status: str
    kind: str
    event: str
    method: str
    url: str
    attempts: int
    error: str | None


def parse_outbox(output: str) -> list[OutboxRow]:
    rows = []
    for line in output.splitlines():
        pk, status, kind, event, method, url, rest = line.split(" ", 6)
        attempts, _, error = rest.partition(" ")
        assert attempts.startswith("attempts="), line
        rows.append(
            OutboxRow(
                int(pk),
                status,
                kind,
                event,
                method,
                url,
                int(attempts.removeprefix("attempts=")),
                error or None,
            )
        )
    return rows


@dataclass
class Chinwag:
    """A running `chinwag serve` of the test's own, with the official client pointed at it."""

    server: Server
    client: Client

    @property
    def chat(self) -> Any:
        return self.client.chat.v1

    @property
    def chat2(self) -> Any:
        return self.client.chat.v2

    @property
    def token(self) -> str:
        return self.server.auth_token

    @property
    def auth(self) -> tuple[str, str]:
        return (self.server.account_sid, self.server.auth_token)

    @property
    def url(self) -> str:
        return self.server.url

    def new_service(self, **updates: Any) -> Any:
        """A new service (v1), updated with `updates` (v1 parameters) if any."""
        svc = self.chat.services.create(friendly_name=f"events-{secrets.token_hex(4)}")
        if updates:
            svc = self.chat.services(svc.sid).update(**updates)
        return svc

    def outbox(self, *, status: str | None = None, service: str | None = None) -> list[OutboxRow]:
        """`chinwag events list`, parsed, newest first."""
        args = ["events", "list", "--limit", "10000"]
        if status:
            args += ["--status", status]
        if service:
            args += ["--service", service]
        return parse_outbox(self.server.cli(*args))

    def post(self, path: str, **data: Any) -> requests.Response:
        return requests.post(self.url + path, data=data, auth=self.auth, timeout=30)

    def log(self) -> str:
        assert self.server.log_path is not None
        return self.server.log_path.read_text()


class Cluster:
    """Fresh databases of one kind and chinwag servers on them; all gone at teardown."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.tmp = tmp
        self.servers: list[Server] = []
        self.databases: list[str] = []

    def database(self) -> str:
        """A fresh, empty database of the cluster's kind."""
        if self.kind == "sqlite":
            url = f"sqlite:///{self.tmp / f'events-{secrets.token_hex(4)}.db'}"
        else:
            url = pg_create_database()
        self.databases.append(url)
        return url

    def start(self, *args: str, like: Chinwag | None = None) -> Chinwag:
        """`chinwag serve *args`: on a fresh database of its own, or on the database of `like`,
        as the same account."""
        if like is None:
            server = Server(self.database(), extra_args=list(args))
        else:
            server = like.server.sibling(extra_args=list(args))
        self.servers.append(server)
        server.start(self.tmp / f"server-{len(self.servers)}.log")
        return Chinwag(server, make_client(server))

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        for url in self.databases:
            if url.startswith("postgresql"):
                pg_drop_database(url)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """The module's servers and databases, of each kind in turn."""
    if request.param == "postgresql":
        require_postgresql()
    group = Cluster(request.param, tmp_path_factory.mktemp(f"events-{request.param}"))
    yield group
    group.close()


@pytest.fixture
def pg_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """PostgreSQL only, for what only PostgreSQL promises (several processes on one database)."""
    require_postgresql()
    group = Cluster("postgresql", tmp_path)
    yield group
    group.close()


def channel_with(chinwag: Chinwag, service_sid: str, *identities: str, **params: Any) -> Any:
    """A new channel (v1) of the service with the given members."""
    channel = chinwag.chat.services(service_sid).channels.create(**params)
    for identity in identities:
        chinwag.chat.services(service_sid).channels(channel.sid).members.create(identity=identity)
    return channel


WEBHOOK_ARGS = ("--webhook-backoff", "0.05", "--webhook-timeout", "2")


@pytest.fixture(scope="module")
def ids() -> Callable[[str], str]:
    """Names that no other test uses."""
    return lambda prefix: f"{prefix}-{secrets.token_hex(4)}"

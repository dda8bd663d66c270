"""Metrics and request logs: what operators see, and that no secret is ever in it.

`GET /metrics` needs no credentials and answers Prometheus' text format (version 0.0.4): request
counts by method, route template and status; a latency histogram per route; database pool,
database-up and outbox-depth gauges. Route labels are templates (`/v1/Services/{Sid}`), never
the SIDs a client sent.

`--log-format json` writes, on stderr, one JSON object per line, and one per request with its
method, path, status and duration in ms. Neither stream (stdout or stderr) ever contains an
auth token or an API key secret, whether the request that carried it was accepted or refused,
and whether it came in the Authorization header, the query string or the form body; nor does
the log of a write the database refused (a 503) hold the secrets that write carried.
"""

from __future__ import annotations

import base64
import json
import math
import re
import resource
import secrets
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.api.conftest import parse_credentials
from tests.reliability.helpers import pg_admin, terminate_backends
from tests.support.servers import Server

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE_RE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')
TYPE_RE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
HELP_RE = re.compile(rf"^# HELP ({NAME}) .*$")

Labels = tuple[tuple[str, str], ...]


def parse_metrics(text: str) -> tuple[dict[str, str], dict[tuple[str, Labels], float]]:
    """Prometheus text format, strictly: (family -> type, (sample, labels) -> value)."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    types: dict[str, str] = {}
    samples: dict[tuple[str, Labels], float] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        if line.startswith("# TYPE"):
            match = TYPE_RE.match(line)
            assert match, f"line {number}: bad TYPE line {line!r}"
            assert match.group(1) not in types, f"line {number}: TYPE repeated"
            types[match.group(1)] = match.group(2)
            continue
        if line.startswith("#"):
            assert HELP_RE.match(line), f"line {number}: bad comment {line!r}"
            continue
        match = SAMPLE_RE.match(line)
        assert match, f"line {number}: bad sample {line!r}"
        name, raw_labels, raw_value = match.groups()
        labels: list[tuple[str, str]] = []
        if raw_labels:
            consumed = 0
            for label in LABEL_RE.finditer(raw_labels):
                assert label.start() == consumed, f"line {number}: bad labels {raw_labels!r}"
                labels.append((label.group(1), label.group(2)))
                consumed = label.end()
            assert consumed == len(raw_labels), f"line {number}: bad labels {raw_labels!r}"
        value = float(raw_value)  # also takes +Inf and NaN, as the format does
        key = (name, tuple(labels))
        assert key not in samples, f"line {number}: sample repeated"
        samples[key] = value
    return types, samples


def scrape(server: Server) -> tuple[str, dict[str, str], dict[tuple[str, Labels], float]]:
    response = requests.get(f"{server.url}/metrics", timeout=30)  # no credentials
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    assert "version=0.0.4" in response.headers["content-type"]
    return response.text, *parse_metrics(response.text)


def requests_total(
    samples: dict[tuple[str, Labels], float], method: str, route: str, status: int
) -> float:
    key = (
        "chinwag_requests_total",
        (("method", method), ("route", route), ("status", str(status))),
    )
    return samples.get(key, 0.0)


class TestMetrics:
    def test_counts_a_request_by_route_template(self, server: Server) -> None:
        """A fetch is counted once under its route template and status, without its SID."""
        auth = (server.account_sid, server.auth_token)
        created = requests.post(
            f"{server.url}/v1/Services", data={"FriendlyName": "metrics"}, auth=auth, timeout=30
        )
        sid = created.json()["sid"]
        try:
            _, _, before = scrape(server)
            fetched = requests.get(f"{server.url}/v1/Services/{sid}", auth=auth, timeout=30)
            assert fetched.status_code == 200
            missing = requests.get(f"{server.url}/v1/Services/IS{'0' * 32}", auth=auth, timeout=30)
            assert missing.status_code == 404
            text, types, after = scrape(server)
        finally:
            requests.delete(f"{server.url}/v1/Services/{sid}", auth=auth, timeout=30)
        route = "/v1/Services/{Sid}"
        assert types["chinwag_requests_total"] == "counter"
        assert (
            requests_total(after, "GET", route, 200)
            == requests_total(before, "GET", route, 200) + 1
        )
        assert (
            requests_total(after, "GET", route, 404)
            == requests_total(before, "GET", route, 404) + 1
        )
        assert requests_total(after, "GET", "/metrics", 200) >= 1
        assert sid not in text, "a SID leaked into a label"
        assert "IS" + "0" * 32 not in text

    def test_unauthenticated_and_unknown_routes(self, server: Server) -> None:
        """401s are counted with their status; paths that match no route share one label."""
        _, _, before = scrape(server)
        assert requests.get(f"{server.url}/v1/Services", timeout=30).status_code == 401
        probe = f"/no/such/{secrets.token_hex(8)}"
        assert requests.get(f"{server.url}{probe}", timeout=30).status_code == 404
        text, _, after = scrape(server)
        assert requests_total(after, "GET", "/v1/Services", 401) == (
            requests_total(before, "GET", "/v1/Services", 401) + 1
        )
        assert probe not in text, "a raw path became a label"
        unmatched = [
            key
            for key in after
            if key[0] == "chinwag_requests_total" and ("status", "404") in key[1]
        ]
        assert unmatched, "the unknown path was not counted"

    def test_latency_histogram(self, server: Server) -> None:
        """Each route has cumulative buckets up to +Inf, a _sum and a _count equal to +Inf."""
        auth = (server.account_sid, server.auth_token)
        assert requests.get(f"{server.url}/v1/Services", auth=auth, timeout=30).ok
        _, types, samples = scrape(server)
        assert types["chinwag_request_duration_seconds"] == "histogram"
        buckets: dict[Labels, list[tuple[float, float]]] = defaultdict(list)
        for (name, labels), value in samples.items():
            if name == "chinwag_request_duration_seconds_bucket":
                rest = tuple(kv for kv in labels if kv[0] != "le")
                buckets[rest].append((float(dict(labels)["le"]), value))
        route = (("method", "GET"), ("route", "/v1/Services"))
        assert route in buckets
        for labels, series in buckets.items():
            series.sort()
            counts = [count for _, count in series]
            assert counts == sorted(counts), f"{labels}: buckets not cumulative"
            assert math.isinf(series[-1][0]), f"{labels}: no +Inf bucket"
            total = samples[("chinwag_request_duration_seconds_count", labels)]
            assert series[-1][1] == total
            assert samples[("chinwag_request_duration_seconds_sum", labels)] >= 0
        assert samples[("chinwag_request_duration_seconds_count", route)] >= 1

    def test_gauges(self, server: Server) -> None:
        """Database pool, database-up, outbox-depth and sweeps gauges are exposed, typed gauge."""
        _, types, samples = scrape(server)
        for name in (
            "chinwag_outbox_depth",
            "chinwag_outbox_depth_exceeded",
            "chinwag_sweeps_pending",
            "chinwag_database_up",
            "chinwag_db_pool_writer_size",
            "chinwag_db_pool_writer_checked_out",
            "chinwag_db_pool_reader_size",
            "chinwag_db_pool_reader_checked_out",
        ):
            assert types.get(name) == "gauge", name
            assert (name, ()) in samples, name
        assert samples[("chinwag_database_up", ())] == 1
        assert samples[("chinwag_outbox_depth", ())] >= 0
        assert samples[("chinwag_outbox_depth_exceeded", ())] == 0  # a few, not 100,000
        assert samples[("chinwag_db_pool_writer_size", ())] >= 1
        assert samples[("chinwag_sweeps_pending", ())] >= 0


class SplitServer(Server):
    """A server whose stdout and stderr go to separate files (stderr: the log stream)."""

    stdout_path: Path

    def start(self, log_path: Path) -> Server:
        self.log_path = log_path
        self.stdout_path = log_path.with_suffix(".stdout")
        command = [sys.executable, "-m", "chinwag", "serve", "--port", str(self.port)]
        command += ["--database", self.database, *self.extra_args]
        with open(log_path, "ab") as err, open(self.stdout_path, "ab") as out:
            self.process = subprocess.Popen(command, env=self.env(), stdout=out, stderr=err)
        self.wait_ready()
        return self


@pytest.fixture
def json_server(fresh_database: str, tmp_path: Path, servers: list[Server]) -> SplitServer:
    server = SplitServer(fresh_database, extra_args=["--log-format", "json"])
    servers.append(server)
    server.start(tmp_path / "server.log")
    return server


def not_json(text: str) -> list[str]:
    """The lines of `text` that are not one JSON object each."""
    bad = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        if not isinstance(entry, dict):
            bad.append(line)
    return bad


def _basic(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def test_json_request_logs_without_secrets(json_server: SplitServer) -> None:
    """One JSON line per request (method, path, status, ms); no token or key secret anywhere."""
    server = json_server
    key_sid, key_secret = parse_credentials(
        server.cli("keys", "create", "--account", server.account_sid)
    )
    token = server.auth_token
    wrong_token = token[:-4] + "beef" if not token.endswith("beef") else token[:-4] + "cafe"
    wrong_secret = key_secret[:-4] + "XXXX"
    base = server.url
    made: list[tuple[str, str, int]] = []

    def call(method: str, path: str, auth: tuple[str, str] | None, **kwargs: Any) -> None:
        response = requests.request(method, base + path, auth=auth, timeout=30, **kwargs)
        made.append((method, path, response.status_code))

    call("GET", "/v1/Services", (server.account_sid, token))
    call("GET", "/v1/Services", (key_sid, key_secret))
    call("POST", "/v1/Services", (key_sid, key_secret), data={"FriendlyName": "logs"})
    call("GET", "/v1/Services", (server.account_sid, wrong_token))
    call("GET", "/v1/Services", (key_sid, wrong_secret))
    call("GET", "/v1/Credentials", (token, key_secret))  # the secrets sent as the username
    call("GET", f"/v1/Services?PageToken={token}", (server.account_sid, token))
    call("GET", f"/v2/Services?Secret={key_secret}", (key_sid, key_secret))
    call(
        "POST",
        "/v1/Credentials",
        (server.account_sid, token),
        data={"Type": "fcm", "Secret": token},
    )
    call(
        "GET",
        "/v1/Services",
        None,
        headers={"Authorization": f"Basic {_basic(key_sid, key_secret)}"},
    )
    assert [status for _, _, status in made] == [200, 200, 201, 401, 401, 401, 400, 200, 201, 200]
    server.stop()

    assert server.log_path is not None
    stderr = server.log_path.read_text()
    stdout = server.stdout_path.read_text()
    forbidden = {
        "auth token": token,
        "API key secret": key_secret,
        "wrong token": wrong_token,
        "wrong secret": wrong_secret,
        "basic header (token)": _basic(server.account_sid, token),
        "basic header (key)": _basic(key_sid, key_secret),
    }
    for what, secret in forbidden.items():
        assert secret not in stderr, f"the {what} is in the log"
        assert secret not in stdout, f"the {what} is on stdout"

    assert not_json(stderr) == [], "stderr holds lines that are not JSON objects"
    entries = [json.loads(line) for line in stderr.splitlines()]
    access = [e for e in entries if e.get("logger") == "chinwag.access"]
    for entry in access:
        assert {"method", "path", "status", "ms"} <= set(entry), entry
        assert isinstance(entry["status"], int)
        assert isinstance(entry["ms"], int | float)
        assert entry["ms"] >= 0
    logged = [(e["method"], e["path"], e["status"]) for e in access if e["path"] != "/healthz"]
    expected = [(m, p.split("?")[0], s) for m, p, s in made]
    assert logged == expected


def test_json_logs_stay_json_for_refused_http(json_server: SplitServer) -> None:
    """Requests the HTTP layer refuses (a request line over 64 kB) leave stderr all JSON lines."""
    server = json_server
    auth = (server.account_sid, server.auth_token)
    huge = requests.get(f"{server.url}/v1/Services?{'a' * 70_000}", auth=auth, timeout=30)
    assert 400 <= huge.status_code < 500
    assert requests.get(f"{server.url}/v1/Services", auth=auth, timeout=30).status_code == 200
    server.stop()
    assert server.log_path is not None
    assert not_json(server.log_path.read_text()) == []


@contextmanager
def writes_refused(server: Server) -> Iterator[None]:
    """The server's database refuses writes: SQLite's disk is full, PostgreSQL is read-only.

    (How and why: see tests/reliability/test_readonly.py.)
    """
    if server.database.startswith("sqlite:///"):
        assert server.process is not None
        db = Path(server.database.removeprefix("sqlite:///"))
        files = [db, db.with_name(db.name + "-wal")]
        limit = max(f.stat().st_size for f in files if f.exists()) + 4096
        pid = server.process.pid
        _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, hard))
        try:
            yield
        finally:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))
        return
    name = server.database.rsplit("/", 1)[1]
    pg_admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    terminate_backends(server.database)
    try:
        yield
    finally:
        pg_admin(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        terminate_backends(server.database)


def test_database_errors_log_no_secrets(json_server: SplitServer) -> None:
    """A credential create the database refuses is a 503, logged without the secret it carried."""
    server = json_server
    auth = (server.account_sid, server.auth_token)
    secret = f"push-secret-{secrets.token_hex(8)}"
    statuses = []
    with writes_refused(server):
        for _ in range(200):  # bounded: the headroom left fills within a few writes
            response = requests.post(
                f"{server.url}/v1/Credentials",
                data={"Type": "fcm", "FriendlyName": "push", "Secret": secret},
                auth=auth,
                timeout=30,
            )
            statuses.append(response.status_code)
            if response.status_code != 201:
                break
    assert statuses[-1] == 503, statuses
    server.stop()
    assert server.log_path is not None
    log = server.log_path.read_text()
    errors = [json.loads(line) for line in log.splitlines() if '"level": "error"' in line]
    assert errors, "the refused write was not logged"
    assert secret not in log, "a credential secret from a failed INSERT is in the log"
    assert server.auth_token not in log

"""The bench's webhook receiver, bare stack and webhook-pace load, each in a tiny configuration
(the bench is a tool: these check that its pieces work, never how fast anything is)."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import dashboard, filters, outbox, servers, sidebyside, sweeps, webhooks
from bench.client import Connection, form
from bench.load import LoadResult
from bench.scenarios import BARE_AUTH
from chinwag.store.migrate import upgrade
from tests.support.databases import KINDS, fresh
from tests.support.servers import PG_ADMIN


def test_receiver_notes_each_webhook(tmp_path: Path) -> None:
    """Every request is answered 200; /__hits lists each token with when it was answered."""
    receiver = servers.receiver(tmp_path / "receiver.log")
    receiver.start("/__hits")
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    try:
        statuses = []
        for token in ("one", "two", "one"):
            headers = {"I-Twilio-Idempotency-Token": token}
            conn.request("POST", "/hook", body=f"Body={token}", headers=headers)
            answer = conn.getresponse()
            answer.read()
            statuses.append(answer.status)
        conn.request("GET", "/__hits")
        hits = json.loads(conn.getresponse().read())["hits"]
    finally:
        conn.close()
        receiver.stop()
    assert statuses == [200, 200, 200]
    assert [token for token, _ in hits] == ["one", "two", "one"]
    assert all(isinstance(at, float) for _, at in hits)


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh(request.param, tmp_path) as url:
        yield url


def test_bare_stack_creates_messages(database: str, tmp_path: Path) -> None:
    """The bare stack answers a create with 201 and the next index, and 401 without credentials."""
    bare = servers.bare_stack(database, tmp_path / "bare.log")
    bare.start()
    try:

        async def create(auth: str | None) -> list[tuple[int, object]]:
            conn = Connection(bare.port, auth)
            try:
                out = []
                for _ in range(2):
                    response = await conn.request(
                        "POST", "/v1/Services/IS1/Channels/CH1/Messages", form([("Body", "hi")])
                    )
                    index = response.json().get("index") if response.status == 201 else None
                    out.append((response.status, index))
                return out
            finally:
                conn.close()

        assert asyncio.run(create(BARE_AUTH)) == [(201, 0), (201, 1)]
        assert [status for status, _ in asyncio.run(create(None))] == [401, 401]
    finally:
        bare.stop()


def _load(ok: int, seconds: float) -> LoadResult:
    return LoadResult(
        name="x",
        clients=1,
        processes=1,
        requests=ok,
        ok=ok,
        seconds=seconds,
        throughput=ok / seconds,
        p50_ms=1.0,
        p95_ms=1.0,
        p99_ms=1.0,
        mean_ms=1.0,
        max_ms=1.0,
        server_cpu_ms=None,
        server_cpu_util=None,
        client_cpu_ms=0.0,
        load_avg=0.0,
        statuses={"201": ok},
        errors={},
        timed_out=False,
    )


def test_pace_figures() -> None:
    """Lag is the first 200 of a token minus its row's creation; an event never answered counts
    as undelivered; the cost compares the two sides' mean rates, and each pair's its own; a
    load's drain is the last 200 of the events it made, after its end."""
    created = {"e": 98.2, "a": 100.0, "b": 100.5, "c": 101.0, "d": 110.0}
    hits = {"e": 98.5, "a": 100.2, "b": 100.6, "d": 112.5}
    offs, ons = [_load(200, 2.0), _load(100, 2.0)], [_load(150, 2.0), _load(90, 2.0)]
    windows = [(98.0, 101.0), (109.0, 111.0)]  # from before the warm-up ("e") to the end
    figures = webhooks.summarize(offs, ons, created, hits, windows, True)
    assert figures["post_events_cost"] == 0.2  # 1 - 120/150
    assert figures["post_events_costs"] == [0.25, 0.1]
    assert (figures["events"], figures["delivered"], figures["undelivered"]) == (5, 4, 1)
    assert figures["lag_max_ms"] == 2500.0
    # Two hits inside the loads' timed 4 s; one in a warm-up, one after a load.
    assert figures["deliveries_per_s"] == 0.5
    assert figures["drain_s"] == 1.5  # "d" answered 1.5 s after its load ended


def test_loads_alternate_their_order() -> None:
    """Off, on, on, off: drift over the run weighs on both sides alike."""
    assert webhooks.order(1) == [False, True]
    assert webhooks.order(2) == [False, True, True, False]
    assert webhooks.order(3) == [False, True, True, False, False, True]


def test_pace_load_delivers_every_event(database: str, tmp_path: Path) -> None:
    """The webhook-pace load, tiny: every event created is delivered and the outbox drains."""
    options = webhooks.PaceOptions(clients=2, seconds=0.3, requests=20, drain_limit=30, procs=1)
    figures = webhooks.run_pace(database, tmp_path, options, "tiny")
    assert [load["name"].split("(")[0].strip() for load in figures["loads"]] == [
        "create, post-events off",
        "create, post-events on",
        "create, post-events on",
        "create, post-events off",
    ]
    assert figures["drained"]
    assert figures["events"] > 0
    assert figures["delivered"] == figures["events"]
    assert figures["lag_p99_ms"] >= figures["lag_p50_ms"] >= 0


@pytest.mark.parametrize("kind", KINDS)
def test_side_by_side_loads_every_target_each_round(kind: str, tmp_path: Path) -> None:
    """The side-by-side creates, tiny: the bare stack and both chinwags answer every create of
    every round, and each gets its figures. Four clients, not the bench's 16: its three servers
    stay up through the rounds, and at 16 each could hold 16 of the suite's PostgreSQL
    connections (100 in all, shared by every worker)."""
    figures = sidebyside.run(kind, "HEAD", 2, 24, tmp_path, PG_ADMIN, clients=4)
    tags = ("bare", "ref HEAD", "working tree")
    assert [tag for tag in figures if tag in tags] == list(tags)
    for tag in tags:
        assert figures[tag]["failed"] == 0
        assert len(figures[tag]["p99_ms"]) == 2
        assert figures[tag]["creates_per_s"] > 0
    assert figures["bare"]["x_bare"] == 1.0


@pytest.mark.parametrize("kind", KINDS)
def test_pace_comparison_runs_each_side_each_round(kind: str, tmp_path: Path) -> None:
    """The before/after webhook pace, tiny: the commit and the working tree each deliver every
    event of every round, and each side gets its means."""
    options = webhooks.PaceOptions(clients=2, seconds=0.3, requests=20, drain_limit=30, procs=1)
    figures = webhooks.compare(kind, "HEAD", 2, tmp_path, options, PG_ADMIN)
    for tag in ("ref HEAD", "working tree"):
        rounds = figures[tag]["rounds"]
        assert len(rounds) == 2
        assert [r["undelivered"] for r in rounds] == [0, 0]
        assert figures[tag]["means"]["creates_on_per_s"] > 0


def test_dashboard_bench_times_each_size(database: str) -> None:
    """`bench.dashboard` fills the month as asked and reads it back: every message it made
    within the last 30 days is counted, at most one row per channel and hour."""
    upgrade(database)
    results = asyncio.run(dashboard.measure(database, [200, 2000], channels=2, tries=1))
    assert [r["messages"] for r in results] == [200, 2000]
    for r in results:
        assert 0.9 * r["messages"] <= r["counted_in_month"] <= r["messages"]
        assert r["hour_rows"] <= 2 * (30 * 24 + 1)
        assert r["median_ms"] > 0


def test_filters_bench_times_each_filter_at_each_size(database: str) -> None:
    """`bench.filters` adds the crowd asked for and lists a page with each filter: the few
    public channels by default, a full page otherwise; each binding filter finds the few."""
    upgrade(database)
    results = asyncio.run(filters.measure(database, [100, 300], tries=1))
    assert [r["crowd"] for r in results] == [100, 300]
    for r, crowd in zip(results, [100, 300], strict=True):
        assert r["default (public): rows"] == filters.FEW
        assert r["Type=private: rows"] == min(50, crowd)  # a page of the default size
        assert r["Type=public&Type=private: rows"] == 50
        assert r["BindingType=apn: rows"] == filters.FEW
        assert r["BindingType=apn&BindingType=fcm: rows"] == 2 * filters.FEW
        assert r["Identity=apple&Identity=fig: rows"] == 2 * filters.FEW
        assert r["Identity=apple&BindingType=gcm: rows"] == 0
        assert r[f"{filters.SDK}: rows"] == filters.FEW  # apple's, none of the crowd's


def test_outbox_bench_claims_the_healthy_queues_at_each_size(database: str) -> None:
    """`bench.outbox` puts the backlog behind a waiting head and times claims that take the
    healthy queues' heads and nothing of the stalled queue (it raises otherwise)."""
    upgrade(database)
    results = asyncio.run(outbox.measure(database, [200, 1000], tries=2))
    assert [r["pending"] for r in results] == [200, 1000]
    assert all(r["claim_ms"] > 0 for r in results)
    assert [r["depth"] for r in results] == [200, 1000]  # the stalled queue; the rest delivered


def test_sweeps_bench_deletes_a_channel_at_each_size(database: str) -> None:
    """`bench.sweeps` fills each channel as asked, deletes it while the probe creates
    elsewhere, and waits until the sweeper has removed every message (it raises otherwise)."""
    upgrade(database)
    results = asyncio.run(sweeps.measure(database, [50, 300]))
    assert [r["messages"] for r in results] == [50, 300]
    for r in results:
        assert r["status"] == 204
        assert r["sweep_s"] > 0  # the sweeper, not the delete, removed them
        assert r["probe_creates"] >= 1

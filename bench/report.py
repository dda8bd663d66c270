"""Tables on stdout, ratios to Prism and to the bare stack, the targets of issue 10, and the
JSON files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TARGET_BARE_RATIO = 0.8  # creates at 16 clients: at least this share of the bare stack's...
TARGET_P99_MS = 50.0  # ...with p99 under this on SQLite...
TARGET_PG_P99_RATIO = 1.25  # ...and at most this times the bare stack's p99 on PostgreSQL
TARGET_FULL = 1000.0  # creates/s at 16 clients with --sqlite-synchronous FULL, more than this
TARGET_LAG_MS = 1000.0  # webhook delivery lag p99, commit to the receiver's 200
TARGET_POST_COST = 0.20  # creates lost to post-events, at most
TARGET_DEEP_RATIO = 1.5  # deep page / first page
TARGET_RSS_MB = 200.0  # at 1,000,000 messages
TARGET_RSS_AT = 1_000_000
SIDE_BY_SIDE = ["load", "clients", "chinwag/s", "prism/s", "x"]
SIDE_BY_SIDE += ["p50 ms", "prism p50", "x", "p99 ms", "prism p99", "x"]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    numeric = [all(_is_number(r[i]) for r in rows) if rows else False for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(row, widths, numeric, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _failed(row: dict[str, Any]) -> int:
    return int(row["requests"]) - int(row["ok"])


def _pick(row: dict[str, Any], keys: str) -> list[Any]:
    return [row[k] for k in keys.split()]


def _latency(row: dict[str, Any]) -> list[Any]:
    """p50, p95, p99, the server's CPU per request and the count of failed requests."""
    return [*_pick(row, "p50_ms p95_ms p99_ms server_cpu_ms"), _failed(row)]


def compare(result: dict[str, Any]) -> list[dict[str, Any]]:
    """chinwag's figures over Prism's twin of the same load (creates on the fewest channels)."""
    prism = result.get("prism")
    if not prism:
        return []
    rows: list[dict[str, Any]] = []
    fewest = min(r["channels"] for r in result["create"])
    mine = {("create", r["clients"]): r for r in result["create"] if r["channels"] == fewest}
    mine |= {(r["read"], r["clients"]): r for r in result["reads"]}
    theirs = {("create", r["clients"]): r for r in prism["create"]}
    theirs |= {(r["read"], r["clients"]): r for r in prism["reads"]}
    for key, ours in mine.items():
        other = theirs.get(key)
        if other is None or not other["throughput"] or not other["p50_ms"]:
            continue
        rows.append(
            {
                "load": key[0],
                "clients": key[1],
                "chinwag_per_s": ours["throughput"],
                "prism_per_s": other["throughput"],
                "chinwag_p50_ms": ours["p50_ms"],
                "prism_p50_ms": other["p50_ms"],
                "chinwag_p99_ms": ours["p99_ms"],
                "prism_p99_ms": other["p99_ms"],
                "throughput_ratio": round(ours["throughput"] / other["throughput"], 2),
                "p50_ratio": round(ours["p50_ms"] / other["p50_ms"], 2),
                "p99_ratio": round(ours["p99_ms"] / other["p99_ms"], 2)
                if other["p99_ms"]
                else None,
            }
        )
    return rows


def compare_bare(result: dict[str, Any]) -> list[dict[str, Any]]:
    """chinwag's creates over the bare stack's, same clients, run right after chinwag's."""
    rows = []
    mine = {r["clients"]: r for r in result["create"] if r["channels"] == 1}
    for bare in result.get("bare_create", []):
        ours = mine.get(bare["clients"])
        if ours is None or not bare["throughput"] or not bare["p99_ms"]:
            continue
        rows.append(
            {
                "clients": bare["clients"],
                "chinwag_per_s": ours["throughput"],
                "bare_per_s": bare["throughput"],
                "throughput_ratio": round(ours["throughput"] / bare["throughput"], 2),
                "chinwag_p99_ms": ours["p99_ms"],
                "bare_p99_ms": bare["p99_ms"],
                "p99_ratio": round(ours["p99_ms"] / bare["p99_ms"], 2),
            }
        )
    return rows


def _target(target: str, measured: str, met: bool | None) -> dict[str, Any]:
    return {"target": target, "measured": measured, "met": met}


def _create_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    sqlite = result["db"] == "sqlite"
    for row in result.get("vs_bare", []):
        if row["clients"] != 16:
            continue
        fast = row["throughput_ratio"] >= TARGET_BARE_RATIO
        if sqlite:
            name = f"create @16: >= {TARGET_BARE_RATIO}x bare, p99 < {TARGET_P99_MS:.0f} ms"
            met = fast and row["chinwag_p99_ms"] < TARGET_P99_MS
        else:
            name = f"create @16: >= {TARGET_BARE_RATIO}x bare, p99 <= {TARGET_PG_P99_RATIO}x bare's"
            met = fast and row["p99_ratio"] <= TARGET_PG_P99_RATIO
        measured = (
            f"{row['chinwag_per_s']:,.0f}/s = {row['throughput_ratio']:.2f}x bare "
            f"({row['bare_per_s']:,.0f}/s); p99 {row['chinwag_p99_ms']:.1f} ms = "
            f"{row['p99_ratio']:.2f}x bare's"
        )
        out.append(_target(name, measured, met))
    full = result.get("synchronous_full")
    if full:
        out.append(
            _target(
                f"create @16 with --sqlite-synchronous FULL > {TARGET_FULL:,.0f}/s",
                f"{full['throughput']:,.0f}/s, p99 {full['p99_ms']:.1f} ms" + _ceiling(full),
                full["throughput"] > TARGET_FULL,
            )
        )
    if result.get("vs_prism"):
        worst = min(result["vs_prism"], key=lambda r: r["throughput_ratio"])
        out.append(
            _target(
                "every load ahead of Prism (req/s x > 1)",
                f"worst: {worst['load']} @{worst['clients']} {worst['throughput_ratio']:.2f}x",
                all(r["throughput_ratio"] > 1 for r in result["vs_prism"]),
            )
        )
    return out


def _webhook_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    pace = result.get("webhooks")
    if not pace:
        return []
    cost = pace["post_events_cost"]
    lagging = f", {pace['undelivered']} never delivered" if pace["undelivered"] else ""
    return [
        _target(
            f"webhook delivery lag p99 < {TARGET_LAG_MS / 1000:g} s (commit -> receiver's 200)",
            f"p99 {pace['lag_p99_ms']:,.0f} ms, p50 {pace['lag_p50_ms']:,.0f} ms; "
            f"{pace['deliveries_per_s']:,.0f} deliveries/s, drained {pace['drain_s']:.1f}s "
            f"after a load{lagging}",
            pace["lag_p99_ms"] < TARGET_LAG_MS and not pace["undelivered"],
        ),
        _target(
            f"post-events cost creates <= {TARGET_POST_COST:.0%}",
            f"{pace['creates_off_per_s']:,.0f}/s -> {pace['creates_on_per_s']:,.0f}/s"
            + ("" if cost is None else f" ({cost:.0%}{_pairs_note(pace)})")
            + _cpu_note(pace),
            None if cost is None else cost <= TARGET_POST_COST,
        ),
    ]


def _pairs_note(pace: dict[str, Any]) -> str:
    """Each pair of loads' own cost, when there were several: how far one pair may land."""
    costs = [c for c in pace.get("post_events_costs", []) if c is not None]
    if len(costs) < 2:
        return ""
    return "; each pair: " + ", ".join(f"{c:.0%}" for c in costs)


def _cpu_note(pace: dict[str, Any]) -> str:
    if pace.get("post_events_cpu_cost") is None:
        return ""
    return (
        f"; server CPU {pace['cpu_ms_per_create_off']:.2f} -> "
        f"{pace['cpu_ms_per_create_on']:.2f} ms/create with deliveries "
        f"({pace['post_events_cpu_cost']:.0%})"
    )


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 10's targets, each with what was measured and its verdict."""
    out = _create_targets(result)
    deep = result["deep_paging"]["depths"]
    if deep:
        worst = max(max(r["ratio_token"], r["ratio_follow"]) for r in deep)
        at = max(r["depth"] for r in deep)
        out.append(
            _target(
                f"deep/first page time < {TARGET_DEEP_RATIO} (depths to {at:,})",
                f"worst {worst:.2f}",
                worst < TARGET_DEEP_RATIO,
            )
        )
    scale = result["scale"]
    enough = scale["messages_total"] >= TARGET_RSS_AT
    out.append(
        _target(
            f"RSS < {TARGET_RSS_MB:.0f} MB at {TARGET_RSS_AT:,} messages",
            f"{scale['rss_mb']} MiB (peak {scale['peak_rss_mb']}) at "
            f"{scale['messages_total']:,} messages",
            (scale["peak_rss_mb"] < TARGET_RSS_MB) if enough else None,
        )
    )
    return out + _webhook_targets(result)


def _ceiling(row: dict[str, Any]) -> str:
    """What the server's CPU per request allows on one core, whatever else the machine runs."""
    cpu = row.get("server_cpu_ms")
    return f" (CPU {cpu:.2f} ms/req: <= {1000 / cpu:,.0f}/s per core)" if cpu else ""


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "n/a"}[met]


def _render_issue_10(result: dict[str, Any]) -> list[str]:
    """The bare stack side by side, the synchronous=FULL run, and the webhook pace."""
    parts = []
    if result.get("vs_bare"):
        parts.append(
            "side by side with the bare stack (bench/bare_create.py, one uvicorn process, same "
            "database kind), run right after chinwag's load; x = chinwag / bare\n"
            + table(
                ["create", "clients", "chinwag/s", "bare/s", "x", "p99 ms", "bare p99", "x"],
                [
                    [
                        "POST .../Messages",
                        *_pick(
                            r,
                            "clients chinwag_per_s bare_per_s throughput_ratio "
                            "chinwag_p99_ms bare_p99_ms p99_ratio",
                        ),
                    ]
                    for r in result["vs_bare"]
                ],
            )
        )
    full = result.get("synchronous_full")
    if full:
        parts.append(
            f"--sqlite-synchronous FULL, create at {full['clients']} clients: "
            f"{full['throughput']:,.0f}/s, p50 {full['p50_ms']:.1f} ms, p99 {full['p99_ms']:.1f} ms"
            + _ceiling(full)
        )
    pace = result.get("webhooks")
    if pace:
        parts.append(
            f"webhook pace ({pace['options']['clients']} clients, one channel, "
            f"{pace['options']['seconds']:g} s a load, {pace['options'].get('pairs', 1)} of each "
            "side alternating; lag = receiver's 200 - outbox row's "
            "date_created)\n"
            + table(
                [
                    "creates/s off",
                    "creates/s on",
                    "cost",
                    "events",
                    "deliveries/s",
                    "lag p50 ms",
                    "lag p99 ms",
                    "lag max ms",
                    "drain s",
                    "cpu ms off",
                    "cpu ms on",
                ],
                [
                    [
                        *_pick(
                            pace,
                            "creates_off_per_s creates_on_per_s post_events_cost events "
                            "deliveries_per_s lag_p50_ms lag_p99_ms lag_max_ms drain_s",
                        ),
                        pace.get("cpu_ms_per_create_off"),
                        pace.get("cpu_ms_per_create_on"),
                    ]
                ],
            )
        )
    return parts


def render(result: dict[str, Any]) -> str:
    parts = [f"=== chinwag on {result['db']} ==="]
    parts.append(
        table(
            [
                "message create",
                "clients",
                "channels",
                "req/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "cpu ms",
                "failed",
            ],
            [
                ["POST .../Messages", *_pick(r, "clients channels throughput"), *_latency(r)]
                for r in result["create"]
            ],
        )
    )
    parts.append(
        table(
            ["read", "clients", "req/s", "p50 ms", "p95 ms", "p99 ms", "cpu ms", "failed"],
            [[*_pick(r, "read clients throughput"), *_latency(r)] for r in result["reads"]],
        )
    )
    deep = result["deep_paging"]
    parts.append(
        f"deep paging: {deep['messages_in_channel']:,} messages in one channel "
        f"(preloaded in {deep['preload_s']}s), median of {deep['tries']}; "
        f"first page {deep['first_page_ms']} ms ({deep.get('first_page_cpu_ms')} ms server CPU), "
        f"fetch of message 0 {deep['fetch_first_ms']} ms\n"
        + table(
            [
                "depth",
                "by PageToken ms",
                "by next_page_url ms",
                "ratio",
                "ratio (url)",
                "fetch ms",
                "cpu ms",
                "ratio (cpu)",
            ],
            [
                [
                    *_pick(r, "depth token_ms follow_ms ratio_token ratio_follow fetch_ms"),
                    r.get("token_cpu_ms"),
                    r.get("ratio_cpu"),
                ]
                for r in deep["depths"]
            ],
        )
    )
    s = result["scale"]
    parts.append(
        f"scale: {s['messages_total']:,} messages; server RSS {s['rss_mb']} MiB "
        f"(peak {s['peak_rss_mb']}, {s['rss_after_restart_mb']} after a restart); database "
        f"{s['db_bytes'] / 2**20:,.1f} MiB; start {result['start_empty_s']:.2f}s empty, "
        f"{s['start_s']:.2f}s on this database"
    )
    if result.get("vs_prism"):
        parts.append(
            f"side by side with Prism ({result['prism']['package']}, RSS "
            f"{result['prism']['rss_mb']} MiB), each Prism load run right after chinwag's; "
            "x = chinwag / Prism (throughput above 1 and latency below 1 favour chinwag)\n"
            + table(
                SIDE_BY_SIDE,
                [
                    _pick(
                        r,
                        "load clients chinwag_per_s prism_per_s throughput_ratio chinwag_p50_ms "
                        "prism_p50_ms p50_ratio chinwag_p99_ms prism_p99_ms p99_ratio",
                    )
                    for r in result["vs_prism"]
                ],
            )
        )
    elif result.get("prism_skipped"):
        parts.append(f"side by side with Prism: skipped ({result['prism_skipped']})")
    parts += _render_issue_10(result)
    parts.append(
        table(
            ["target (issue 10)", "measured", "verdict"],
            [[t["target"], t["measured"], _verdict(t["met"])] for t in result["targets"]],
        )
    )
    return "\n\n".join(parts)


def write_json(out_dir: Path, stamp: str, result: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stamp}-{result['db']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path

"""Prometheus metrics: requests by route and status, latency, the database pool, the outbox.

Kept in process memory and rendered in Prometheus' text format at GET /metrics (no auth, like
/healthz: it holds counts, never data). Each server process reports its own figures.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(**values: str) -> str:
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in values.items())
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: int = 0
    sum: float = 0.0

    def observe(self, seconds: float) -> None:
        index = bisect_left(BUCKETS, seconds)
        if index < len(BUCKETS):
            self.counts[index] += 1
        self.total += 1
        self.sum += seconds


@dataclass
class Metrics:
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    latency: dict[tuple[str, str], Histogram] = field(default_factory=dict)
    deliveries: Counter[tuple[str, str]] = field(default_factory=Counter)
    retries: Counter[tuple[str, str]] = field(default_factory=Counter)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        self.latency.setdefault((method, route), Histogram()).observe(seconds)

    def observe_delivery(self, kind: str, outcome: str) -> None:
        self.deliveries[(kind, outcome)] += 1

    def observe_retry(self, resource: str, reason: str) -> None:
        """A write transaction that did not finish and is run again (or, its tries used up,
        answers 503): it gave way to another writer's locks, found its row gone, or was taken
        back with its batch by a later transaction's failure."""
        self.retries[(resource, reason)] += 1

    def render(self, gauges: dict[str, float]) -> str:
        lines = [
            "# HELP chinwag_requests_total HTTP requests by route and status.",
            "# TYPE chinwag_requests_total counter",
        ]
        for (method, route, status), count in sorted(self.requests.items()):
            labels = _labels(method=method, route=route, status=str(status))
            lines.append(f"chinwag_requests_total{labels} {count}")
        lines += [
            "# HELP chinwag_request_duration_seconds Request latency by route.",
            "# TYPE chinwag_request_duration_seconds histogram",
        ]
        for (method, route), hist in sorted(self.latency.items()):
            running = 0
            for bound, count in zip(BUCKETS, hist.counts, strict=True):
                running += count
                labels = _labels(method=method, route=route, le=f"{bound:g}")
                lines.append(f"chinwag_request_duration_seconds_bucket{labels} {running}")
            inf = _labels(method=method, route=route, le="+Inf")
            lines.append(f"chinwag_request_duration_seconds_bucket{inf} {hist.total}")
            base = _labels(method=method, route=route)
            lines.append(f"chinwag_request_duration_seconds_sum{base} {hist.sum:.6f}")
            lines.append(f"chinwag_request_duration_seconds_count{base} {hist.total}")
        lines += [
            "# HELP chinwag_deliveries_total Webhook and push delivery attempts by outcome.",
            "# TYPE chinwag_deliveries_total counter",
        ]
        for (kind, outcome), count in sorted(self.deliveries.items()):
            lines.append(f"chinwag_deliveries_total{_labels(kind=kind, outcome=outcome)} {count}")
        lines += [
            "# HELP chinwag_write_retries_total Write transactions run again, by resource and why.",
            "# TYPE chinwag_write_retries_total counter",
        ]
        for (resource, reason), count in sorted(self.retries.items()):
            labels = _labels(resource=resource, reason=reason)
            lines.append(f"chinwag_write_retries_total{labels} {count}")
        for name, value in sorted(gauges.items()):
            lines += [f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"

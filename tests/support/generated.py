"""What the suite's generated-input tests share: deterministic, bounded generation, and the
server log's tracebacks to count before and after."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, Phase, settings

from tests.support.servers import Server


def generated(examples: int) -> settings:
    """`examples` cases, the same on every run (no example database, no shrinking: a
    failure is reported as found), with no deadline for a request to a live server."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def tracebacks(server: Server) -> int:
    """How many tracebacks the server has logged so far."""
    assert server.log_path is not None
    return Path(server.log_path).read_text(errors="replace").count("Traceback")

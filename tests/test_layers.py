"""Who may import whom: the layers of docs/architecture.md, checked on the source itself.

Imports under `if TYPE_CHECKING:` are for signatures only and never run, so they are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "chinwag"

# Lowest first: a package may import only packages before it, so the graph has no circle.
ORDER = [
    "clock",  # the time every server of one database agrees on
    "times",
    "sids",
    "urlencoding",  # forms and query strings, as urllib's urlencode writes them
    "settings",
    "metrics",
    "logsetup",  # log lines' format, for the server and its sender process
    "collector",  # the garbage collector's settings, for the same two
    "model",  # declarations, parameters, the operations' errors
    "store",  # tables, engines, accounts: no HTTP, no operations
    "context",  # one operation's context
    "runtime",  # what every operation shares
    "domain",  # rules without a front door: counters, roles, consumption
    "events",  # webhooks, pushes, the outbox
    "sync",  # the Sync engine: objects, event logs, live delivery, the chat projection
    "ops",  # the operations layer
    "resources",  # declarations with their Rules
    "api",  # REST: the first front door
    "realtime",  # the client SDK's WebSocket: the second front door
    "console",  # the web console: the third front door (may reuse REST's helpers)
    "demo",  # the /demo page and its token endpoint (under --demo only)
    "logs",
    "app",
    "cli",
    "__main__",
]
# HTTP and ASGI stay in the front doors.
WEB_FRAMEWORKS = ("starlette", "uvicorn")
FRONT_DOORS = {"api", "realtime", "console", "demo", "logs", "app", "cli"}


def _package(module: str) -> str:
    return module.split(".")[1]


def _runtime_imports(path: Path) -> set[str]:
    """Modules `path` imports when it runs (not those only for type checking)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # Alembic's scripts run under Alembic, not as part of the server
        rel = path.relative_to(SRC.parent).with_suffix("")
        found.append((".".join(rel.parts).removesuffix(".__init__"), path))
    return found


@pytest.mark.parametrize(("module", "path"), _modules(), ids=lambda v: str(v))
def test_imports_only_lower_layers(module: str, path: Path) -> None:
    """Every chinwag import of a module points to a lower layer (or its own package)."""
    if module == "chinwag":
        return
    own = _package(module)
    assert own in ORDER, f"{own} is missing from the layers of tests/test_layers.py"
    for name in _runtime_imports(path):
        if name.startswith("chinwag."):
            other = _package(name)
            assert other == own or ORDER.index(other) < ORDER.index(own), (
                f"{module} imports {name}: {other} is not below {own}"
            )
        elif name.split(".")[0] in WEB_FRAMEWORKS:
            assert own in FRONT_DOORS, f"{module} imports {name} below the front doors"

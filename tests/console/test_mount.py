"""The console is mounted at /console unless the server is started with --no-console."""

from __future__ import annotations

from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from typer.testing import CliRunner

from chinwag import cli
from chinwag.app import build_app
from chinwag.settings import Settings


def _mounts(settings: Settings) -> list[str]:
    app = build_app(settings)
    return [route.path for route in app.routes if isinstance(route, Mount)]


def test_on_by_default_and_off_with_no_console(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'chinwag.db'}"
    assert _mounts(Settings(database=database)) == ["/console"]
    assert _mounts(Settings(database=database, console=False)) == []


def test_serve_no_console_serves_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`chinwag serve --no-console` builds the app without the mount (uvicorn not started)."""
    served: list[Starlette] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(app))
    database = f"sqlite:///{tmp_path / 'chinwag.db'}"
    for flags, expected in (([], ["/console"]), (["--no-console"], [])):
        result = CliRunner().invoke(cli.app, ["serve", "--database", database, *flags])
        assert result.exit_code == 0, result.output
        assert [r.path for r in served.pop().routes if isinstance(r, Mount)] == expected
        assert ("/console (sign in" in result.output) == bool(expected)  # the start says where

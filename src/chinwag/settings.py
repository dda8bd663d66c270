"""Server settings: one object, filled from `chinwag serve` flags or CHINWAG_* variables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE = "sqlite:///./chinwag.db"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    database: str = DEFAULT_DATABASE
    public_url: str | None = None  # base of url/links/next_page_url; default from the request
    sqlite_synchronous: str = "NORMAL"  # NORMAL survives kill -9; FULL also survives power loss
    log_format: str = "text"  # text | json
    media_dir: str | None = None
    media_max_mb: int = 150  # larger uploads are refused with 413
    rest_webhooks: str = "twilio"  # twilio | post | all: which events REST actions raise
    webhook_timeout: float = 5.0  # seconds a webhook may take to answer
    webhook_backoff: float = 1.0  # seconds before the first retry; doubles each time
    push_gateway_url: str | None = None  # receives a signed JSON POST per push notification
    rate_limits: str = "off"  # off | twilio: Twilio's Chat actions-per-second limits on writes
    console: bool = True  # the web console at /console (--no-console turns it off)
    demo: bool = False  # serve /demo and its token endpoint (anyone may get a token: never public)
    # Seconds a server process's real-time connections count without its heartbeat (kill -9).
    reachability_lease: float = 30.0
    pg_connections: int = 20  # PostgreSQL connections a server process opens at most

    @property
    def media_max_bytes(self) -> int:
        return self.media_max_mb * 1024 * 1024

    def media_path(self) -> Path:
        """Where uploaded media live: --media-dir, else beside the SQLite file."""
        if self.media_dir:
            return Path(self.media_dir)
        if self.database.startswith("sqlite:///"):
            return Path(self.database.removeprefix("sqlite:///")).resolve().parent / "media"
        return Path("media").resolve()

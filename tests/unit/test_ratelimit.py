"""The rate limiter's window arithmetic, and which bucket each write is counted in."""

from __future__ import annotations

import pytest

from chinwag.domain.ratelimit import ERRORS, SCOPES, TWILIO, RateLimited, Window
from chinwag.resources import REGISTRY

NOW = 1_700_000_000_000  # milliseconds


def test_twilio_window_is_30_per_second_over_5_seconds() -> None:
    assert (TWILIO.rate, TWILIO.seconds, TWILIO.capacity) == (30, 5, 150)


def test_cutoff_is_five_seconds_back() -> None:
    assert TWILIO.cutoff(NOW) == NOW - 5000


@pytest.mark.parametrize(
    ("oldest_counted", "wait"),
    [
        (None, 0),  # fewer than 150 actions in the window: go
        (NOW - 5000, 0),  # the 150th newest left the window this very millisecond
        (NOW - 7000, 0),
        (NOW - 4999, 1),  # ... and leaves it in 1 ms
        (NOW - 2000, 3000),
        (NOW, 5000),  # 150 actions in this millisecond: a whole window to wait
    ],
)
def test_wait(oldest_counted: int | None, wait: int) -> None:
    assert TWILIO.wait_ms(oldest_counted, NOW) == wait


@pytest.mark.parametrize(
    ("wait_ms", "seconds"), [(1, 1), (999, 1), (1000, 1), (1001, 2), (3000, 3), (5000, 5)]
)
def test_retry_after_rounds_up_to_whole_seconds(wait_ms: int, seconds: int) -> None:
    assert Window.retry_after(wait_ms) == seconds


def test_sliding_window_allows_150_in_any_5_seconds() -> None:
    """Simulated: 40 actions offered every 1/40 s for 20 s; the accepted ones never exceed 150
    in any 5-second window, and the long-run rate is 30 per second."""
    window, accepted = Window(), []
    for tick in range(20 * 40):
        now = tick * 25
        counted = [t for t in accepted if t > window.cutoff(now)]
        oldest = sorted(counted, reverse=True)[window.capacity - 1] if len(counted) >= 150 else None
        if window.wait_ms(oldest, now) == 0:
            accepted.append(now)
    for t in accepted:
        assert sum(1 for u in accepted if t - 5000 < u <= t) <= 150
    assert len([t for t in accepted if t < 5000]) == 150  # the first window fills at once
    assert len(accepted) == 150 + 30 * 15  # then one slot frees per 1/30 s


def test_429_answers() -> None:
    channel = RateLimited("channel", 2500)
    assert (channel.status, channel.code) == (429, 50063)
    assert channel.message == "Actions per second limit exceeded"
    assert channel.headers == {"Retry-After": "3"}
    service = RateLimited("service", 1)
    assert (service.code, service.message) == (50074, "Global actions per second limit exceeded")
    assert set(ERRORS) == {"channel", "service"}


# Writes Twilio's lists leave out: account-level resources and chinwag's media upload.
UNLIMITED = {"service", "credential", "media"}


def test_every_write_of_a_chat_resource_is_counted() -> None:
    """Each create/update/delete of a service's resources charges the channel or the service."""
    for res in REGISTRY:
        for action in ("create", "update", "delete"):
            if res.name in UNLIMITED or not any(res.serves(action, v) for v in ("v1", "v2")):
                assert (res.name, action) not in SCOPES
                continue
            assert (res.name, action) in SCOPES, (res.name, action)


def test_twilio_lists() -> None:
    """The changelog's two lists, as written."""
    per_channel = [("channel", "update")] + [
        (res, act)
        for res in ("member", "message", "invite")
        for act in ("create", "update", "delete")
        if (res, act) != ("invite", "update")  # invites cannot be updated
    ]
    per_service = [("channel", "create"), ("channel", "delete"), ("binding", "delete")] + [
        (res, act) for res in ("user", "role") for act in ("create", "update", "delete")
    ]
    assert all(SCOPES[key] == "channel" for key in per_channel)
    assert all(SCOPES[key] == "service" for key in per_service)

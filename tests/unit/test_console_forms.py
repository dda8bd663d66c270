"""The console's settings form sends only what changed; sign-in returns only to the console."""

from __future__ import annotations

import pytest

from chinwag.console.settings_form import changes, shown
from chinwag.console.signin import _next
from chinwag.model.params import Form
from chinwag.resources.services import SERVICE

FIELDS = {f.param: f for f in SERVICE.writable("update", "v2")}
ROW = {
    "friendly_name": "desk",
    "typing_indicator_timeout": 5,
    "reachability_enabled": False,
    "webhook_filters": '["onMessageSent"]',  # list columns hold JSON text
    "post_webhook_url": None,
}


def _posted(**overrides: str) -> Form:
    """The form as the page shows it, with some inputs changed."""
    values = {
        "FriendlyName": "desk",
        "TypingIndicatorTimeout": "5",
        "ReachabilityEnabled": "false",
        "WebhookFilters": "onMessageSent",
        "PostWebhookUrl": "",
        **overrides,
    }
    return Form(values.items())


def test_the_form_shows_stored_values() -> None:
    assert shown(FIELDS["WebhookFilters"], ROW) == "onMessageSent"
    assert shown(FIELDS["ReachabilityEnabled"], ROW) == "false"
    assert shown(FIELDS["PostWebhookUrl"], ROW) == ""


def test_an_unchanged_form_changes_nothing() -> None:
    assert changes(SERVICE, "v2", ROW, _posted()).values == {}


@pytest.mark.parametrize(
    ("overrides", "sent"),
    [
        ({"TypingIndicatorTimeout": "9"}, {"TypingIndicatorTimeout": ["9"]}),
        ({"ReachabilityEnabled": "true"}, {"ReachabilityEnabled": ["true"]}),
        # a list is repeated keys, split on spaces or commas
        (
            {"WebhookFilters": "onMessageSent, onUserAdded"},
            {"WebhookFilters": ["onMessageSent", "onUserAdded"]},
        ),
        ({"WebhookFilters": ""}, {"WebhookFilters": [""]}),  # emptied: `WebhookFilters=` clears
        ({"PostWebhookUrl": "https://h.example"}, {"PostWebhookUrl": ["https://h.example"]}),
    ],
    ids=["int", "bool", "list", "cleared-list", "url"],
)
def test_only_changed_parameters_are_sent(
    overrides: dict[str, str], sent: dict[str, list[str]]
) -> None:
    assert changes(SERVICE, "v2", ROW, _posted(**overrides)).values == sent


@pytest.mark.parametrize(
    ("asked", "went"),
    [
        ("/console/keys", "/console/keys"),
        ("//evil.example/console/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("/v1/Services", "/console/"),
        (None, "/console/"),
    ],
)
def test_sign_in_returns_only_to_a_console_page(asked: str | None, went: str) -> None:
    assert _next(asked) == went

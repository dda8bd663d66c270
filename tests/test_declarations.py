"""Every declaration matches Twilio's spec: its paths, parameters and response properties."""

from __future__ import annotations

from typing import Any

import pytest

from chinwag.api.routes import VERBS, route_path
from chinwag.model.resource import Resource, Version
from chinwag.resources import REGISTRY
from tests.support import contract

# Resources of Twilio's spec (media is a chinwag extension), in every version they are served in.
SERVED = [(res, version) for res in REGISTRY if res.schema for version in sorted(res.versions)]


def _ids(case: tuple[Resource, Version]) -> str:
    return f"{case[1]}-{case[0].name}"


@pytest.fixture(autouse=True)
def _spec() -> None:
    contract.require_spec()


def _operation(version: str, path: str, method: str) -> dict[str, Any] | None:
    operation: dict[str, Any] | None = contract.load(version)["paths"].get(path, {}).get(method)
    return operation


def _form_params(operation: dict[str, Any]) -> set[str]:
    body = operation.get("requestBody", {}).get("content", {})
    schema = body.get("application/x-www-form-urlencoded", {}).get("schema", {})
    return set(schema.get("properties", {}))


@pytest.mark.parametrize("case", SERVED, ids=_ids)
def test_every_declared_action_is_in_the_spec(case: tuple[Resource, Version]) -> None:
    """Each route chinwag serves is an operation of Twilio's spec, and no operation is missed."""
    res, version = case
    for action, (_, verb) in VERBS.items():
        operation = _operation(version, route_path(res, version, action), verb.lower())
        in_spec = res.serves(action, version) and action not in res.extensions
        assert (operation is not None) == in_spec, f"{action} of {res.name}"


@pytest.mark.parametrize("case", SERVED, ids=_ids)
@pytest.mark.parametrize("action", ["create", "update"])
def test_form_parameters_match_the_spec(case: tuple[Resource, Version], action: str) -> None:
    """Every form parameter the spec accepts is declared, and nothing else."""
    res, version = case
    if not res.serves(action, version) or action in res.extensions:  # type: ignore[arg-type]
        return
    verb = VERBS[action][1]  # type: ignore[index]
    operation = _operation(version, route_path(res, version, action), verb.lower())  # type: ignore[arg-type]
    assert operation is not None
    declared = {f.param for f in res.writable(action, version)}  # type: ignore[arg-type]
    assert declared == _form_params(operation)


@pytest.mark.parametrize("case", SERVED, ids=_ids)
def test_required_parameters_match_the_spec(case: tuple[Resource, Version]) -> None:
    """The parameters the spec requires on create are the ones declared required."""
    res, version = case
    if not res.serves("create", version) or "create" in res.extensions:
        return
    operation = _operation(version, route_path(res, version, "create"), "post")
    assert operation is not None
    schema = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    declared = {f.param for f in res.writable("create", version) if f.required_in(version)}
    assert declared == set(schema.get("required", []))


@pytest.mark.parametrize("case", SERVED, ids=_ids)
def test_list_filters_match_the_spec(case: tuple[Resource, Version]) -> None:
    """List query parameters beyond paging are the declared filters (and Order for messages)."""
    res, version = case
    operation = _operation(version, route_path(res, version, "list"), "get")
    assert operation is not None
    spec_params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    declared = {f.param for f in res.filters} | {"PageSize", "Page", "PageToken"}
    if res.sort_column != "pk":
        declared.add("Order")
    assert declared == spec_params


@pytest.mark.parametrize("case", SERVED, ids=_ids)
def test_response_properties_match_the_spec(case: tuple[Resource, Version]) -> None:
    """The top-level JSON keys a resource renders are exactly its schema's properties."""
    res, version = case
    schema = contract.load(version)["components"]["schemas"][f"chat.{version}.{res.schema}"]
    rendered = {f.name.split(".")[0] for f in res.rendered(version)}
    if res.has_table:
        rendered |= {"sid", "account_sid", "date_created", "date_updated", "url"}
        rendered |= {anc.ref_column for anc in res.ancestors}
    else:  # user channels: a view, rendered by its rules
        rendered |= {"account_sid", "links"} | {anc.ref_column for anc in res.ancestors[:-1]}
        if version == "v2":
            rendered |= {"user_sid", "url"}
    rendered -= {f.name for f in res.fields if f.hidden}
    if any(version in link.versions for link in res.links):
        rendered.add("links")
    if res.name == "service" and version == "v1":
        rendered.add("webhooks")  # rendered by its rules from the per-event targets
    if res.name == "binding":
        rendered.add("links")  # the user's URL, rendered by its rules
    assert rendered == set(schema["properties"])


@pytest.mark.parametrize("case", SERVED, ids=_ids)
def test_page_size_maximum_matches_the_spec(case: tuple[Resource, Version]) -> None:
    """PageSize is clamped to the maximum the spec gives for the path."""
    res, version = case
    operation = _operation(version, route_path(res, version, "list"), "get")
    assert operation is not None
    (page_size,) = [p for p in operation["parameters"] if p["name"] == "PageSize"]
    assert res.page_size_max[version] == page_size["schema"]["maximum"]

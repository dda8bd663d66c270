"""Every operation of Twilio's Chat v1 and v2 specs, fuzzed by schemathesis against the server.

For each operation a fresh world (one of every resource) is built in the suite's own account and
schemathesis gets its SIDs as fixed path parameters, so that requests reach real rows instead of
stopping at a 404. It then sends a few schema-valid requests (positive mode) and a few that break
the schema (negative mode; left out where every input is fixed, as in a fetch by path alone),
as that account. Each answer must be:

- never a 5xx;
- if an error, Twilio's shape: exactly {code, message, more_info, status}, status equal to the
  HTTP status, more_info Twilio's link for the code;
- if a 2xx, one the spec declares for the operation, with a body that validates against its
  schema (schemathesis' `response_schema_conformance`, and the API suite's stricter contract
  check: every property present, none extra).

Generation is deterministic (`derandomize`), small (MAX_EXAMPLES per mode and operation) and
does not shrink, so the suite is bounded in time. A request with `X-Twilio-Webhook-Enabled:
true` is sent with `false` instead: the world's webhook URLs are not real hosts, and the session
server must not queue deliveries to them.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from schemathesis import GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.badinput.world import World
from tests.support import contract
from tests.support.servers import Server

MAX_EXAMPLES = 5
ERROR_KEYS = {"code", "message", "more_info", "status"}
WEBHOOK_HEADER = "X-Twilio-Webhook-Enabled"


@cache
def schema(version: str) -> Any:
    return schemathesis.openapi.from_path(str(contract.SPEC_DIR / contract.SPECS[version]))


def operations() -> list[Any]:
    """(version, method, path) of every operation of the specs."""
    found = []
    for version in sorted(contract.SPECS):
        contract.load(version)  # a missing document fails the collection, loudly
        for result in schema(version).get_all_operations():
            op = result.ok()
            found.append(pytest.param(version, op.method.upper(), op.path, id=op.label))
    return found


def _basic(sid: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()


def assert_twilio_error(response: Response, where: str) -> None:
    body = json.loads(response.content)
    assert isinstance(body, dict), f"{where}: error body {response.content!r}"
    assert set(body) == ERROR_KEYS, f"{where}: error body {body}"
    assert body["status"] == response.status_code, f"{where}: {body}"
    assert isinstance(body["code"], int), f"{where}: {body}"
    assert isinstance(body["message"], str), f"{where}: {body}"
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}", body


def check_response(case: Any, response: Response) -> None:
    """No 5xx; errors Twilio-shaped; a 2xx declared and valid against its schema."""
    where = (
        f"{case.method} {case.formatted_path} -> {response.status_code}\n{case.as_curl_command()}"
    )
    assert response.status_code < 500, f"{where}\n{response.content!r}"
    if response.status_code >= 400:
        assert_twilio_error(response, where)
        return
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
    path = urlsplit(response.request.url).path
    try:
        contract.check(case.method, path, response.status_code, response.content.decode())
    except (AssertionError, jsonschema.ValidationError) as exc:
        raise AssertionError(f"{where}\n{exc}") from None


def modes(operation: Any) -> list[GenerationMode]:
    """Positive mode, and negative mode where some input is not fixed (a query, header or body)."""
    free = [p for p in operation.headers if p.name != "Authorization"]
    if list(operation.query) or free or list(operation.body):
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


def fuzz(operation: Any, world: World, server: Server, auth: str) -> int:
    """Run both generation modes against `operation`; how many requests were sent."""
    sent = 0
    for mode in modes(operation):
        strategy = operation.as_strategy(
            generation_mode=mode,
            path_parameters=world.path_parameters(operation.path),
            headers={"Authorization": auth},
        )

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            nonlocal sent
            case.path_parameters = world.path_parameters(operation.path)
            case.headers = dict(case.headers or {})
            case.headers["Authorization"] = auth
            if str(case.headers.get(WEBHOOK_HEADER, "")).lower() == "true":
                case.headers[WEBHOOK_HEADER] = "false"
            response = case.call(base_url=server.url, timeout=30)
            sent += 1
            check_response(case, response)

        run()
    return sent


@pytest.mark.usefixtures("_spec")
@pytest.mark.parametrize(("version", "method", "path"), operations())
def test_operation(
    version: str,
    method: str,
    path: str,
    server: Server,
    fuzz_account: tuple[str, str],
    world: World,
) -> None:
    """No 5xx, Twilio-shaped errors and schema-valid successes for fuzzed calls of one operation."""
    operation = schema(version)[path][method]
    sent = fuzz(operation, world, server, _basic(*fuzz_account))
    assert sent >= 1

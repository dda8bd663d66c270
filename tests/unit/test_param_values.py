"""Parsing rules for the bad values a new user tries (docs/behaviour.md, "Bad values").

Deep or non-standard JSON, digits of other scripts, dates out of range, long repeated lists and
NUL in list filters: each a 400 naming its parameter, never an exception.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chinwag.api.forms import decode
from chinwag.model.errors import ApiError
from chinwag.model.params import (
    MAX_JSON_DEPTH,
    MAX_LIST_VALUES,
    check_filter,
    coerce,
    json_depth,
)
from chinwag.model.resource import Field, Filter
from chinwag.ops.paging import page_request

ATTRIBUTES = Field("attributes", "json", "Attributes", max_length=16 * 1024, code=50304)


def refused(f: Field, value: str | list[str]) -> ApiError:
    """`value` for `f` is a 400 naming the parameter; the error."""
    with pytest.raises(ApiError) as err:
        coerce(f, value if isinstance(value, list) else [value])
    assert err.value.status == 400
    assert err.value.code == f.code
    assert err.value.message.startswith(f"Invalid parameter {f.param}: "), err.value.message
    return err.value


class TestJson:
    @pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 1_025, 2_500])
    def test_too_deep(self, depth: int) -> None:
        """Arrays or objects nested past the limit are refused, however deep (no RecursionError)."""
        for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
            assert f"nested deeper than {MAX_JSON_DEPTH}" in refused(ATTRIBUTES, text).message

    def test_at_the_limit(self) -> None:
        """Exactly the limit is stored as sent."""
        text = '{"a":' * (MAX_JSON_DEPTH - 1) + "[1]" + "}" * (MAX_JSON_DEPTH - 1)
        assert coerce(ATTRIBUTES, [text]) == text

    def test_brackets_in_strings_do_not_count(self) -> None:
        """Brackets inside strings are text, not nesting."""
        text = '{"a": "' + "[" * 2000 + '"}'
        assert coerce(ATTRIBUTES, [text]) == text

    @pytest.mark.parametrize(
        "text",
        [
            '{"a":NaN}',
            "NaN",
            "Infinity",
            "[-Infinity]",
            '{"a":1e999}',  # a double would be infinite
            "9" * 400,
            '"\\ud800"',  # an unpaired surrogate escape
            '"a\x00b"',  # a raw control character
            "{} x",
            "",
        ],
    )
    def test_not_json_every_client_reads(self, text: str) -> None:
        """What JSON.parse rejects or turns into something else is refused."""
        assert "not valid JSON" in refused(ATTRIBUTES, text).message

    @pytest.mark.parametrize(
        "text", ['"\\u0000"', '"\\ud83d\\ude00"', "-0", "1e308", '{"a":{"a":1}}', "null", "[]"]
    )
    def test_valid_json_is_kept_verbatim(self, text: str) -> None:
        """Escaped NUL, paired surrogates, extreme but finite numbers: stored as sent."""
        assert coerce(ATTRIBUTES, [text]) == text

    def test_length_is_checked_first(self) -> None:
        """Over the length limit is 50303, before the text is parsed."""
        with pytest.raises(ApiError) as err:
            coerce(ATTRIBUTES, ["[" * (16 * 1024 + 1)])
        assert err.value.code == 50303

    def test_depth_is_walked_without_recursion(self) -> None:
        """The walk counts arrays and objects, scalars are 0, and a deep value costs no stack."""
        assert json_depth(1) == 0
        assert json_depth({"a": [1, {"b": []}]}) == 4
        deep: list[object] = []
        for _ in range(100_000):
            deep = [deep]
        assert json_depth(deep) == 100_001


class TestIntegers:
    F = Field("typing_indicator_timeout", "int", "TypingIndicatorTimeout", maximum=600, code=50053)

    @pytest.mark.parametrize(
        "text", ["\u0661\u0662", "\uff11\uff12", "12\n", "\n12", " 12", "1_2", "0x10", "9" * 19]
    )
    def test_only_ascii_digits(self, text: str) -> None:
        """Other scripts' digits, a trailing newline, underscores or 19 digits: refused."""
        assert "is not an integer" in refused(self.F, text).message

    def test_plain_integers(self) -> None:
        assert coerce(self.F, ["+12"]) == 12
        assert coerce(self.F, ["012"]) == 12


class TestPaging:
    @pytest.mark.parametrize("token", ["PA\uff11", "PA1\n", "PB\u0661", "PA" + "9" * 19])
    def test_tokens_ascii_only(self, token: str) -> None:
        """A PageToken is P[AB] and 1 to 18 ASCII digits, nothing after."""
        with pytest.raises(ApiError) as err:
            page_request(decode(b"PageToken=" + token.encode()), 50)
        assert err.value.status == 400

    @pytest.mark.parametrize("size", ["5\n", "\uff15", "9" * 19])
    def test_page_size_ascii_only(self, size: str) -> None:
        with pytest.raises(ApiError) as err:
            page_request(decode(b"PageSize=" + size.encode()), 50)
        assert "PageSize" in err.value.message

    def test_huge_page_size_is_clamped(self) -> None:
        assert page_request(decode(b"PageSize=" + b"9" * 18), 50).size == 50


class TestDates:
    F = Field("last_consumption_timestamp", "date", "LastConsumptionTimestamp", code=50405)

    @pytest.mark.parametrize(
        "text",
        [
            "9999-12-31T23:59:59-01:00",  # past year 9999 in UTC
            "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
            "0999-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
        ],
    )
    def test_out_of_range(self, text: str) -> None:
        """Dates that overflow, or fall outside 1970..9999, are a 400, not an OverflowError."""
        refused(self.F, text)

    def test_edges(self) -> None:
        assert coerce(self.F, ["1970-01-01T00:00:00Z"]) == datetime(1970, 1, 1, tzinfo=UTC)
        assert coerce(self.F, ["9999-12-31T23:59:59Z"]) == datetime(
            9999, 12, 31, 23, 59, 59, tzinfo=UTC
        )


class TestLists:
    F = Field("webhook_filters", "list", "WebhookFilters", code=50054)

    def test_repeats_collapse(self) -> None:
        """A value repeated 9,999 times is that value once; first-seen order is kept."""
        assert coerce(self.F, ["b", "a"] + ["b"] * 9_997) == ["b", "a"]

    def test_too_many_distinct(self) -> None:
        """More distinct values than the limit is a 400 naming the parameter."""
        assert coerce(self.F, [str(n) for n in range(MAX_LIST_VALUES)]) == [
            str(n) for n in range(MAX_LIST_VALUES)
        ]
        refused(self.F, [str(n) for n in range(MAX_LIST_VALUES + 1)])


class TestFilters:
    def test_nul_in_a_filter(self) -> None:
        """A list query's filter value with a NUL is a 400 naming it (PostgreSQL cannot hold it)."""
        with pytest.raises(ApiError) as err:
            check_filter(Filter("Identity", "identity"), "a\x00")
        assert err.value.message.startswith("Invalid parameter Identity")

    def test_choices(self) -> None:
        check_filter(Filter("Type", "type", ("public", "private")), "public")
        with pytest.raises(ApiError):
            check_filter(Filter("Type", "type", ("public", "private")), "secret")

"""Form decoding and coercion: the rules every parameter of every resource goes through."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chinwag.api.forms import decode
from chinwag.model.errors import ApiError
from chinwag.model.params import coerce, parse
from chinwag.model.resource import V2, Field


class TestDecode:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (b"FriendlyName=a+b", "a b"),  # Python client: spaces as +
            (b"FriendlyName=a%20b", "a b"),  # Node client: spaces as %20
            (b"FriendlyName=h%C3%A9llo", "h\u00e9llo"),  # UTF-8 percent-encoded
            (b"FriendlyName=", ""),  # blank values are kept
        ],
    )
    def test_values(self, raw: bytes, expected: str) -> None:
        """Both space encodings and UTF-8 decode to the same text."""
        assert decode(raw).get("FriendlyName") == expected

    def test_repeated_and_dotted_keys(self) -> None:
        """Lists are repeated keys; nested names are literal dotted keys."""
        form = decode(b"Permission=a&Permission=b&Limits.ChannelMembers=5")
        assert form.getlist("Permission") == ["a", "b"]
        assert form.get("Limits.ChannelMembers") == "5"

    def test_invalid_utf8_is_400(self) -> None:
        """Bytes that are not UTF-8 are a Twilio 400, not a crash."""
        with pytest.raises(ApiError) as err:
            decode(b"FriendlyName=\xff\xfe")
        assert err.value.status == 400

    def test_too_many_pairs_is_400(self) -> None:
        """Ten thousand repeated keys are accepted; more are refused."""
        assert len(decode(b"&".join([b"A=1"] * 10_000)).getlist("A")) == 10_000
        with pytest.raises(ApiError):
            decode(b"&".join([b"A=1"] * 10_001))


class TestCoerce:
    @pytest.mark.parametrize(("text", "value"), [("true", True), ("FALSE", False), ("True", True)])
    def test_booleans_any_case(self, text: str, value: bool) -> None:
        """Booleans are true/false in any case."""
        assert coerce(Field("x", "bool", "X"), [text]) is value

    @pytest.mark.parametrize("text", ["yes", "1", ""])
    def test_bad_boolean(self, text: str) -> None:
        """Anything else is 400 naming the parameter."""
        with pytest.raises(ApiError) as err:
            coerce(Field("x", "bool", "X"), [text])
        assert "X" in err.value.message

    def test_int_bounds_use_the_fields_code(self) -> None:
        """Integers are checked against their bounds with the field's Twilio code."""
        f = Field(
            "limits.channel_members", "int", "Limits.ChannelMembers", maximum=1000, code=50061
        )
        assert coerce(f, ["1000"]) == 1000
        with pytest.raises(ApiError) as err:
            coerce(f, ["1001"])
        assert err.value.code == 50061
        with pytest.raises(ApiError):
            coerce(f, ["1e3"])

    def test_json_is_stored_as_sent(self) -> None:
        """Attributes keep the caller's text; invalid JSON is 400 with the field's code."""
        f = Field("attributes", "json", "Attributes", code=50304)
        assert coerce(f, ['{ "a" : 1 }']) == '{ "a" : 1 }'
        with pytest.raises(ApiError) as err:
            coerce(f, ["{nope"])
        assert err.value.code == 50304

    def test_dates(self) -> None:
        """Import dates are ISO 8601, stored in UTC."""
        f = Field("date_created", "date", "DateCreated", versions=V2)
        assert coerce(f, ["2015-07-30T20:00:00Z"]) == datetime(2015, 7, 30, 20, tzinfo=UTC)
        assert coerce(f, ["2015-07-30T22:00:00+02:00"]) == datetime(2015, 7, 30, 20, tzinfo=UTC)
        with pytest.raises(ApiError):
            coerce(f, ["yesterday"])

    def test_sid_and_url_and_choices(self) -> None:
        """SIDs need their prefix, URLs a scheme and host, enums one of their values."""
        with pytest.raises(ApiError):
            coerce(Field("role_sid", "sid", "RoleSid", sid_prefix="RL"), ["IS" + "0" * 32])
        with pytest.raises(ApiError):
            coerce(Field("u", "url", "U"), ["ftp://x"])
        with pytest.raises(ApiError):
            coerce(Field("m", param="M", choices=("GET", "POST")), ["PUT"])

    def test_empty_clears_nullable_fields(self) -> None:
        """An empty value clears a field declared empty_is_null."""
        assert coerce(Field("u", "url", "U", empty_is_null=True), [""]) is None


class TestParse:
    def test_required_missing(self) -> None:
        """A required parameter that is absent is 400 'Missing required parameter'."""
        with pytest.raises(ApiError) as err:
            parse(
                [Field("identity", param="Identity", create=True, required=True)],
                decode(b""),
                creating=True,
                version="v1",
            )
        assert err.value.message == "Missing required parameter Identity in the post body"

    def test_optional_in_a_version(self) -> None:
        """A field required in v1 may be optional in v2 (message Body)."""
        f = Field("body", param="Body", create=True, required=True, optional_in=V2)
        assert parse([f], decode(b""), creating=True, version="v2") == {}

    def test_unknown_parameters_are_ignored(self) -> None:
        """Twilio ignores parameters it does not know."""
        f = Field("friendly_name", param="FriendlyName", create=True)
        assert parse([f], decode(b"Bogus=1&FriendlyName=a"), creating=True, version="v1") == {
            "friendly_name": "a"
        }

"""Webhook signatures: the official RequestValidator accepts what chinwag signs."""

from __future__ import annotations

import json

from twilio.request_validator import RequestValidator

from chinwag.events.signing import json_url, signature, with_query

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}


class _Form(dict[str, str | list[str]]):
    """A form with repeated names, as the validator reads one (a framework's MultiDict)."""

    def getall(self, name: str) -> list[str]:
        value = self[name]
        return value if isinstance(value, list) else [value]


class TestSignature:
    def test_twilio_docs_vector(self) -> None:
        """Twilio's documented example signs to its documented value."""
        assert signature(TOKEN, URL, PARAMS) == "GvWf1cFY/Q7PnoempGyD5oXAezc="

    def test_form_post_validates(self) -> None:
        """A form POST signature validates with the official validator."""
        params = {"EventType": "onMessageSent", "Body": "hi & bye", "Index": "0"}
        sig = signature("authtoken123", "http://127.0.0.1:9/hook", params)
        assert RequestValidator("authtoken123").validate("http://127.0.0.1:9/hook", params, sig)

    def test_repeated_and_unicode_values_validate(self) -> None:
        """Values of a repeated name are signed sorted and once each, text as UTF-8, as the
        official validator checks them."""
        params = {"Attributes": '{"tag": "été 😀"}', "Type": ["b", "a", "b"], "Index": "7"}
        sig = signature("tok", "https://h.example/hook", params)
        assert RequestValidator("tok").validate("https://h.example/hook", _Form(params), sig)
        other = _Form({**params, "Type": ["a"]})
        assert not RequestValidator("tok").validate("https://h.example/hook", other, sig)

    def test_get_signs_the_url(self) -> None:
        """A GET webhook carries its parameters in the URL, and only the URL is signed."""
        url = with_query("https://h.example/pre", {"EventType": "onMessageSend", "Body": "a b"})
        assert RequestValidator("tok").validate(url, {}, signature("tok", url))

    def test_json_body(self) -> None:
        """A JSON body is signed through bodySHA256 in the URL."""
        body = json.dumps({"identity": "alice", "body": "hi"}).encode()
        url = json_url("https://gw.example/push", body)
        sig = signature("tok", url)
        assert RequestValidator("tok").validate(url, body.decode(), sig)
        assert not RequestValidator("tok").validate(url, body.decode() + " ", sig)

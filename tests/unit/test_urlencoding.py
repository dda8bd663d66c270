"""chinwag's urlencode writes exactly what urllib's does, for any string names and values."""

from __future__ import annotations

import random
import urllib.parse

import pytest

from chinwag.urlencoding import quoted, urlencode

# Kept as they are, quoted, spaces, separators, non-ASCII letters and digits, astral, controls.
ALPHABET = "aZ09_.-~ &=+%/?#:;,'\"{}[]\n\té中\u0661\U0001d7d8😀\x00"  # \u0661: Arabic-Indic 1
SAMPLES = [
    "",
    "onMessageSent",
    "IS01a242091b424675e0d006d1c79b4d94",
    "bench message w0-0",
    "2026-12-04T17:10:31Z",
    '{"a": [1, 2]}',
    "ünïcödé",
    "\u0661\u0662\u0663",  # Arabic-Indic digits: str.isalnum, not ASCII
    "ⅻ",  # a Roman numeral: str.isalnum too
]


def _strings(count: int) -> list[str]:
    rng = random.Random(20261204)
    made = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12))) for _ in range(count)]
    return SAMPLES + made


@pytest.mark.parametrize("text", _strings(300))
def test_each_string_is_quoted_as_quote_plus_does(text: str) -> None:
    assert quoted(text) == urllib.parse.quote_plus(text)


def test_a_form_and_pairs_encode_as_urllib_does() -> None:
    """In their order, names and values alike; pairs may repeat a name."""
    strings = _strings(400)
    form = dict(zip(strings[::2], strings[1::2], strict=False))
    pairs = [("PageSize", "50"), ("Type", "public"), ("Type", "private"), *form.items()]
    assert urlencode(form) == urllib.parse.urlencode(form)
    assert urlencode(pairs) == urllib.parse.urlencode(pairs)
    assert urlencode({}) == ""

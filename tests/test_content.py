"""What a broadcast may carry: a text or caption with nothing visible is refused like an
empty one; any visible character (a letter of any script, a digit, an emoji) is enough."""

from __future__ import annotations

import pytest

from core.i18n import Catalog
from db.models import ContentKind
from handlers.errors import describe
from services.content import BroadcastContent, has_visible_text
from services.errors import ContentInvisible, ContentTooLong

INVISIBLE = {
    "empty": "",
    "spaces and line breaks": " \n\t \r\n ",
    "no-break, ideographic and other spaces": "\u00a0\u2007\u202f\u3000\u205f\u1680",
    "line and paragraph separators": "\u2028\u2029",
    "zero-width space, non-joiner, joiner": "\u200b\u200c\u200d",
    "word joiner and byte order mark": "\u2060\ufeff",
    "soft hyphen and direction marks": "\u00ad\u200e\u200f\u061c",
    "bidi embedding and isolates": "\u202a\u202e\u2066\u2069",
    "invisible operators and a reserved one": "\u2061\u2062\u2063\u2064\u2065",
    "control characters": "\x00\x07\x1b\x7f\x85",
    "combining marks alone": "\u0301\u0308\u20dd",
    "variation selectors and grapheme joiner": "\ufe0f\ufe0e\u034f\U000e0100",
    "hangul fillers": "\u115f\u1160\u3164\uffa0",
    "braille blank": "\u2800\u2800",
    "mongolian vowel separator and khmer inherent vowels": "\u180e\u17b4\u17b5",
    "musical null notehead and format symbols": "\U0001d159\U0001d173\U0001d17a",
    "tags": "\U000e0001\U000e0041\U000e007f",
    "a mix of all kinds": " \u200b\u3164\u2800\u0301\ufeff\n",
}
VISIBLE = {
    "latin": "Hi",
    "cyrillic": "Привет",
    "one letter among invisibles": "\u200b\u3164 я \u2800",
    "a digit": "7",
    "punctuation": ".",
    "emoji": "👍",
    "emoji with variation selector": "❤️",
    "family emoji joined by zero-width joiners": "👨\u200d👩\u200d👧",
    "flag": "🇷🇺",
    "letter with a combining accent": "e\u0301",
    "chinese": "你好",
    "arabic": "مرحبا",
    "an unassigned code point (perhaps a newer emoji)": "\U0001fae8",
}


@pytest.mark.parametrize("text", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_texts_have_no_visible_character(text: str) -> None:
    assert has_visible_text(text) is False


@pytest.mark.parametrize("text", VISIBLE.values(), ids=VISIBLE.keys())
def test_visible_texts_have_one(text: str) -> None:
    assert has_visible_text(text) is True


@pytest.mark.parametrize("text", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_an_invisible_text_message_is_refused(text: str) -> None:
    with pytest.raises(ContentInvisible) as refused:
        BroadcastContent(ContentKind.TEXT, text).validate(1000)

    assert (refused.value.what, str(refused.value)) == (
        "Message",
        "Message is empty or invisible: it has no visible characters",
    )


@pytest.mark.parametrize("text", VISIBLE.values(), ids=VISIBLE.keys())
def test_a_visible_text_message_passes(text: str) -> None:
    BroadcastContent(ContentKind.TEXT, text).validate(1000)


def test_an_invisible_caption_is_refused_but_no_caption_is_fine() -> None:
    with pytest.raises(ContentInvisible) as refused:
        BroadcastContent(ContentKind.PHOTO, "\u200b \u3164", file_id="PHOTO-1").validate(1000)

    assert refused.value.what == "Caption"
    BroadcastContent(ContentKind.PHOTO, "", file_id="PHOTO-1").validate(1000)
    BroadcastContent(ContentKind.VIDEO, "👍", file_id="VIDEO-1").validate(1000)


def test_an_invisible_text_is_refused_before_its_length_is_judged() -> None:
    with pytest.raises(ContentInvisible):
        BroadcastContent(ContentKind.TEXT, "\u200b" * 2000).validate(1000)
    with pytest.raises(ContentTooLong):
        BroadcastContent(ContentKind.TEXT, "\u200b" * 1000 + "x").validate(1000)


@pytest.mark.parametrize(
    ("language", "what", "expected"),
    [
        ("en", "Message", "The message has no visible characters"),
        ("en", "Caption", "The caption has no visible characters"),
        ("ru", "Message", "В сообщении нет видимых символов"),
        ("ru", "Caption", "В подписи нет видимых символов"),
    ],
)
def test_the_refusal_is_worded_in_the_readers_language(
    language: str, what: str, expected: str
) -> None:
    text = describe(ContentInvisible(what), Catalog("en").translator(language))

    assert text.startswith(expected)

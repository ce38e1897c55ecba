"""The languages the bot speaks, and which of them a language tag means.

Apart from the catalogs (`core.i18n`) so that code which only checks a language, such as
the roster import, does not load Fluent.
"""

from __future__ import annotations

import re

SUPPORTED_LANGUAGES = ("ru", "en")

# A language and optional subtags (region, script), as Telegram (`pt-br`) or a locale
# setting (`ru_RU`) writes them; compared in lower case.
_TAG = re.compile(r"([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*")


def supported_language(tag: str | None) -> str | None:
    """The supported language that `tag` means (`en`, `RU`, `en-US`, `ru_RU`), or None for
    an empty tag, another language, or text that is not a language tag."""
    match = _TAG.fullmatch((tag or "").strip().lower())
    if match is None or match[1] not in SUPPORTED_LANGUAGES:
        return None
    return match[1]

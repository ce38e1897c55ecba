"""Russian and English strings, kept in Fluent catalogs (`core/locales/<lang>/*.ftl`).

Each feature has its own `.ftl` file. A handler receives a `Translator` for the user's
language (picked by `handlers.middlewares.I18nMiddleware`) and calls it with a message id and
arguments: `t("broadcast-created", id=7)`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluent.runtime import FluentBundle, FluentResource
from fluent.syntax import ast, parse

from core.languages import SUPPORTED_LANGUAGES, supported_language

LOCALES_DIR = Path(__file__).with_name("locales")

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Translator:
    """Formats messages of one language, falling back to the other for missing ids."""

    language: str
    bundles: tuple[FluentBundle, ...]

    def __call__(self, message_id: str, **args: Any) -> str:
        for bundle in self.bundles:
            pattern = (
                bundle.get_message(message_id).value if bundle.has_message(message_id) else None
            )
            if pattern is not None:
                text, errors = bundle.format_pattern(pattern, args)
                for error in errors:
                    logger.warning("i18n %s/%s: %s", self.language, message_id, error)
                return str(text)
        logger.error("i18n: no message %r in any catalog", message_id)
        return message_id


class Catalog:
    """All translators, loaded once at start."""

    def __init__(self, default_language: str, locales_dir: Path = LOCALES_DIR) -> None:
        self.default_language = default_language
        self._bundles = {
            lang: _load_bundle(locales_dir / lang, lang) for lang in SUPPORTED_LANGUAGES
        }

    def pick_language(self, language_code: str | None) -> str:
        """`ru-RU` → `ru`; anything unsupported → the default language."""
        return supported_language(language_code) or self.default_language

    def translator(self, language_code: str | None) -> Translator:
        language = self.pick_language(language_code)
        fallbacks = [lang for lang in SUPPORTED_LANGUAGES if lang != language]
        return Translator(language, tuple(self._bundles[lang] for lang in (language, *fallbacks)))


def message_ids(language: str, locales_dir: Path = LOCALES_DIR) -> set[str]:
    """Every message id a language's catalog defines (the tests compare ru with en)."""
    return {
        entry.id.name
        for path in (locales_dir / language).glob("*.ftl")
        for entry in parse(path.read_text(encoding="utf-8")).body
        if isinstance(entry, ast.Message)
    }


def _load_bundle(folder: Path, language: str) -> FluentBundle:
    bundle = FluentBundle([language], use_isolating=False)
    for path in sorted(folder.glob("*.ftl")):
        bundle.add_resource(FluentResource(path.read_text(encoding="utf-8")))
    return bundle

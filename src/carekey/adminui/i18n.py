"""Danish first, English second. Source strings are Danish; English translations live in
``locale/en/*.po`` (one file per area, merged at start-up, compiled in memory with Babel)."""

from __future__ import annotations

import gettext as stdlib_gettext
from contextvars import ContextVar, Token
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"
LOCALE_DIR = Path(__file__).parent / "locale"
_current: ContextVar[str] = ContextVar("carekey_language", default=DEFAULT_LANGUAGE)


@lru_cache(maxsize=4)
def translations(language: str) -> stdlib_gettext.NullTranslations:
    """The merged catalog for ``language`` (Danish, the source language, needs none)."""
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return stdlib_gettext.NullTranslations()
    merged: Translations | None = None
    for po_file in sorted((LOCALE_DIR / language).glob("*.po")):
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        loaded = Translations(fp=buffer)
        if merged is None:
            merged = loaded
        else:
            merged.merge(loaded)
    return merged or stdlib_gettext.NullTranslations()


def catalog_ids(language: str = "en") -> dict[str, str]:
    """Every message id with its translation, for the completeness test."""
    result: dict[str, str] = {}
    for po_file in sorted((LOCALE_DIR / language).glob("*.po")):
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if message.id and isinstance(message.id, str):
                result[message.id] = str(message.string or "")
            elif message.id:  # a plural entry: the singular and the plural id, each translated
                forms = message.string if isinstance(message.string, tuple | list) else ()
                for index, text in enumerate(message.id[:2]):
                    result[text] = str(forms[index] if index < len(forms) else "") or ""
    return result


def plural_catalog(language: str = "en") -> dict[tuple[str, str], tuple[str, ...]]:
    """Every plural entry (``msgid`` + ``msgid_plural``) with its forms (``msgstr[0]``,
    ``msgstr[1]``, ...), for the completeness test."""
    result: dict[tuple[str, str], tuple[str, ...]] = {}
    for po_file in sorted((LOCALE_DIR / language).glob("*.po")):
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if isinstance(message.id, (tuple, list)) and len(message.id) == 2:
                forms = message.string if isinstance(message.string, (tuple, list)) else ()
                result[(str(message.id[0]), str(message.id[1]))] = tuple(str(f) for f in forms)
    return result


def current_language() -> str:
    """The language of the request being served."""
    return _current.get()


def use_language(language: str) -> Token[str]:
    """Serve the rest of this request in ``language``."""
    return _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def reset_language(token: Token[str]) -> None:
    """Undo ``use_language`` at the end of a request."""
    _current.reset(token)


def gettext(message: str) -> str:
    """Translate a Danish source string into the current language."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Singular or plural by ``n``, translated: ``ngettext("{n} dør", "{n} døre", n)``. The
    English is a plural entry of a ``.po`` file (``msgid`` / ``msgid_plural`` / ``msgstr[0]`` /
    ``msgstr[1]``); in templates ``ngettext("%(num)s dør", "%(num)s døre", n)``."""
    return translations(current_language()).ngettext(singular, plural, n)


_ = gettext

"""Every Danish string of the administration has an English translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

import carekey
from carekey.adminui import i18n

# The whole package: pages live with their part of the domain, templates in adminui.
WEB_DIR = Path(carekey.__file__).parent


def _message_ids() -> set[str]:
    found: set[str] = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(WEB_DIR),
        method_map=[("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")],
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.add(text)
    return found


def test_every_string_has_an_english_translation() -> None:
    catalog = i18n.catalog_ids("en")
    missing = sorted(m for m in _message_ids() if not catalog.get(m))
    assert missing == [], f"{len(missing)} strings lack English: {missing[:10]}"


def test_the_extraction_sees_the_templates() -> None:
    ids = _message_ids()
    assert "Log ind i administrationen" in ids  # a template string
    assert "Forkert kommune, medarbejdernummer eller adgangskode." in ids  # a Python string


def test_english_is_served_and_danish_is_the_default() -> None:
    token = i18n.use_language("en")
    try:
        assert i18n.gettext("Medarbejdere") == "Employees"
    finally:
        i18n.reset_language(token)
    assert i18n.gettext("Medarbejdere") == "Medarbejdere"

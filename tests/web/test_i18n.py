"""Every Danish string of the administration has an English translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

import carekey
from carekey.adminui import i18n

# The whole package: pages live with their part of the domain, templates in adminui.
WEB_DIR = Path(carekey.__file__).parent


def _extracted() -> tuple[set[str], set[tuple[str, str]]]:
    """(every ``_()`` string, every ``ngettext()`` pair) in the templates and the Python."""
    found: set[str] = set()
    plurals: set[tuple[str, str]] = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(WEB_DIR),
        method_map=[("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")],
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
    ):
        if isinstance(message, tuple) and len(message) >= 2 and message[0] and message[1]:
            plurals.add((str(message[0]), str(message[1])))
        elif isinstance(message, str) and message:
            found.add(message)
    return found, plurals


def _message_ids() -> set[str]:
    return _extracted()[0]


def test_every_string_has_an_english_translation() -> None:
    catalog = i18n.catalog_ids("en")
    missing = sorted(m for m in _message_ids() if not catalog.get(m))
    assert missing == [], f"{len(missing)} strings lack English: {missing[:10]}"


def test_every_plural_has_english_singular_and_plural() -> None:
    catalog = i18n.plural_catalog("en")
    wrong = []
    for pair in sorted(_extracted()[1]):
        forms = catalog.get(pair)
        if forms is None or len(forms) != 2 or not all(f.strip() for f in forms):
            wrong.append(f"{pair}: {forms}")
    assert wrong == [], f"{len(wrong)} plurals lack English forms: {wrong[:10]}"


def test_plurals_are_served_by_count() -> None:
    one, many = "%(num)s medarbejder", "%(num)s medarbejdere"
    assert i18n.ngettext(one, many, 1) == one
    assert i18n.ngettext(one, many, 2) == many
    assert i18n.ngettext(one, many, 0) == many
    token = i18n.use_language("en")
    try:
        assert i18n.ngettext(one, many, 1) == "%(num)s employee"
        assert i18n.ngettext(one, many, 2) == "%(num)s employees"
    finally:
        i18n.reset_language(token)


def test_a_plural_in_a_template_reads_right() -> None:
    from carekey.adminui.deps import templates

    page = templates.env.from_string(
        '{{ ngettext("%(num)s dør", "%(num)s døre", n) }}|'
        '{{ ngettext("%(num)s medarbejder", "%(num)s medarbejdere", n) }}'
    )
    assert page.render(n=1) == "1 dør|1 medarbejder"
    assert page.render(n=2) == "2 døre|2 medarbejdere"
    token = i18n.use_language("en")
    try:
        assert page.render(n=1).endswith("|1 employee")
        assert page.render(n=3).endswith("|3 employees")
    finally:
        i18n.reset_language(token)


def test_the_extraction_sees_plurals() -> None:
    assert ("%(num)s borger", "%(num)s borgere") in _extracted()[1]


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

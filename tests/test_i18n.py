"""Every language is complete: no untranslated message, placeholders kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parents[1] / "sidestage" / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


@pytest.mark.parametrize("language", ["ar", "fr", "es"])
def test_catalog_is_complete(language: str) -> None:
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    with (LOCALE / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    have = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        have[key] = message
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms), f"{language}: untranslated {key!r}"
        assert not message.fuzzy, f"{language}: fuzzy {key!r}"
        for form in forms:
            assert set(PLACEHOLDER.findall(form)) == set(PLACEHOLDER.findall(key)), key
    assert wanted <= set(have), f"{language}: missing {sorted(wanted - set(have))[:5]}"


def test_template_catalog_is_current() -> None:
    """Each string a template shows is in the catalog template (run `make messages`)."""
    with (LOCALE / "messages.pot").open("rb") as handle:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    templates = Path(__file__).resolve().parents[1] / "sidestage" / "templates"
    shown = set()
    for page in templates.glob("*.html"):
        shown |= set(re.findall(r'_\("([^"]+)"\)', page.read_text()))
    assert shown - known == set()

"""No words reach a page without passing through the catalog: every text a template or the
browser code shows is wrapped in ``_()``, so all four languages are complete."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sidestage"
TEMPLATES = sorted((PACKAGE / "templates").glob("*.html"))
SCRIPTS = sorted((PACKAGE / "static" / "js").glob("*.js"))
JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.S)
SHOWN_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt"}
BUTTON_TYPES = {"submit", "button", "reset"}  # the inputs whose value is their label
ADDRESS = re.compile(r"^\s*(https?://|/)\S*\s*$")  # a URL or path is not prose
WORDS = re.compile(r"[^\W\d_]{2,}")  # two letters in a row, in any script


class _Texts(HTMLParser):
    """Collects what a reader sees: text between tags and the attributes read aloud."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag in ("script", "style")
        shown = set(SHOWN_ATTRIBUTES)
        if tag == "input" and dict(attrs).get("type") in BUTTON_TYPES:
            shown.add("value")
        self.found += [value for name, value in attrs if name in shown and value]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if not self._in_script and data.strip():
            self.found.append(data.strip())


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_templates_show_only_translated_text(template: Path) -> None:
    parser = _Texts()
    parser.feed(JINJA.sub(" ", template.read_text()))
    bare = [text for text in parser.found if WORDS.search(text) and not ADDRESS.match(text)]
    assert bare == [], f"{template.name}: wrap these in _(): {bare}"


# A string literal that reads like a sentence: a capital, then words and spaces.
PROSE = re.compile(r"""(?<![\w.])(_\(\s*)?(["'])([A-Z][a-z]+(?: [\w'’…,.:!?%()-]+)+)\2""")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_browser_code_shows_only_translated_text(script: Path) -> None:
    bare = [m.group(3) for m in PROSE.finditer(script.read_text()) if not m.group(1)]
    assert bare == [], f"{script.name}: wrap these in _(): {bare}"


def test_the_checks_catch_bare_text() -> None:
    """The two checks above would notice an untranslated word."""
    parser = _Texts()
    parser.feed(JINJA.sub(" ", '<p>{{ _("Fine") }}</p><button aria-label="Close">x</button>'))
    assert [t for t in parser.found if WORDS.search(t)] == ["Close"]
    found = [m.group(3) for m in PROSE.finditer('h("p", {}, "Not translated")') if not m.group(1)]
    assert found == ["Not translated"]
    assert not [m for m in PROSE.finditer('_("Translated text")') if not m.group(1)]

"""Languages: gettext catalogs (Babel), negotiation, and locale-aware formatting.

Catalogs are compiled to ``.mo`` at install; if a checkout has only the ``.po``
sources, they are compiled in memory at start so the pages are never half-English.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale as BabelLocale
from babel.dates import format_date, format_time, get_timezone_name
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "ar", "fr", "es")
DEFAULT_LANGUAGE = "en"
RTL = {"ar"}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
LANGUAGE_NAMES = {"en": "English", "ar": "العربية", "fr": "Français", "es": "Español"}


@dataclass(frozen=True)
class Locale:
    """The person's language, with everything a page needs to speak it."""

    code: str
    translations: NullTranslations

    @property
    def direction(self) -> str:
        return "rtl" if self.code in RTL else "ltr"

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def time(self, moment: datetime, zone: str) -> str:
        return format_time(moment, "short", tzinfo=ZoneInfo(zone), locale=self.code)

    def date(self, moment: datetime, zone: str, form: str = "full") -> str:
        return format_date(moment.astimezone(ZoneInfo(zone)), form, locale=self.code)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.code)

    def zone_name(self, zone: str) -> str:
        return get_timezone_name(ZoneInfo(zone), "long", locale=self.code)

    def language_name(self, code: str) -> str:
        try:
            return BabelLocale.parse(code).get_display_name(self.code) or code
        except (ValueError, TypeError):
            return code


class Catalogs:
    def __init__(self, directory: Path = LOCALE_DIR) -> None:
        self._locales = {code: Locale(code, _load(directory, code)) for code in LANGUAGES}

    def get(self, code: str) -> Locale:
        return self._locales.get(code, self._locales[DEFAULT_LANGUAGE])

    def negotiate(self, *, asked: str | None, cookie: str | None, accept: str | None) -> Locale:
        for candidate in (asked, cookie):
            if candidate in self._locales:
                return self._locales[candidate]
        return self.get(_from_accept_language(accept or ""))


def _load(directory: Path, code: str) -> NullTranslations:
    folder = directory / code / "LC_MESSAGES"
    compiled, source = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if compiled.exists() and (
        not source.exists() or compiled.stat().st_mtime >= source.stat().st_mtime
    ):
        with compiled.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    if source.exists():
        with source.open("rb") as handle:
            catalog = read_po(handle, locale=code)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)
    return NullTranslations()


def _from_accept_language(header: str) -> str:
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.split("-")[0].lower()))
    for _, _, language in sorted(ranked):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def valid_time_zone(name: str | None) -> str | None:
    if not name or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def common_time_zones() -> list[str]:
    return sorted(
        z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))
    )


# The calls whose second argument is a message for people (as `make messages` extracts).
ERROR_KEYWORDS = {
    name: (2,)
    for name in (
        "SidestageError",
        "InvalidInput",
        "Unauthenticated",
        "Forbidden",
        "NotFound",
        "Conflict",
        "Unavailable",
        "ServiceUnavailable",
        "PayloadTooLarge",
        "RateLimited",
        "_refusal",  # the Socket.IO handshake's refusals
    )
}


class BrowserStrings:
    """The messages the browser code shows, translated, for the pages that load it.

    The ES modules call ``_("...")`` like the templates do; the same extraction that fills
    the catalog finds their strings here, so a page ships only what its code can say. The
    live rooms' error messages come too: acks carry them in English, the page shows them
    in its language.
    """

    def __init__(self, catalogs: Catalogs, scripts: Path, services: Iterable[Path]) -> None:
        wanted = {m for path in sorted(scripts.rglob("*.js")) for m in _msgids(path, "javascript")}
        for place in services:
            paths = [place] if place.is_file() else sorted(place.rglob("*.py"))
            wanted |= {m for path in paths for m in _msgids(path, "python")}
        self._json = {
            code: json.dumps(
                {m: t for m in sorted(wanted) if (t := catalogs.get(code).gettext(m)) != m},
                ensure_ascii=False,
            )
            for code in LANGUAGES
        }

    def json_for(self, locale: Locale) -> str:
        return self._json[locale.code]


@functools.cache  # the package's own files: read once per process, not once per app
def _msgids(path: Path, method: str) -> tuple[str, ...]:
    keywords: dict[str, Any] = {"_": None} if method == "javascript" else ERROR_KEYWORDS
    # Babel writes a warning to stderr for every f-string in a keyword's call (an error's
    # code, such as f"{feature}.empty"): meant for whoever runs `make messages`, noise in
    # a server's start-up.
    with path.open("rb") as handle, contextlib.redirect_stderr(io.StringIO()):
        found = extract(method, handle, keywords=keywords)
        return tuple(message for _, message, _, _ in found if isinstance(message, str))

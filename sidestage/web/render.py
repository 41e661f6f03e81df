"""What every page template can use: the principal, their language, zones and the CSRF token."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup, escape

from sidestage.platform.access.service import Principal
from sidestage.platform.program.models import Conference
from sidestage.web.i18n import LANGUAGE_NAMES, LANGUAGES, Locale
from sidestage.web.keys import (
    BROWSER_STRINGS,
    CATALOGS,
    CSRF,
    LOCALE,
    PRINCIPAL,
    SETTINGS,
    SOCKET_PATH,
    TIME_ZONE,
)
from sidestage.web.security import CSRF_FIELD, csrf_token, safe_next


def N_(message: str) -> str:
    """Marks a string for the catalog; it is translated where it is shown."""
    return message


KIND_LABELS = {
    "plenary": N_("Plenary"),
    "side_event": N_("Side event"),
    "strategic": N_("Strategic session"),
    "thematic": N_("Thematic session"),
    "interactive": N_("Interactive session"),
    "open_space": N_("Open space"),
    "marketplace": N_("Marketplace"),
    "closing": N_("Closing session"),
}
ROLE_LABELS = {
    "organizer": N_("Organizer"),
    "host": N_("Host"),
    "moderator": N_("Moderator"),
    "speaker": N_("Speaker"),
    "chair": N_("Chair"),
    "interpreter": N_("Interpreter"),
    "captioner": N_("Captioner"),
}


def iso_in_zone(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")


def data_block(element_id: str, value: Any) -> Markup:
    """JSON for the page's scripts, in a data block the browser never executes (so the
    Content-Security-Policy allows it); ``<`` is escaped so no text can close the tag."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("<", "\\u003c")
    return Markup(f'<script type="application/json" id="{escape(element_id)}">{text}</script>')


def live_config(request: web.Request, conference: Conference) -> dict[str, Any]:
    """What the browser code needs besides the markup: who it is and which clock to show."""
    account = request[PRINCIPAL].account
    return {
        "account_id": account.id if account else None,
        "zone": request[TIME_ZONE] or conference.time_zone,
    }


def _labeller(locale: Locale, labels: dict[str, str]) -> Any:
    return lambda key: locale.gettext(labels.get(str(key), str(key)))


def _in_language(request: web.Request, code: str) -> str:
    """This page in another language, its query (the program's filters, the day) kept;
    a ``next`` only if it stays on this site, as the forms' own check has it."""
    query = [
        (key, value)
        for key, value in request.query.items()
        if key != "lang" and (key != "next" or safe_next(value, "") == value)
    ]
    return "?" + urlencode([*query, ("lang", code)])


async def page_context(request: web.Request) -> dict[str, Any]:
    if request.path.startswith(SOCKET_PATH):
        # Engine.IO's requests render nothing, and a websocket's request lives as long as
        # the connection: this context would be kilobytes held per participant.
        return {}
    locale = request.get(LOCALE) or request.app[CATALOGS].get("en")
    csrf = csrf_token(request.app[SETTINGS].secret, request[CSRF]) if CSRF in request else ""
    return {
        "locale": locale,
        "_": locale.gettext,
        "gettext": locale.gettext,
        "ngettext": locale.ngettext,
        "principal": request.get(PRINCIPAL) or Principal(account=None),
        "your_zone": request.get(TIME_ZONE) or "",
        "csrf_field": Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf)}">'),
        "csrf_token": csrf,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "in_language": lambda code: _in_language(request, code),
        "request_path": request.path,
        "iso": iso_in_zone,
        "kind_label": _labeller(locale, KIND_LABELS),
        "role_label": _labeller(locale, ROLE_LABELS),
        "translated": lambda base, translations: (translations or {}).get(locale.code) or base,
        "data_block": data_block,
        "browser_strings": lambda: data_block(
            "sidestage-strings", request.app[BROWSER_STRINGS].json_for(locale)
        ),
    }

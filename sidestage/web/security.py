"""Cookies and CSRF tokens.

CSRF uses a signed double submit: a random cookie, and in each form an HMAC of it
under the server secret. A cross-site page can neither read the cookie nor forge
the HMAC. API clients with a bearer token carry no ambient credentials and are exempt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import unquote, urlsplit

from aiohttp import web

SESSION_COOKIE = "sidestage_session"
CSRF_COOKIE = "sidestage_csrf"
LANGUAGE_COOKIE = "sidestage_lang"
TIME_ZONE_COOKIE = "sidestage_tz"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
YEAR = 365 * 24 * 3600


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(secret: str, cookie: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{cookie}".encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret: str, cookie: str | None, given: str | None) -> bool:
    if not cookie or not given:
        return False
    return hmac.compare_digest(csrf_token(secret, cookie), given)


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    max_age: int | None = YEAR,
    http_only: bool = True,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=http_only,
        samesite="Lax",
        secure=request.secure,
    )


def clear_cookie(response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path="/")


def safe_next(raw: str | None, fallback: str = "/") -> str:
    """``raw`` if it is a path on this site, else ``fallback``: a crafted sign-in link must
    not send a visitor elsewhere. Every page that redirects to an address it was given asks
    here."""
    if raw and _same_site_path(raw) and _same_site_path(_fully_unquoted(raw)):
        return raw
    return fallback


def _same_site_path(path: str) -> bool:
    """A path starting with one slash, nothing browsers would read as another host.

    Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so
    ``/<TAB>/evil``, ``/<BACKSLASH>evil`` and two backslashes all become ``//evil``: a
    control character or a backslash anywhere is refused, not cleaned."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return False
    if any(_invisible(c) for c in path):
        return False
    try:
        parts = urlsplit(path)
    except ValueError:
        return False
    return not parts.scheme and not parts.netloc


def _invisible(c: str) -> bool:
    """Control characters (C0, DEL, C1) and whitespace other than the plain space."""
    return ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or (c.isspace() and c != " ")


def _fully_unquoted(path: str) -> str:
    """Percent-decoded until nothing changes: ``%252F`` must not hide a second slash from a
    proxy or browser that decodes once more."""
    for _ in range(5):
        decoded = unquote(path)
        if decoded == path:
            return path
        path = decoded
    return "//"  # encoded five times over: no honest link does that

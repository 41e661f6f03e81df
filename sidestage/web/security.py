"""Cookies and CSRF tokens.

CSRF uses a signed double submit: a random cookie, and in each form an HMAC of it
under the server secret. A cross-site page can neither read the cookie nor forge
the HMAC. API clients with a bearer token carry no ambient credentials and are exempt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

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


def safe_next(raw: str | None) -> str:
    """Only same-site paths, so a crafted link cannot bounce a visitor elsewhere."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/program"

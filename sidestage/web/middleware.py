"""Per-request setup: the proxy's view of the client, security headers, who is asking,
their language and time zone, and the CSRF check on every state-changing request."""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web
from multidict import MultiDictProxy

from sidestage.platform.access.service import Principal, load_principal
from sidestage.platform.accounts.service import account_for_token
from sidestage.platform.errors import Forbidden, InvalidInput
from sidestage.platform.text import find_nul
from sidestage.realtime.server import REALTIME
from sidestage.web.errors import Handler, is_api
from sidestage.web.i18n import valid_time_zone
from sidestage.web.keys import (
    CATALOGS,
    CSRF,
    DB,
    LOCALE,
    PRINCIPAL,
    PROBE_PATHS,
    SETTINGS,
    SOCKET_PATH,
    TIME_ZONE,
    TOKEN,
)
from sidestage.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    TIME_ZONE_COOKIE,
    csrf_matches,
    new_csrf_cookie,
    set_cookie,
)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-src https:; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)


@web.middleware
async def proxy_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Behind the compose proxy, take scheme and client address from its headers."""
    if request.app[SETTINGS].trust_proxy:
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
        # The proxy appends the address it saw; anything left of it came from the client.
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        request = request.clone(scheme=scheme, remote=forwarded or request.remote or "")
    return await handler(request)


COMPRESSED_TYPES = ("text/html", "application/json", "text/csv", "text/calendar")
COMPRESS_FROM = 1024  # bytes; below this gzip's header costs more than it saves


@web.middleware
async def compression_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages and API answers travel gzip-compressed: the room page must stay small on a
    weak link. Static files come compressed already; Socket.IO frames are left alone."""
    response = await handler(request)
    if (
        isinstance(response, web.Response)
        and not response.prepared
        and response.content_type in COMPRESSED_TYPES
        and isinstance(response.body, bytes)
        and len(response.body) >= COMPRESS_FROM
        and "Content-Encoding" not in response.headers
    ):
        response.enable_compression()
    return response


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


@web.middleware
async def context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(SOCKET_PATH) or request.path in PROBE_PATHS:
        # Engine.IO's own requests: the Socket.IO server identifies the connection once, at
        # its handshake, and checks the Origin; a principal per long-polling request would
        # cost two queries each, and its POSTs carry no form to hold a CSRF token.
        return await handler(request)
    token = _bearer(request) or request.cookies.get(SESSION_COOKIE, "")
    request[TOKEN] = token
    asked = request.query.get("lang")
    request[LOCALE] = request.app[CATALOGS].negotiate(
        asked=asked,
        cookie=request.cookies.get(LANGUAGE_COOKIE),
        accept=request.headers.get("Accept-Language"),
    )
    # After the language: with the database away, the error page is in the person's.
    request[PRINCIPAL] = await _principal(request, token)
    request[TIME_ZONE] = _time_zone(request)
    request[CSRF] = request.cookies.get(CSRF_COOKIE) or new_csrf_cookie()
    await _check_text(request)
    await _check_csrf(request)
    response = await handler(request)
    await request.app[REALTIME].settled()  # a role granted here counts on every process
    _remember(request, response, asked)
    return response


def _bearer(request: web.Request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def _principal(request: web.Request, token: str) -> Principal:
    if not token:
        return Principal(account=None)
    async with request.app[DB]() as db:
        account = await account_for_token(db, token)
        return await load_principal(db, account)


def _time_zone(request: web.Request) -> str:
    account = request[PRINCIPAL].account
    return (
        valid_time_zone(request.query.get("tz"))
        # Older pages wrote the cookie URL-encoded ("America%2FNew_York").
        or valid_time_zone(unquote(request.cookies.get(TIME_ZONE_COOKIE, "")))
        or (account.time_zone if account and account.time_zone else "")
    )


async def _check_text(request: web.Request) -> None:
    """Path, query and form text with NUL characters never reach a handler."""
    texts = [request.path, *request.query.values()]
    if request.method not in SAFE_METHODS and request.content_type in FORM_TYPES:
        texts += [v for v in (await _read_form(request)).values() if isinstance(v, str)]
    if find_nul(texts) is not None:
        raise InvalidInput("request.invalid", "Text may not contain NUL characters.")


async def _read_form(
    request: web.Request,
) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The form, read here once for every handler (aiohttp keeps it for their ``post()``):
    a form aiohttp cannot parse (multipart without a boundary or with a nameless part,
    bytes that are not UTF-8, an unknown charset) is the sender's mistake, not a 500."""
    try:
        return await request.post()
    except (ValueError, LookupError):
        raise InvalidInput(
            "request.unreadable_form", "The form could not be read; send it again."
        ) from None


async def _check_csrf(request: web.Request) -> None:
    if request.method in SAFE_METHODS:
        return
    if is_api(request):
        if _bearer(request) or not request.cookies.get(SESSION_COOKIE):
            return  # no ambient credential to abuse; JSON-only bodies stop form posts
        given = request.headers.get(CSRF_HEADER)
    else:
        given = request.headers.get(CSRF_HEADER) or await _form_token(request)
    secret = request.app[SETTINGS].secret
    if not csrf_matches(secret, request.cookies.get(CSRF_COOKIE), given):
        raise Forbidden("request.csrf", "This form has expired. Go back, reload and try again.")


async def _form_token(request: web.Request) -> str | None:
    if request.content_type not in FORM_TYPES:
        return None
    form = await _read_form(request)
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else None


def _remember(request: web.Request, response: web.StreamResponse, asked: str | None) -> None:
    if response.prepared:
        return
    if CSRF_COOKIE not in request.cookies and not is_api(request):
        set_cookie(request, response, CSRF_COOKIE, request[CSRF])
    if asked and asked == request[LOCALE].code:
        set_cookie(request, response, LANGUAGE_COOKIE, asked, http_only=False)
    tz = valid_time_zone(request.query.get("tz"))
    if tz:
        set_cookie(request, response, TIME_ZONE_COOKIE, tz, http_only=False)

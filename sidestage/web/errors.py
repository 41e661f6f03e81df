"""The one place where errors become HTTP answers: JSON under /api/, a page elsewhere.

A database or Redis out of reach is answered 503 ``server.unavailable`` with Retry-After;
other unexpected exceptions are logged with their trace and answered ``server.error``;
their text never reaches the client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from sidestage.platform.errors import (
    RateLimited,
    ServiceUnavailable,
    SidestageError,
    Unauthenticated,
)
from sidestage.platform.outages import unavailable, unreachable
from sidestage.web.keys import METRICS
from sidestage.web.render import page_context

log = logging.getLogger("sidestage.web")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_CODES = {
    400: "request.bad",
    401: "auth.sign_in_required",
    403: "access.forbidden",
    404: "http.not_found",
    405: "http.method_not_allowed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
}


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except SidestageError as error:
        return await _domain_error(request, error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = HTTP_CODES.get(error.status, "request.bad")
        return await _answer(request, error.status, code, error.reason or code)
    except Exception as error:
        service = unreachable(error)
        if service is None:
            log.exception("unexpected error on %s %s", request.method, request.path)
            return await _answer(request, 500, "server.error", "Something went wrong on our side.")
        request.app[METRICS].unreachable(service)
        log.warning("%s %s: %s unreachable (%r)", request.method, request.path, service, error)
        return await _domain_error(request, unavailable(service))


async def _domain_error(request: web.Request, error: SidestageError) -> web.StreamResponse:
    if isinstance(error, Unauthenticated) and not is_api(request) and request.method == "GET":
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs)}")
    response = await _answer(request, error.status, error.code, error.message, error.details)
    if isinstance(error, RateLimited | ServiceUnavailable):
        response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
    return response


async def _answer(
    request: web.Request, status: int, code: str, message: str, details: Any = None
) -> web.StreamResponse:
    if is_api(request):
        body: dict[str, Any] = {"code": code, "message": message}
        if details is not None:
            body["details"] = details
        return web.json_response({"error": body}, status=status)
    # Built here rather than by the context processors, which may not have run yet.
    context = {**await page_context(request), "status": status, "code": code, "message": message}
    return aiohttp_jinja2.render_template("error.html", request, context, status=status)

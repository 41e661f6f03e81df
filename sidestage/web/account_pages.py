"""Sign-in pages: log in, register, join as a guest, log out, come in through an invite."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from sidestage.platform.access import service as access
from sidestage.platform.accounts import service as accounts
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import transaction
from sidestage.platform.errors import RateLimited, SidestageError
from sidestage.platform.program.models import Organization, Session
from sidestage.web.api import throttle_guests, throttle_login
from sidestage.web.keys import DB, PRINCIPAL, TOKEN
from sidestage.web.security import SESSION_COOKIE, clear_cookie, safe_next, set_cookie


def setup(app: web.Application) -> None:
    app.router.add_get("/login", login_page, name="login")
    app.router.add_post("/login", login_form)
    app.router.add_get("/register", register_page, name="register")
    app.router.add_post("/register", register_form)
    app.router.add_get("/guest", guest_page, name="guest")
    app.router.add_post("/guest", guest_form)
    app.router.add_post("/logout", logout_form)
    app.router.add_get("/invite/{code}", invite_page, name="invite")
    app.router.add_post("/invite/{code}", invite_form)


def _form_page(
    template: str, request: web.Request, status: int = 200, **context: Any
) -> web.Response:
    context.setdefault("next", safe_next(request.query.get("next")))
    context.setdefault("error", None)
    context.setdefault("values", {})
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    if isinstance(context["error"], RateLimited):
        response.headers["Retry-After"] = str(max(1, round(context["error"].retry_after)))
    return response


async def _signed_in(
    request: web.Request, account: Account, token: str, next_path: str
) -> web.Response:
    response = web.HTTPSeeOther(safe_next(next_path))
    set_cookie(
        request, response, SESSION_COOKIE, token, max_age=None if account.is_guest else 30 * 86400
    )
    raise response


async def login_page(request: web.Request) -> web.Response:
    return _form_page("login.html", request)


async def login_form(request: web.Request) -> web.Response:
    form = await request.post()
    email, password = str(form.get("email", ""))[:320], str(form.get("password", ""))[:1000]
    next_path = str(form.get("next", ""))
    try:
        await throttle_login(request, email)
        account = await accounts.authenticate(request.app[DB], email, password)
        async with transaction(request.app[DB]) as db:
            token = await accounts.issue_token(db, account)
    except SidestageError as error:
        return _form_page(
            "login.html",
            request,
            error.status,
            error=error,
            next=safe_next(next_path),
            values={"email": email},
        )
    return await _signed_in(request, account, token, next_path)


async def register_page(request: web.Request) -> web.Response:
    return _form_page("register.html", request)


async def register_form(request: web.Request) -> web.Response:
    form = await request.post()
    values = {key: str(form.get(key, ""))[:1000] for key in ("email", "name", "password")}
    next_path = str(form.get("next", ""))
    try:
        await throttle_login(request, values["email"])
        async with transaction(request.app[DB]) as db:
            account = await accounts.register(
                db, values["email"], values["password"], values["name"]
            )
            token = await accounts.issue_token(db, account)
    except SidestageError as error:
        values.pop("password")
        return _form_page(
            "register.html",
            request,
            error.status,
            error=error,
            values=values,
            next=safe_next(next_path),
        )
    return await _signed_in(request, account, token, next_path)


async def guest_page(request: web.Request) -> web.Response:
    return _form_page("guest.html", request)


async def guest_form(request: web.Request) -> web.Response:
    form = await request.post()
    name, next_path = str(form.get("name", ""))[:200], str(form.get("next", ""))
    try:
        await throttle_guests(request)
        async with transaction(request.app[DB]) as db:
            account = await accounts.create_guest(db, name)
            token = await accounts.issue_token(db, account)
    except SidestageError as error:
        return _form_page(
            "guest.html",
            request,
            error.status,
            error=error,
            values={"name": name},
            next=safe_next(next_path),
        )
    return await _signed_in(request, account, token, next_path)


async def logout_form(request: web.Request) -> web.Response:
    if request[TOKEN]:
        async with transaction(request.app[DB]) as db:
            await accounts.revoke_token(db, request[TOKEN])
    response = web.HTTPSeeOther("/program")
    clear_cookie(response, SESSION_COOKIE)
    raise response


async def _invite_context(request: web.Request) -> dict[str, Any]:
    async with request.app[DB]() as db:
        invite = await access.find_invite(db, request.match_info["code"])
        problem = access.invite_problem(invite)
        organization = await db.get(Organization, invite.organization_id) if invite else None
        session = await db.get(Session, invite.session_id) if invite and invite.session_id else None
    return {
        "invite": invite,
        "invite_problem": problem,
        "organization": organization,
        "session": session,
    }


async def invite_page(request: web.Request) -> web.Response:
    context = await _invite_context(request)
    status = context["invite_problem"].status if context["invite_problem"] else 200
    return _form_page("invite.html", request, status, **context)


async def invite_form(request: web.Request) -> web.Response:
    """Accept the invite; someone not signed in joins as a guest under the name they give."""
    form = await request.post()
    code = request.match_info["code"]
    account, token = request[PRINCIPAL].account, None
    try:
        if account is None:
            await throttle_guests(request)
        async with transaction(request.app[DB]) as db:
            if account is None:
                account = await accounts.create_guest(db, str(form.get("name", ""))[:200])
                token = await accounts.issue_token(db, account)
            invite = await access.redeem_invite(db, code, account)
    except SidestageError as error:
        context = await _invite_context(request)
        return _form_page("invite.html", request, error.status, error=error, **context)
    target = f"/sessions/{invite.session_id}" if invite.session_id else "/program"
    if token is not None:
        return await _signed_in(request, account, token, target)
    raise web.HTTPSeeOther(target)

"""The host page (invite links and their figures) and the organizer page (roles, import)."""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp_jinja2
from aiohttp import web

from sidestage.platform.access import service as access
from sidestage.platform.access.models import Role
from sidestage.platform.accounts import service as accounts
from sidestage.platform.db import transaction, utcnow
from sidestage.platform.errors import InvalidInput, NotFound, SidestageError, Unauthenticated
from sidestage.platform.program import service as program
from sidestage.platform.program.models import Conference, Organization, SessionKind, Visibility
from sidestage.platform.program.schedule_format import parse_schedule
from sidestage.rooms.attendance.figures import host_figures
from sidestage.web import dashboard_pages
from sidestage.web.api import base_url
from sidestage.web.api_kit import path_id
from sidestage.web.keys import DB, PRINCIPAL, SETTINGS

StrEnumT = TypeVar("StrEnumT", bound=enum.StrEnum)


def setup(app: web.Application) -> None:
    app.router.add_get("/host", host_page, name="host")
    app.router.add_post(r"/host/{id:\d+}/invites", create_invite_form)
    app.router.add_post(r"/host/invites/{id:\d+}/revoke", revoke_invite_form)
    app.router.add_get("/organizer", organizer_page, name="organizer")
    app.router.add_post("/organizer/roles", grant_form)
    app.router.add_post(r"/organizer/roles/{id:\d+}/revoke", revoke_role_form)
    app.router.add_post("/organizer/import", import_form)
    app.router.add_get(r"/organizer/sessions/{id:\d+}", session_settings_page)
    app.router.add_post(r"/organizer/sessions/{id:\d+}", session_settings_form)
    app.router.add_post(r"/organizer/sessions/{id:\d+}/languages", session_languages_form)
    dashboard_pages.setup(app)


def _require_signed_in(request: web.Request) -> None:
    if not request[PRINCIPAL].signed_in:
        raise Unauthenticated("auth.sign_in_required", "Sign in first.")


def _optional_id(raw: object) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) < 2**31:
        raise InvalidInput("request.invalid", "Choose from the list.")
    return int(text)


def _optional_positive(raw: object, field: str, limit: int) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= limit:
        raise InvalidInput("request.invalid", f"{field}: a whole number from 1 to {limit}.")
    return int(text)


# --- host --------------------------------------------------------------------------------------


async def host_page(request: web.Request, error: SidestageError | None = None) -> web.Response:
    _require_signed_in(request)
    principal = request[PRINCIPAL]
    async with request.app[DB]() as db:
        organizations = await _hosted_organizations(db, principal)
        if not organizations:
            raise NotFound("access.not_a_host", "You do not host any organization yet.")
        for org in organizations:  # the figures are read without a principal: check here
            access.require_host(principal, org.id)
        found = await host_figures(db, [org.id for org in organizations])
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
    context = {
        "panels": [(org, found[org.id]) for org in organizations],
        "conference": conference,
        "base_url": base_url(request),
        "error": error,
        "notice": request.query.get("notice"),
        "conference_zone": conference.time_zone,
    }
    status = error.status if error else 200
    return aiohttp_jinja2.render_template("host.html", request, context, status=status)


async def _hosted_organizations(db: Any, principal: access.Principal) -> list[Organization]:
    if principal.is_organizer:
        return list(await program.list_organizations(db))
    hosted = principal.hosted_organizations()
    return [org for org in await program.list_organizations(db) if org.id in hosted]


async def create_invite_form(request: web.Request) -> web.Response:
    _require_signed_in(request)
    form = await request.post()
    try:
        days = _optional_positive(form.get("valid_days"), "valid_days", 365)
        async with transaction(request.app[DB]) as db:
            await access.create_invite(
                db,
                request[PRINCIPAL],
                path_id(request),
                session_id=_optional_id(form.get("session_id")),
                label=str(form.get("label", ""))[:200],
                expires_at=utcnow() + timedelta(days=days) if days else None,
                max_uses=_optional_positive(form.get("max_uses"), "max_uses", 1_000_000),
            )
    except SidestageError as error:
        return await host_page(request, error)
    raise web.HTTPSeeOther("/host?notice=invite_created")


async def revoke_invite_form(request: web.Request) -> web.Response:
    _require_signed_in(request)
    async with transaction(request.app[DB]) as db:
        await access.revoke_invite(db, request[PRINCIPAL], path_id(request))
    raise web.HTTPSeeOther("/host?notice=invite_revoked")


# --- organizer ---------------------------------------------------------------------------------


async def organizer_page(
    request: web.Request, error: SidestageError | None = None, summary: Any = None
) -> web.Response:
    _require_signed_in(request)
    access.require_organizer(request[PRINCIPAL])
    async with request.app[DB]() as db:
        conference = await program.find_conference(db, request.app[SETTINGS].conference)
        grants = await access.list_grants(db)
        organizations = await program.list_organizations(db)
        sessions = await program.list_sessions(db, conference.id) if conference else []
    context = {
        "conference": conference,
        "grants": grants,
        "organizations": organizations,
        "sessions": sessions,
        "roles": list(Role),
        "error": error,
        "summary": summary,
        "notice": request.query.get("notice"),
        "conference_zone": conference.time_zone if conference else "UTC",
    }
    status = error.status if error else 200
    return aiohttp_jinja2.render_template("organizer.html", request, context, status=status)


async def grant_form(request: web.Request) -> web.Response:
    _require_signed_in(request)
    form = await request.post()
    try:
        role = Role(str(form.get("role", "")))
    except ValueError:
        return await organizer_page(request, InvalidInput("access.bad_role", "Choose a role."))
    try:
        async with transaction(request.app[DB]) as db:
            account = await accounts.find_account_by_email(
                db, str(form.get("email", "")).strip().lower()
            )
            if account is None:
                raise NotFound(
                    "auth.account_not_found", "No account has this email; ask them to register."
                )
            await access.grant_role(
                db,
                request[PRINCIPAL],
                account,
                role,
                organization_id=_optional_id(form.get("organization_id")),
                session_id=_optional_id(form.get("session_id")),
            )
    except SidestageError as error:
        return await organizer_page(request, error)
    raise web.HTTPSeeOther("/organizer?notice=role_granted")


async def revoke_role_form(request: web.Request) -> web.Response:
    _require_signed_in(request)
    try:
        async with transaction(request.app[DB]) as db:
            await access.revoke_role(db, request[PRINCIPAL], path_id(request))
    except SidestageError as error:
        return await organizer_page(request, error)
    raise web.HTTPSeeOther("/organizer?notice=role_revoked")


async def import_form(request: web.Request) -> web.Response:
    _require_signed_in(request)
    access.require_organizer(request[PRINCIPAL])
    form = await request.post()
    upload = form.get("file")
    try:
        if not isinstance(upload, web.FileField):
            raise InvalidInput("program.no_file", "Choose a schedule JSON file to import.")
        schedule = parse_schedule(upload.file.read())
        async with transaction(request.app[DB]) as db:
            served = request.app[SETTINGS].conference
            prune = form.get("prune") == "on"
            summary = await program.import_into_served(db, schedule, served, prune=prune)
    except SidestageError as error:
        return await organizer_page(request, error)
    return await organizer_page(request, summary=summary)


async def session_settings_page(
    request: web.Request, error: SidestageError | None = None
) -> web.Response:
    _require_signed_in(request)
    async with request.app[DB]() as db:
        session = await program.get_session(db, path_id(request))
        access.require_host(request[PRINCIPAL], session.host_organization_id or 0)
        organizations = await program.list_organizations(db)
        conference = await db.get(Conference, session.conference_id)
        assert conference is not None  # a session's conference outlives it
    context = {
        "session": session,
        "organizations": organizations,
        "kinds": list(SessionKind),
        "visibilities": list(Visibility),
        "organizer": request[PRINCIPAL].is_organizer,  # hosts set the languages only
        "language_choices": list(
            dict.fromkeys(
                [*conference.languages, *session.languages]
                + [*session.interpretation_languages, *session.caption_languages]
            )
        ),
        "error": error,
    }
    status = error.status if error else 200
    return aiohttp_jinja2.render_template("session_edit.html", request, context, status=status)


async def session_settings_form(request: web.Request) -> web.Response:
    _require_signed_in(request)
    access.require_organizer(request[PRINCIPAL])
    form = await request.post()
    session_id = path_id(request)
    try:
        settings = program.SessionSettings(
            kind=_choice(SessionKind, form.get("kind")),
            visibility=_choice(Visibility, form.get("visibility")),
            host_organization_id=_optional_id(form.get("host_organization_id")),
            capacity=_optional_positive(form.get("capacity"), "capacity", 1_000_000),
            stream_url=str(form.get("stream_url", "")).strip()[:500] or None,
        )
        async with transaction(request.app[DB]) as db:
            await program.update_session_settings(db, session_id, settings)
    except SidestageError as error:
        return await session_settings_page(request, error)
    raise web.HTTPSeeOther(f"/sessions/{session_id}")


async def session_languages_form(request: web.Request) -> web.Response:
    """Organizers, and the partner hosting the session, set the languages it offers."""
    _require_signed_in(request)
    form = await request.post()
    session_id = path_id(request)
    chosen = {name: [str(v) for v in form.getall(name, [])] for name in LANGUAGE_FIELDS}
    try:
        async with transaction(request.app[DB]) as db:
            session = await program.get_session(db, session_id)
            access.require_host(request[PRINCIPAL], session.host_organization_id or 0)
            languages = program.SessionLanguages(**chosen)
            await program.update_session_languages(db, session_id, languages)
    except SidestageError as error:
        return await session_settings_page(request, error)
    raise web.HTTPSeeOther(f"/sessions/{session_id}")


LANGUAGE_FIELDS = ("floor", "interpretation", "captions")


def _choice(kind: type[StrEnumT], raw: object) -> StrEnumT:
    try:
        return kind(str(raw))
    except ValueError:
        raise InvalidInput("request.invalid", "Choose from the list.") from None

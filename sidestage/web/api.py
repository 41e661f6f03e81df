"""The JSON API under /api/: sign-in, program, bookmarks, roles, invites, import and export."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sidestage.platform.access import service as access
from sidestage.platform.accounts import service as accounts
from sidestage.platform.db import transaction
from sidestage.platform.errors import InvalidInput, NotFound, RateLimited
from sidestage.platform.program import service as program
from sidestage.platform.program.schedule_format import parse_schedule
from sidestage.web.api_kit import Api, openapi_document, path_id, signed_in_account
from sidestage.web.api_models import (
    AccountOut,
    GrantIn,
    GrantWithAccountOut,
    GuestIn,
    ImportOut,
    InviteIn,
    InviteOut,
    LoginIn,
    OkOut,
    PreferencesIn,
    ProgramOut,
    RedeemedOut,
    RegisterIn,
    SessionDetailOut,
    SessionOut,
    SessionSettingsIn,
    TokenOut,
)
from sidestage.web.convert import (
    account_out,
    conference_out,
    day_out,
    grant_out,
    import_out,
    invite_out,
    organization_out,
    session_detail_out,
    session_out,
)
from sidestage.web.i18n import valid_time_zone
from sidestage.web.keys import DB, LIMITER, PRINCIPAL, SETTINGS, TOKEN

api = Api()
# Password guessing is slowed per (email, client address) pair: wrong guesses from one
# place lock that place out of that account for the window, not the owner signing in from
# elsewhere. Per address, a looser limit slows someone trying many emails; per email, a
# looser one still slows a guesser spread over many addresses (ten of them, at the pair's
# limit, lock the account for the window: the price of not letting a botnet guess freely).
# The checks run in this order and stop at the first refusal, so attempts refused per pair
# do not count against the email: one address alone cannot lock the owner out.
LOGIN_LIMITS = (("pair", 10, 300.0), ("ip", 50, 300.0), ("email", 100, 300.0))


def setup(app: web.Application) -> None:
    api.install(app)
    app.router.add_get("/api/openapi.json", _openapi)


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(api))


def base_url(request: web.Request) -> str:
    return request.app[SETTINGS].public_url or f"{request.scheme}://{request.host}"


# Guests are made without a password, so a script could make thousands (and vote once
# through each). Per client address, a burst of ``guest_burst`` (20 by default: a partner's
# office joining together behind one address), then about one a minute: a fixed window of
# ``guest_burst`` minutes, as the rate limiter counts.
async def throttle_guests(request: web.Request) -> None:
    burst = request.app[SETTINGS].guest_burst
    wait = await request.app[LIMITER].hit(f"guest:{request.remote or '?'}", burst, burst * 60.0)
    if wait is not None:
        raise RateLimited(
            "auth.guests_throttled",
            "Too many guests joined from your network just now; wait a few minutes, "
            "or sign in with an account.",
            retry_after=wait,
        )


async def throttle_login(request: web.Request, email: str) -> None:
    """Slow down password guessing without locking the owner out (see ``LOGIN_LIMITS``)."""
    address, ip = email.strip().lower(), request.remote or "?"
    keys = {"pair": f"{address} {ip}", "ip": ip, "email": address}
    for kind, limit, window in LOGIN_LIMITS:
        wait = await request.app[LIMITER].hit(f"login:{kind}:{keys[kind]}", limit, window)
        if wait is not None:
            raise RateLimited(
                "auth.throttled", "Too many sign-in attempts; wait a little.", retry_after=wait
            )


# --- sign-in ---------------------------------------------------------------------------------


@api.route(
    "POST",
    "/api/auth/guest",
    "Join as a guest with a display name",
    tag="auth",
    body=GuestIn,
    response=TokenOut,
    status=201,
    signed_in=False,
)
async def guest(request: web.Request, body: GuestIn) -> TokenOut:
    await throttle_guests(request)
    async with transaction(request.app[DB]) as db:
        account = await accounts.create_guest(db, body.name)
        token = await accounts.issue_token(db, account)
    return TokenOut(token=token, account=account_out(account, []))


@api.route(
    "POST",
    "/api/auth/login",
    "Sign in with email and password",
    tag="auth",
    body=LoginIn,
    response=TokenOut,
    signed_in=False,
)
async def login(request: web.Request, body: LoginIn) -> TokenOut:
    await throttle_login(request, body.email)
    account = await accounts.authenticate(request.app[DB], body.email, body.password)
    async with transaction(request.app[DB]) as db:
        token = await accounts.issue_token(db, account)
        principal = await access.load_principal(db, account)
    return TokenOut(token=token, account=account_out(account, principal.grants))


@api.route(
    "POST",
    "/api/auth/register",
    "Create an account",
    tag="auth",
    body=RegisterIn,
    response=TokenOut,
    status=201,
    signed_in=False,
)
async def register(request: web.Request, body: RegisterIn) -> TokenOut:
    await throttle_login(request, body.email)
    async with transaction(request.app[DB]) as db:
        account = await accounts.register(db, body.email, body.password, body.name)
        token = await accounts.issue_token(db, account)
    return TokenOut(token=token, account=account_out(account, []))


@api.route("POST", "/api/auth/logout", "End this sign-in", tag="auth", response=OkOut)
async def logout(request: web.Request) -> OkOut:
    async with transaction(request.app[DB]) as db:
        await accounts.revoke_token(db, request[TOKEN])
    return OkOut()


@api.route("GET", "/api/me", "Who am I, with my roles", tag="auth", response=AccountOut)
async def me(request: web.Request) -> AccountOut:
    principal = request[PRINCIPAL]
    assert principal.account is not None
    return account_out(principal.account, principal.grants)


@api.route(
    "PUT",
    "/api/me/preferences",
    "Set my language and time zone",
    tag="auth",
    body=PreferencesIn,
    response=OkOut,
)
async def preferences(request: web.Request, body: PreferencesIn) -> OkOut:
    if body.time_zone is not None and valid_time_zone(body.time_zone) is None:
        raise InvalidInput("auth.invalid_time_zone", "Unknown time zone.")
    async with transaction(request.app[DB]) as db:
        account = await accounts.get_account(db, signed_in_account(request).id)
        await accounts.set_preferences(db, account, locale=body.locale, time_zone=body.time_zone)
    return OkOut()


# --- program ---------------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/program",
    "The conference, its days and sessions",
    tag="program",
    response=ProgramOut,
    signed_in=False,
)
async def get_program(request: web.Request) -> ProgramOut:
    principal = request[PRINCIPAL]
    async with request.app[DB]() as db:
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        sessions = await program.list_sessions(db, conference.id)
    return ProgramOut(
        conference=conference_out(conference),
        days=[day_out(day) for day in conference.days],
        sessions=[
            session_out(session, stream=access.may_enter(principal, session))
            for session in sessions
        ],
    )


@api.route(
    "GET",
    "/api/sessions/{id}",
    "One session, with whether I may enter it",
    tag="program",
    response=SessionDetailOut,
    signed_in=False,
)
async def get_session(request: web.Request) -> SessionDetailOut:
    principal = request[PRINCIPAL]
    async with request.app[DB]() as db:
        session = await program.get_session(db, path_id(request))
        marks = (
            await program.bookmarked_ids(db, principal.account.id) if principal.account else set()
        )
    return session_detail_out(session, access.may_enter(principal, session), session.id in marks)


@api.route(
    "PUT",
    "/api/sessions/{id}/bookmark",
    "Put a session on my agenda",
    tag="program",
    response=OkOut,
)
async def put_bookmark(request: web.Request) -> OkOut:
    async with transaction(request.app[DB]) as db:
        await program.bookmark(db, signed_in_account(request).id, path_id(request))
    return OkOut()


@api.route(
    "DELETE",
    "/api/sessions/{id}/bookmark",
    "Take a session off my agenda",
    tag="program",
    response=OkOut,
)
async def delete_bookmark(request: web.Request) -> OkOut:
    async with transaction(request.app[DB]) as db:
        await program.unbookmark(db, signed_in_account(request).id, path_id(request))
    return OkOut()


@api.route("GET", "/api/me/agenda", "The sessions I bookmarked", tag="program")
async def my_agenda(request: web.Request) -> list[dict[str, Any]]:
    principal = request[PRINCIPAL]
    async with request.app[DB]() as db:
        sessions = await program.agenda(db, signed_in_account(request).id)
    return [
        session_out(s, stream=access.may_enter(principal, s)).model_dump(mode="json")
        for s in sessions
    ]


@api.route("GET", "/api/organizations", "The partner organizations", tag="program", signed_in=False)
async def organizations(request: web.Request) -> list[dict[str, Any]]:
    async with request.app[DB]() as db:
        found = await program.list_organizations(db)
    return [organization_out(org).model_dump(mode="json") for org in found]


@api.route(
    "GET",
    "/api/program/export",
    "The program as schedule JSON (pretalx/frab)",
    tag="program",
    signed_in=False,
)
async def export(request: web.Request) -> dict[str, Any]:
    principal = request[PRINCIPAL]
    async with request.app[DB]() as db:
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        return await program.export_program(
            db, conference, base_url(request), shows_stream=lambda s: access.may_enter(principal, s)
        )


@api.route(
    "POST",
    "/api/program/import",
    "Import or update the program from schedule JSON",
    tag="program",
    response=ImportOut,
    raw_body=True,
)
async def import_program(request: web.Request, raw: bytes) -> ImportOut:
    access.require_organizer(request[PRINCIPAL])
    schedule = parse_schedule(raw)
    prune = request.query.get("prune") in ("1", "true")
    async with transaction(request.app[DB]) as db:
        served = request.app[SETTINGS].conference
        summary = await program.import_into_served(db, schedule, served, prune=prune)
    return import_out(summary)


@api.route(
    "PUT",
    "/api/sessions/{id}/settings",
    "Set kind, visibility, host, capacity, stream (organizers)",
    tag="program",
    body=SessionSettingsIn,
    response=SessionOut,
)
async def put_session_settings(request: web.Request, body: SessionSettingsIn) -> SessionOut:
    access.require_organizer(request[PRINCIPAL])
    async with transaction(request.app[DB]) as db:
        session = await program.update_session_settings(
            db, path_id(request), program.SessionSettings(**body.model_dump())
        )
    return session_out(session, stream=True)  # organizers may enter every session


# --- roles -----------------------------------------------------------------------------------


@api.route("GET", "/api/roles", "Every role grant (organizers)", tag="access")
async def list_roles(request: web.Request) -> list[dict[str, Any]]:
    access.require_organizer(request[PRINCIPAL])
    async with request.app[DB]() as db:
        grants = await access.list_grants(db)
    return [
        GrantWithAccountOut(
            **grant_out(g).model_dump(), account_name=a.display_name, account_email=a.email
        ).model_dump(mode="json")
        for g, a in grants
    ]


@api.route(
    "POST",
    "/api/roles",
    "Grant a role to an account (organizers)",
    tag="access",
    body=GrantIn,
    status=201,
)
async def grant(request: web.Request, body: GrantIn) -> dict[str, Any]:
    async with transaction(request.app[DB]) as db:
        account = await accounts.find_account_by_email(db, body.email.strip().lower())
        if account is None:
            raise NotFound(
                "auth.account_not_found", "No account has this email; ask them to register."
            )
        made = await access.grant_role(
            db,
            request[PRINCIPAL],
            account,
            body.role,
            organization_id=body.organization_id,
            session_id=body.session_id,
        )
    return grant_out(made).model_dump(mode="json")


@api.route(
    "DELETE", "/api/roles/{id}", "Withdraw a role grant (organizers)", tag="access", response=OkOut
)
async def revoke(request: web.Request) -> OkOut:
    async with transaction(request.app[DB]) as db:
        await access.revoke_role(db, request[PRINCIPAL], path_id(request))
    return OkOut()


# --- invites ---------------------------------------------------------------------------------


@api.route(
    "GET",
    "/api/organizations/{id}/invites",
    "An organization's invite links (hosts)",
    tag="invites",
)
async def list_invites(request: web.Request) -> list[dict[str, Any]]:
    async with request.app[DB]() as db:
        figures = await access.invites_of(db, request[PRINCIPAL], path_id(request))
    base = base_url(request)
    return [invite_out(f.invite, base, f.session_title).model_dump(mode="json") for f in figures]


@api.route(
    "POST",
    "/api/organizations/{id}/invites",
    "Create an invite link (hosts)",
    tag="invites",
    body=InviteIn,
    response=InviteOut,
    status=201,
)
async def create_invite(request: web.Request, body: InviteIn) -> InviteOut:
    async with transaction(request.app[DB]) as db:
        invite = await access.create_invite(
            db,
            request[PRINCIPAL],
            path_id(request),
            session_id=body.session_id,
            label=body.label,
            expires_at=body.expires_at,
            max_uses=body.max_uses,
        )
    return invite_out(invite, base_url(request))


@api.route(
    "DELETE",
    "/api/invites/{id}",
    "Withdraw an invite link (hosts)",
    tag="invites",
    response=InviteOut,
)
async def revoke_invite(request: web.Request) -> InviteOut:
    async with transaction(request.app[DB]) as db:
        invite = await access.revoke_invite(db, request[PRINCIPAL], path_id(request))
    return invite_out(invite, base_url(request))


@api.route(
    "POST",
    "/api/invites/{code}/redeem",
    "Come in through an invite link",
    tag="invites",
    response=RedeemedOut,
)
async def redeem(request: web.Request) -> RedeemedOut:
    async with transaction(request.app[DB]) as db:
        code, account = request.match_info["code"], signed_in_account(request)
        invite = await access.redeem_invite(db, code, account)
    return RedeemedOut(
        invite_id=invite.id, organization_id=invite.organization_id, session_id=invite.session_id
    )

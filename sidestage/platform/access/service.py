"""Role grants, invite links, and the rule that says who may enter which session."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import BindParameter

from sidestage.platform.access.models import Invite, InviteRedemption, Role, RoleGrant
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import utcnow
from sidestage.platform.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from sidestage.platform.program.models import Organization, Session, Visibility

SESSION_ROLES = {Role.SPEAKER, Role.CHAIR, Role.INTERPRETER, Role.CAPTIONER}
STAGE_ROLES = {Role.SPEAKER, Role.CHAIR}  # who may be put on stage besides moderators
INVITE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class Principal:
    """Who is asking, with everything needed to decide what they may do."""

    account: Account | None
    grants: list[RoleGrant] = field(default_factory=list)
    invited_sessions: dict[int, int] = field(default_factory=dict)  # session -> inviting org
    invited_organizations: set[int] = field(default_factory=set)

    @property
    def signed_in(self) -> bool:
        return self.account is not None

    @property
    def registered(self) -> bool:
        return self.account is not None and not self.account.is_guest

    @property
    def is_organizer(self) -> bool:
        return any(g.role == Role.ORGANIZER for g in self.grants)

    def hosted_organizations(self) -> set[int]:
        return {g.organization_id for g in self.grants if g.role == Role.HOST and g.organization_id}

    def hosts(self, organization_id: int | None) -> bool:
        return self.is_organizer or (
            organization_id is not None and organization_id in self.hosted_organizations()
        )

    def moderates(self, session: Session) -> bool:
        if self.is_organizer or self.hosts(session.host_organization_id):
            return True
        return any(
            g.role == Role.MODERATOR and g.session_id in (None, session.id) for g in self.grants
        )

    @property
    def moderates_any(self) -> bool:
        """Whether some room is theirs to moderate (the console is worth showing them)."""
        return any(g.role in (Role.ORGANIZER, Role.HOST, Role.MODERATOR) for g in self.grants)

    def may_caption(self, session: Session) -> bool:
        """May send the session's live captions: its captioners and moderators."""
        return self.moderates(session) or self._holds(Role.CAPTIONER, session)

    def may_interpret(self, session: Session) -> bool:
        """May publish an interpretation channel: its interpreters and moderators."""
        return self.moderates(session) or self._holds(Role.INTERPRETER, session)

    def may_go_on_stage(self, session: Session) -> bool:
        """Its speakers and chairs, and those who moderate it."""
        return self.moderates(session) or any(self._holds(role, session) for role in STAGE_ROLES)

    def _holds(self, role: Role, session: Session) -> bool:
        return any(g.role == role and g.session_id == session.id for g in self.grants)

    def has_session_role(self, session: Session) -> bool:
        return self.moderates(session) or any(
            g.role in SESSION_ROLES and g.session_id == session.id for g in self.grants
        )

    def invited_to(self, session: Session) -> bool:
        return session.id in self.invited_sessions or (
            session.host_organization_id is not None
            and session.host_organization_id in self.invited_organizations
        )


async def load_principal(db: AsyncSession, account: Account | None) -> Principal:
    if account is None:
        return Principal(account=None)
    return (await load_principals(db, [account]))[account.id]


async def load_principals(db: AsyncSession, accounts: Sequence[Account]) -> dict[int, Principal]:
    """Each account's principal, by account id: two statements however many accounts."""
    principals = {account.id: Principal(account=account) for account in accounts}
    if not principals:
        return principals
    ids = {"account_ids": list(principals)}
    for grant in await db.scalars(_GRANTS, ids):
        principals[grant.account_id].grants.append(grant)
    for account_id, session_id, organization_id in await db.execute(_INVITES, ids):
        principal = principals[account_id]
        if session_id is not None:
            principal.invited_sessions.setdefault(session_id, organization_id)
        else:
            principal.invited_organizations.add(organization_id)
    return principals


# Built once: every connection and every signed-in page asks.
_ACCOUNT_IDS: BindParameter[int] = bindparam("account_ids", expanding=True)
_GRANTS = select(RoleGrant).where(RoleGrant.account_id.in_(_ACCOUNT_IDS))
_INVITES = (
    select(InviteRedemption.account_id, Invite.session_id, Invite.organization_id)
    .join(InviteRedemption, InviteRedemption.invite_id == Invite.id)
    .where(InviteRedemption.account_id.in_(_ACCOUNT_IDS))
)


def inviting_organization(principal: Principal, session: Session) -> int | None:
    """The partner whose invite link brought this person to this session, if any."""
    if session.id in principal.invited_sessions:
        return principal.invited_sessions[session.id]
    if session.host_organization_id in principal.invited_organizations:
        return session.host_organization_id
    return None


def check_session_access(principal: Principal, session: Session) -> None:
    """Raise unless the principal may enter this session's room."""
    if principal.has_session_role(session):
        return
    if session.visibility == Visibility.INVITE_ONLY and not principal.invited_to(session):
        if not principal.signed_in:
            raise Unauthenticated("session.sign_in_required", "Sign in or use your invite link.")
        raise Forbidden("session.invite_only", "This session admits invited participants only.")
    if session.visibility == Visibility.REGISTERED and not (
        principal.registered or principal.invited_to(session)
    ):
        raise Unauthenticated(
            "session.registration_required", "Register or sign in to join this session."
        )


def may_enter(principal: Principal, session: Session) -> bool:
    try:
        check_session_access(principal, session)
    except (Forbidden, Unauthenticated):
        return False
    return True


def require_organizer(principal: Principal) -> None:
    if not principal.signed_in:
        raise Unauthenticated("auth.sign_in_required", "Sign in first.")
    if not principal.is_organizer:
        raise Forbidden("access.forbidden", "Only organizers may do this.")


def require_host(principal: Principal, organization_id: int) -> None:
    if not principal.signed_in:
        raise Unauthenticated("auth.sign_in_required", "Sign in first.")
    if not principal.hosts(organization_id):
        raise Forbidden("access.forbidden", "Only this organization's hosts may do this.")


# --- role grants -----------------------------------------------------------------------------


async def grant_role(
    db: AsyncSession,
    principal: Principal,
    account: Account,
    role: Role,
    *,
    organization_id: int | None = None,
    session_id: int | None = None,
) -> RoleGrant:
    require_organizer(principal)
    await _check_scope(db, role, organization_id, session_id)
    if account.is_guest and role != Role.SPEAKER:
        raise InvalidInput(
            "access.guest_account", "Guests cannot hold roles; ask them to register."
        )
    existing = await db.scalar(
        select(RoleGrant).where(
            RoleGrant.account_id == account.id,
            RoleGrant.role == role,
            _same(RoleGrant.organization_id, organization_id),
            _same(RoleGrant.session_id, session_id),
        )
    )
    if existing is not None:
        return existing
    grant = RoleGrant(
        account_id=account.id,
        role=role,
        organization_id=organization_id,
        session_id=session_id,
        granted_by=principal.account.id if principal.account else None,
    )
    db.add(grant)
    await db.flush()
    return grant


def _same(column: InstrumentedAttribute[int | None], value: int | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


async def _check_scope(
    db: AsyncSession, role: Role, organization_id: int | None, session_id: int | None
) -> None:
    if role == Role.HOST and organization_id is None:
        raise InvalidInput("access.scope_required", "A host role names an organization.")
    if role in SESSION_ROLES and session_id is None:
        raise InvalidInput("access.scope_required", f"A {role} role names a session.")
    if role == Role.ORGANIZER and (organization_id or session_id):
        raise InvalidInput("access.bad_scope", "The organizer role covers the whole conference.")
    if role != Role.HOST and organization_id is not None:
        raise InvalidInput("access.bad_scope", "Only the host role names an organization.")
    if organization_id is not None and await db.get(Organization, organization_id) is None:
        raise NotFound("program.organization_not_found", "There is no such organization.")
    if session_id is not None and await db.get(Session, session_id) is None:
        raise NotFound("program.session_not_found", "There is no such session.")


async def make_organizer(db: AsyncSession, account: Account) -> RoleGrant:
    """The first organizer, made from the machine (CLI, demo), where no organizer exists to ask."""
    existing = await db.scalar(
        select(RoleGrant).where(
            RoleGrant.account_id == account.id, RoleGrant.role == Role.ORGANIZER
        )
    )
    if existing is not None:
        return existing
    grant = RoleGrant(account_id=account.id, role=Role.ORGANIZER)
    db.add(grant)
    await db.flush()
    return grant


async def revoke_role(db: AsyncSession, principal: Principal, grant_id: int) -> None:
    require_organizer(principal)
    grant = await db.get(RoleGrant, grant_id)
    if grant is None:
        raise NotFound("access.grant_not_found", "There is no such role grant.")
    if (
        principal.account
        and grant.account_id == principal.account.id
        and grant.role == Role.ORGANIZER
    ):
        raise InvalidInput("access.last_organizer", "You cannot remove your own organizer role.")
    await db.delete(grant)


async def list_grants(db: AsyncSession) -> Sequence[tuple[RoleGrant, Account]]:
    query = (
        select(RoleGrant, Account)
        .join(Account, Account.id == RoleGrant.account_id)
        .order_by(RoleGrant.role, Account.display_name)
    )
    return [(grant, account) for grant, account in (await db.execute(query)).all()]


# --- invites ---------------------------------------------------------------------------------


async def create_invite(
    db: AsyncSession,
    principal: Principal,
    organization_id: int,
    *,
    session_id: int | None = None,
    label: str = "",
    expires_at: datetime | None = None,
    max_uses: int | None = None,
) -> Invite:
    require_host(principal, organization_id)
    if await db.get(Organization, organization_id) is None:
        raise NotFound("program.organization_not_found", "There is no such organization.")
    if session_id is not None:
        await _check_invite_session(db, principal, organization_id, session_id)
    if max_uses is not None and not 1 <= max_uses <= 1_000_000:
        raise InvalidInput("invite.bad_max_uses", "An invite may be used 1 to 1,000,000 times.")
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("invite.bad_expiry", "The expiry must be in the future.")
    invite = Invite(
        code=secrets.token_urlsafe(12),
        organization_id=organization_id,
        session_id=session_id,
        label=label.strip()[:200],
        created_by=principal.account.id if principal.account else None,
        expires_at=expires_at,
        max_uses=max_uses,
    )
    db.add(invite)
    await db.flush()
    return invite


async def _check_invite_session(
    db: AsyncSession, principal: Principal, organization_id: int, session_id: int
) -> None:
    session = await db.get(Session, session_id)
    if session is None:
        raise NotFound("program.session_not_found", "There is no such session.")
    if session.host_organization_id != organization_id and not principal.is_organizer:
        raise Forbidden("access.forbidden", "Invite to your own organization's sessions.")


async def find_invite(db: AsyncSession, code: str) -> Invite | None:
    if not INVITE_CODE.match(code):
        return None
    return await db.scalar(select(Invite).where(Invite.code == code))


def invite_problem(invite: Invite | None) -> Forbidden | NotFound | None:
    """Why this link does not admit anyone any more, or None while it does."""
    if invite is None:
        return NotFound("invite.not_found", "This invite link does not exist.")
    if invite.revoked_at is not None:
        return Forbidden("invite.revoked", "This invite link was withdrawn by its host.")
    if invite.expires_at is not None and invite.expires_at <= utcnow():
        return Forbidden("invite.expired", "This invite link has expired.")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return Forbidden("invite.used_up", "This invite link has been used up.")
    return None


async def redeem_invite(db: AsyncSession, code: str, account: Account) -> Invite:
    """Admit the account through the link. Using your own link again is free and harmless."""
    invite = await find_invite(db, code)
    if invite is not None and await _already_redeemed(db, invite, account):
        return invite
    problem = invite_problem(invite)
    if problem is not None:
        raise problem
    assert invite is not None
    await _take_one_use(db, invite)
    db.add(InviteRedemption(invite_id=invite.id, account_id=account.id))
    await db.flush()
    return invite


async def _already_redeemed(db: AsyncSession, invite: Invite, account: Account) -> bool:
    found = await db.scalar(
        select(InviteRedemption.id).where(
            InviteRedemption.invite_id == invite.id, InviteRedemption.account_id == account.id
        )
    )
    return found is not None


async def _take_one_use(db: AsyncSession, invite: Invite) -> None:
    """Count the use in one conditional UPDATE, so concurrent redemptions cannot overshoot."""
    now = utcnow()
    result = await db.execute(
        update(Invite)
        .where(
            Invite.id == invite.id,
            Invite.revoked_at.is_(None),
            or_(Invite.max_uses.is_(None), Invite.uses < Invite.max_uses),
            or_(Invite.expires_at.is_(None), Invite.expires_at > now),
        )
        .values(uses=Invite.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Forbidden("invite.used_up", "This invite link has been used up.")
    await db.refresh(invite)


async def revoke_invite(db: AsyncSession, principal: Principal, invite_id: int) -> Invite:
    invite = await db.get(Invite, invite_id)
    if invite is None:
        raise NotFound("invite.not_found", "This invite link does not exist.")
    require_host(principal, invite.organization_id)
    invite.revoked_at = invite.revoked_at or utcnow()
    return invite


@dataclass
class InviteFigures:
    invite: Invite
    session_title: str | None
    redemptions: int


async def invites_of(
    db: AsyncSession, principal: Principal, organization_id: int
) -> list[InviteFigures]:
    require_host(principal, organization_id)
    query = (
        select(Invite, Session.title, func.count(InviteRedemption.id))
        .outerjoin(Session, Session.id == Invite.session_id)
        .outerjoin(InviteRedemption, InviteRedemption.invite_id == Invite.id)
        .where(Invite.organization_id == organization_id)
        .group_by(Invite.id, Session.title)
        .order_by(Invite.created_at.desc())
    )
    return [
        InviteFigures(inv, title, count) for inv, title, count in (await db.execute(query)).all()
    ]

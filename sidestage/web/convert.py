"""From database rows to API bodies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidestage.platform.access.models import Invite, RoleGrant
from sidestage.platform.accounts.models import Account
from sidestage.platform.program.models import Conference, Day, Organization, Session
from sidestage.platform.program.schedule_import import ImportSummary
from sidestage.web.api_models import (
    AccountOut,
    ConferenceOut,
    DayOut,
    GrantOut,
    ImportOut,
    InviteOut,
    OrganizationOut,
    PersonOut,
    SessionDetailOut,
    SessionOut,
)


def account_out(account: Account, grants: Sequence[RoleGrant]) -> AccountOut:
    return AccountOut(
        id=account.id,
        name=account.display_name,
        email=account.email,
        guest=account.is_guest,
        roles=[grant_out(grant) for grant in grants],
    )


def grant_out(grant: RoleGrant) -> GrantOut:
    return GrantOut(
        id=grant.id,
        account_id=grant.account_id,
        role=grant.role,
        organization_id=grant.organization_id,
        session_id=grant.session_id,
    )


def conference_out(conference: Conference) -> ConferenceOut:
    return ConferenceOut(
        acronym=conference.acronym,
        title=conference.title,
        title_translations=conference.title_translations,
        time_zone=conference.time_zone,
        languages=conference.languages,
        start=conference.start_date,
        end=conference.end_date,
    )


def day_out(day: Day) -> DayOut:
    return DayOut(
        id=day.id, index=day.index, date=day.date, starts_at=day.day_start, ends_at=day.day_end
    )


def organization_out(org: Organization) -> OrganizationOut:
    return OrganizationOut(
        id=org.id,
        slug=org.slug,
        name=org.name,
        name_translations=org.name_translations,
        url=org.url,
    )


def session_out(session: Session, *, stream: bool) -> SessionOut:
    """``stream``: whether the reader may enter the session, and so see its stream's address."""
    return SessionOut(**_session_fields(session, stream))


def session_detail_out(session: Session, may_enter: bool, bookmarked: bool) -> SessionDetailOut:
    return SessionDetailOut(
        **_session_fields(session, may_enter),
        description=session.description,
        may_enter=may_enter,
        bookmarked=bookmarked,
    )


def _session_fields(session: Session, stream: bool) -> dict[str, Any]:
    return {
        "id": session.id,
        "guid": session.guid,
        "title": session.title,
        "title_translations": session.title_translations,
        "kind": session.kind,
        "type": session.type,
        "track": session.track.name if session.track else None,
        "room": session.room.name if session.room else None,
        "live": session.live,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "visibility": session.visibility,
        "languages": session.languages,
        "capacity": session.capacity,
        "host": organization_out(session.host) if session.host else None,
        "abstract": session.abstract,
        # The stream is the room's door too: its address goes only to those the room admits.
        "stream_url": session.stream_url if stream else None,
        "speakers": [
            PersonOut(id=link.person.id, name=link.person.name, biography=link.person.biography)
            for link in session.speakers
        ],
    }


def import_out(summary: ImportSummary) -> ImportOut:
    return ImportOut(
        conference=summary.acronym,
        days=summary.days,
        rooms=summary.rooms,
        tracks=summary.tracks,
        sessions=summary.sessions,
        sessions_created=summary.sessions_created,
        sessions_updated=summary.sessions_updated,
        people=summary.people,
        organizations=summary.organizations,
        not_in_file=summary.not_in_file,
        removed=summary.removed,
    )


def invite_out(invite: Invite, base_url: str, session_title: str | None = None) -> InviteOut:
    return InviteOut(
        id=invite.id,
        code=invite.code,
        url=f"{base_url.rstrip('/')}/invite/{invite.code}",
        organization_id=invite.organization_id,
        session_id=invite.session_id,
        session_title=session_title,
        label=invite.label,
        created_at=invite.created_at,
        expires_at=invite.expires_at,
        max_uses=invite.max_uses,
        uses=invite.uses,
        revoked=invite.revoked_at is not None,
    )

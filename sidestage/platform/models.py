"""Every platform table, imported in one place so Alembic and tests see the whole schema."""

from sidestage.platform.access.models import Invite, InviteRedemption, RoleGrant
from sidestage.platform.accounts.models import Account, AuthToken
from sidestage.platform.db import Base
from sidestage.platform.program.models import (
    Bookmark,
    Conference,
    Day,
    Organization,
    Person,
    Room,
    Session,
    SessionPerson,
    Track,
)

__all__ = [
    "Account",
    "AuthToken",
    "Base",
    "Bookmark",
    "Conference",
    "Day",
    "Invite",
    "InviteRedemption",
    "Organization",
    "Person",
    "RoleGrant",
    "Room",
    "Session",
    "SessionPerson",
    "Track",
]

"""Request and response bodies of the JSON API; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sidestage.platform.access.models import Role
from sidestage.platform.program.models import SessionKind, Visibility

MAX_ID = 2**31 - 1


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GuestIn(Body):
    name: str = Field(min_length=1, max_length=100)


class LoginIn(Body):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1000)


class RegisterIn(LoginIn):
    name: str = Field(min_length=1, max_length=100)


class PreferencesIn(Body):
    locale: str | None = Field(default=None, pattern=r"^(en|ar|fr|es)$")
    time_zone: str | None = Field(default=None, max_length=64)


class GrantIn(Body):
    email: str = Field(min_length=3, max_length=320)
    role: Role
    organization_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    session_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class SessionSettingsIn(Body):
    kind: SessionKind
    visibility: Visibility
    host_organization_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    capacity: int | None = Field(default=None, ge=1, le=1_000_000)
    stream_url: str | None = Field(default=None, max_length=500)


class InviteIn(Body):
    session_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    label: str = Field(default="", max_length=200)
    expires_at: AwareDatetime | None = None
    max_uses: int | None = Field(default=None, ge=1, le=1_000_000)


class AccountOut(BaseModel):
    id: int
    name: str
    email: str | None
    guest: bool
    roles: list[GrantOut] = []


class TokenOut(BaseModel):
    token: str
    account: AccountOut


class GrantOut(BaseModel):
    id: int
    account_id: int
    role: str
    organization_id: int | None
    session_id: int | None


class GrantWithAccountOut(GrantOut):
    account_name: str
    account_email: str | None


class OrganizationOut(BaseModel):
    id: int
    slug: str
    name: str
    name_translations: dict[str, str]
    url: str | None


class PersonOut(BaseModel):
    id: int
    name: str
    biography: str | None


class SessionOut(BaseModel):
    id: int
    guid: str
    title: str
    title_translations: dict[str, str]
    kind: str
    type: str | None
    track: str | None
    room: str | None
    live: bool
    starts_at: datetime
    ends_at: datetime
    visibility: str
    languages: list[str]
    capacity: int | None
    host: OrganizationOut | None
    abstract: str | None
    stream_url: str | None
    speakers: list[PersonOut]


class SessionDetailOut(SessionOut):
    description: str | None
    may_enter: bool
    bookmarked: bool


class DayOut(BaseModel):
    id: int
    index: int
    date: date
    starts_at: datetime
    ends_at: datetime


class ConferenceOut(BaseModel):
    acronym: str
    title: str
    title_translations: dict[str, str]
    time_zone: str
    languages: list[str]
    start: date
    end: date


class ProgramOut(BaseModel):
    conference: ConferenceOut
    days: list[DayOut]
    sessions: list[SessionOut]


class ImportOut(BaseModel):
    conference: str
    days: int
    rooms: int
    tracks: int
    sessions: int
    sessions_created: int
    sessions_updated: int
    people: int
    organizations: int
    not_in_file: list[str]
    removed: int


class InviteOut(BaseModel):
    id: int
    code: str
    url: str
    organization_id: int
    session_id: int | None
    session_title: str | None = None
    label: str
    created_at: datetime
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked: bool


class RedeemedOut(BaseModel):
    invite_id: int
    organization_id: int
    session_id: int | None


class OkOut(BaseModel):
    ok: bool = True


class ErrorOut(BaseModel):
    error: dict[str, Any]


AccountOut.model_rebuild()

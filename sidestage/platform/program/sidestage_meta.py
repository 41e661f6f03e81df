"""Sidestage's own program fields, carried in ``conference.meta.sidestage``.

The schedule format has no place for a session's kind, visibility, host partner
or translations; its ``meta`` object is open, so the export writes them there
and the import reads them back, which makes export and re-import lossless.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from sidestage.platform.program.models import SessionKind, Visibility
from sidestage.platform.program.schedule_format import invalid_at
from sidestage.platform.text import is_web_url

Translations = dict[str, str]


def _web_url(value: str | None) -> str | None:
    if value is not None and not is_web_url(value):
        raise ValueError("must be an http or https address")
    return value


WebUrl = Annotated[str | None, AfterValidator(_web_url)]
# A language tag as BCP 47 writes the common ones: "ar", "fr", "es-419", "zh-Hans".
LANGUAGE_TAG = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
Language = Annotated[str, Field(pattern=LANGUAGE_TAG, max_length=16)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganizationMeta(_Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)
    name: str = Field(min_length=1, max_length=300)
    name_translations: Translations = {}
    url: WebUrl = None


class SessionMeta(_Strict):
    kind: SessionKind | None = None
    visibility: Visibility = Visibility.PUBLIC
    capacity: int | None = Field(default=None, ge=1)
    host: str | None = None
    stream_url: WebUrl = None
    languages: list[str] = []  # spoken on the floor
    interpretation_languages: list[Language] = Field(default=[], max_length=12)
    caption_languages: list[Language] = Field(default=[], max_length=12)
    title_translations: Translations = {}
    abstract_translations: Translations = {}


class SidestageMeta(_Strict):
    languages: list[str] = []
    title_translations: Translations = {}
    room_translations: dict[str, Translations] = {}  # by the room's name in the file
    track_translations: dict[str, Translations] = {}  # by the track's name
    organizations: list[OrganizationMeta] = []
    sessions: dict[str, SessionMeta] = {}


def parse_meta(meta: dict[str, Any]) -> SidestageMeta:
    try:
        parsed = SidestageMeta.model_validate(meta.get("sidestage") or {})
    except ValidationError as error:
        first = error.errors()[0]
        place = ["meta", "sidestage", *first["loc"]]
        raise invalid_at(place, first["msg"].removeprefix("Value error, ")) from None
    _check_hosts(parsed)
    return parsed


def _check_hosts(meta: SidestageMeta) -> None:
    known = {organization.slug for organization in meta.organizations}
    for guid, session in meta.sessions.items():
        if session.host is not None and session.host not in known:
            place = ["meta", "sidestage", "sessions", guid, "host"]
            raise invalid_at(place, f"no organization {session.host!r} in meta.sidestage")

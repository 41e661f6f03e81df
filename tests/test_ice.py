"""STUN and TURN from settings, and TURN credentials coturn accepts (its REST API scheme)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sidestage.platform.errors import ConfigurationError
from sidestage.platform.settings import Settings, load_settings
from sidestage.realtime.ice import CREDENTIAL_LIFETIME, ice_servers
from sidestage.web.app import create_app
from tests.helpers import bearer, guest_token

SECRET = "coturn-shared-secret-0123456789"


def _load(tmp_path: Path, **extra: str) -> Settings:
    return load_settings({"SIDESTAGE_DATA_DIR": str(tmp_path), **extra})


def test_no_servers_unless_configured(tmp_path: Path) -> None:
    settings = _load(tmp_path)
    assert ice_servers(settings, 7, datetime.now(UTC)) == []


def test_stun_and_turn_from_settings(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        SIDESTAGE_STUN_URLS="stun:stun.example.org:3478, stuns:stun.example.org:5349",
        SIDESTAGE_TURN_URL="turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349",
        SIDESTAGE_TURN_SECRET=SECRET,
    )
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    stun, turn = ice_servers(settings, 42, now)
    assert stun == {"urls": ["stun:stun.example.org:3478", "stuns:stun.example.org:5349"]}
    assert turn["urls"] == [
        "turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:5349",
    ]
    expires, account = turn["username"].split(":")
    assert int(expires) == int((now + CREDENTIAL_LIFETIME).timestamp()) and account == "42"
    # What coturn computes from the username with static-auth-secret:
    expected = hmac.new(SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == expected


@pytest.mark.parametrize(
    "environ",
    [
        {"SIDESTAGE_STUN_URLS": "http://stun.example.org"},
        {"SIDESTAGE_TURN_URL": "stun:wrong-kind.example.org"},
        {"SIDESTAGE_TURN_URL": "turn:turn.example.org:3478"},  # no secret
        {"SIDESTAGE_TURN_URL": "turn:turn.example.org", "SIDESTAGE_TURN_SECRET": "short"},
    ],
)
def test_bad_ice_settings_are_refused_at_start(tmp_path: Path, environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="SIDESTAGE_TURN|stun|turn"):
        _load(tmp_path, **environ)


async def test_signed_in_browsers_get_their_own_credentials(settings, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    configured = replace(settings, turn_urls=("turn:turn.example.org:3478",), turn_secret=SECRET)
    client = await aiohttp_client(create_app(configured))
    refused = await client.get("/api/rtc/ice-servers")
    assert refused.status == 401
    answers = []
    for name in ("Amina", "Omar"):
        token = await guest_token(client, name)
        answer = await client.get("/api/rtc/ice-servers", headers=bearer(token))
        assert answer.status == 200
        answers.append((await answer.json())["ice_servers"][0])
    assert answers[0]["urls"] == ["turn:turn.example.org:3478"]
    assert answers[0]["username"] != answers[1]["username"]  # one per account

"""The STUN and TURN servers a browser or media worker is given for WebRTC.

TURN credentials follow coturn's REST API scheme (``use-auth-secret``): the username is
the credential's expiry as a Unix time, then the account id; the password is the base64
HMAC-SHA1 of that username under the secret shared with coturn. No TURN account is
stored anywhere, and a leaked credential stops working when the day is over.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer

from sidestage.platform.settings import Settings

CREDENTIAL_LIFETIME = timedelta(hours=12)  # a conference day, with margin


def ice_servers(settings: Settings, account_id: int, now: datetime) -> list[dict[str, Any]]:
    """RTCIceServer entries, as ``RTCPeerConnection`` takes them (``urls``, ``username``, …)."""
    servers: list[dict[str, Any]] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret:
        username, credential = turn_credential(settings.turn_secret, account_id, now)
        servers.append(
            {"urls": list(settings.turn_urls), "username": username, "credential": credential}
        )
    return servers


def turn_credential(secret: str, account_id: int, now: datetime) -> tuple[str, str]:
    expires = int((now + CREDENTIAL_LIFETIME).timestamp())
    username = f"{expires}:{account_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def server_configuration(settings: Settings) -> RTCConfiguration:
    """The server's own peers use STUN only, to learn the public address they answer from."""
    servers = [RTCIceServer(urls=list(settings.stun_urls))] if settings.stun_urls else []
    return RTCConfiguration(iceServers=servers)

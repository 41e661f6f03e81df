"""Checks on text from outside. PostgreSQL cannot store NUL characters, so none get in."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit


def find_nul(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """The path to the first string (or key) holding a NUL character, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                return (*path, key)
            found = find_nul(item, (*path, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = find_nul(item, (*path, index))
            if found is not None:
                return found
    return None


def is_web_url(value: str) -> bool:
    """An absolute http(s) address that is safe to link to and to redirect to.

    The one check for addresses people give (tools, streams, partners' sites), at input
    and again before a redirect. Refused: other schemes (``javascript:``), a user part
    (``https://trusted@evil``), backslashes, spaces and control characters, which browsers
    and URL libraries each read their own way, and a host or port that does not parse."""
    if len(value) > 500 or any(_not_in_url(c) for c in value):
        return False
    try:
        parts = urlsplit(value)
        port_parses = parts.port is None or parts.port > 0
    except ValueError:
        return False
    host = parts.hostname or ""
    return (
        parts.scheme in ("http", "https")
        and port_parses
        and "@" not in parts.netloc
        and (_is_host_name(host) or _is_ipv6(host))
    )


# Names of letters (any script, for internationalized domains), digits, hyphens and dots.
_HOST = re.compile(r"^(?!-)[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*\.?$")


def _is_host_name(host: str) -> bool:
    """A name that also survives IDNA encoding (as HTTP clients and aiohttp encode it)."""
    if not _HOST.match(host):
        return False
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True


def _not_in_url(c: str) -> bool:
    return ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\\" or c.isspace()


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False

"""Argon2 password hashes, computed off the event loop, a few at a time.

One Argon2 hash costs this process tens to hundreds of milliseconds of CPU and 64 MiB of
memory (argon2-cffi's defaults, RFC 9106's low-memory profile). Computed on the event
loop, 35 wrong logins held every room of the process still for seconds. Here they run in
a pool of their own; argon2-cffi releases the GIL while it hashes, so the loop keeps
serving. The pool's size is the bound on hashes at once: more would only queue for the
same cores and add 64 MiB each, and a flood of logins then waits its turn in the pool's
queue (the login throttle keeps that queue short) instead of starving everything else.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHES_AT_ONCE = max(2, min(2 * (os.cpu_count() or 1), 8))

_hasher = PasswordHasher()
# Process-wide, like the hasher: threads start on the first hash, are shared by every app
# and event loop of the process (tests run many), and hold nothing between hashes.
_pool = ThreadPoolExecutor(max_workers=HASHES_AT_ONCE, thread_name_prefix="argon2")
# Verifying against this when the email is unknown keeps both paths equally slow.
DUMMY_HASH = _hasher.hash("sidestage-timing-equaliser")


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


async def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored``; False for a damaged hash too."""
    return await asyncio.get_running_loop().run_in_executor(_pool, _verify, stored, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether the hash was made with older parameters (reading them costs no hashing)."""
    return _hasher.check_needs_rehash(stored)

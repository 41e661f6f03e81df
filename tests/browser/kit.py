"""Browser test kit: Debian's Chromium, signing people in, axe, bytes on the wire, slow 3G.

Pages are driven as a screen-reader user meets them (roles and accessible names); every
wait is Playwright waiting for an element or an event, never a sleep.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Page,
    Playwright,
    Request,
)
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.access.models import Role
from sidestage.platform.db import utcnow
from sidestage.platform.program import service as program
from sidestage.platform.program.models import Conference, Session, SessionKind, Visibility
from sidestage.web.security import SESSION_COOKIE
from tests.helpers import PASSWORD, grant_by_email

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
# The system's browser: tests never download one (no `playwright install`).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The stage: a synthetic camera and microphone, granted without asking, played
    # without a click, and host candidates by address (no mDNS names to resolve).
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
FAILING_IMPACTS = ("serious", "critical")
FINISH_WITHIN = 30.0  # seconds for the requests of a first load to finish once it has loaded
# Slow 3G: 400 kbit/s each way and 400 ms of latency, in the units CDP wants (ms, bytes/s).
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 50_000,
    "uploadThroughput": 50_000,
}


@dataclass(repr=False)
class Site:
    """The real app on a real port, and its database, for one test."""

    url: str
    db: async_sessionmaker[AsyncSession]

    async def session(self, *where: ColumnElement[bool]) -> Session:
        """The first session of the demo program that matches, by id."""
        async with self.db() as db:
            found = await db.scalar(select(Session).where(*where).order_by(Session.id).limit(1))
        assert found is not None, f"the demo program has no session where {where}"
        return found


async def public_side_event(site: Site) -> Session:
    return await site.session(Session.visibility == "public", Session.kind == "side_event")


async def public_side_event_on_the_board(site: Site) -> Session:
    """A public side event the marathon board lists now: running, or next in its room.

    Which sessions those are depends on the time of day the test runs at.
    """
    async with site.db() as db:
        conference = await db.scalar(select(Conference))  # the demo's only conference
        assert conference is not None
        running, upcoming = await program.sessions_around(db, conference.id, utcnow())
    public = (s for s in running + upcoming if s.visibility == Visibility.PUBLIC)
    found = next((s for s in public if s.kind == SessionKind.SIDE_EVENT), None)
    assert found is not None, "the marathon board lists no public side event now"
    return found


async def closed_side_event(site: Site) -> Session:
    return await site.session(Session.visibility == "invite_only", Session.kind == "side_event")


async def launch_chromium(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# --- signing in ---------------------------------------------------------------------------------


async def _use_token(context: BrowserContext, site: Site, token: str) -> str:
    """The browser then carries the token as the session cookie the sign-in forms set."""
    await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": site.url}])
    return token


async def sign_in_as_guest(context: BrowserContext, site: Site, name: str = "Amina") -> str:
    response = await context.request.post(f"{site.url}/api/auth/guest", data={"name": name})
    assert response.status == 201, await response.text()
    return await _use_token(context, site, (await response.json())["token"])


async def sign_in_with_role(
    context: BrowserContext,
    site: Site,
    role: Role | None,
    *,
    organization_id: int | None = None,
    session_id: int | None = None,
) -> str:
    """A newly registered account, holding ``role`` when one is given; returns its token."""
    email = f"{role or 'participant'}-{uuid.uuid4().hex[:8]}@example.org"
    body = {"email": email, "password": PASSWORD, "name": email.split("@")[0]}
    response = await context.request.post(f"{site.url}/api/auth/register", data=body)
    assert response.status == 201, await response.text()
    if role is not None:
        await grant_by_email(site.db, email, role, organization_id, session_id)
    return await _use_token(context, site, (await response.json())["token"])


async def sign_in_as_organizer(context: BrowserContext, site: Site) -> str:
    return await sign_in_with_role(context, site, Role.ORGANIZER)


# --- accessibility ------------------------------------------------------------------------------


async def assert_accessible(page: Page) -> None:
    """Run axe-core on the page as it is now; fail listing every serious or critical violation."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await _inject(page, AXE)
    results = await page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    failing = [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]
    assert not failing, f"axe on {page.url}:\n" + "\n".join(map(_describe, failing))


async def _inject(page: Page, script: Path) -> None:
    """Run a script in the page through DevTools.

    A script tag would be inline, which the app's Content-Security-Policy rightly refuses;
    bypassing CSP for the whole context would hide the app's own violations.
    """
    source = await asyncio.to_thread(_read_script, script)
    cdp = await page.context.new_cdp_session(page)
    try:
        answer = await cdp.send("Runtime.evaluate", {"expression": source})
    finally:
        await cdp.detach()
    assert "exceptionDetails" not in answer, answer["exceptionDetails"]


def _read_script(script: Path) -> str:
    assert script.exists(), f"{script} is missing: `make test` installs it (npm ci)"
    return script.read_text()


def _describe(violation: dict[str, Any]) -> str:
    targets = "\n".join(f"    {' '.join(map(str, node['target']))}" for node in violation["nodes"])
    return f"  {violation['id']} ({violation['impact']}): {violation['help']}\n{targets}"


# --- weak connections ---------------------------------------------------------------------------


async def transferred_bytes(context: BrowserContext, path: str) -> int:
    """Bytes on the wire (headers and encoded bodies) to load ``path`` with an empty cache.

    Every request the page starts before its load event counts, each once it has finished.
    """
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    requests: list[Request] = []

    def started(request: Request) -> None:
        requests.append(request)

    page.on("request", started)
    response = await page.goto(path, wait_until="load")
    page.remove_listener("request", started)
    assert response is not None and response.ok, f"{path}: {response and response.status}"
    # A request that never ends (a long poll begun before load) would otherwise hang the test.
    finishing = asyncio.gather(*(request.sizes() for request in requests))
    sizes = await asyncio.wait_for(finishing, FINISH_WITHIN)
    await cdp.detach()
    await page.close()
    return sum(size["responseHeadersSize"] + size["responseBodySize"] for size in sizes)


async def emulate_slow_3g(page: Page) -> CDPSession:
    """Throttle this page's requests to slow 3G until the returned session is detached.

    It is Chromium's DevTools throttling: HTTP requests for sure; do not count on it for
    the frames of an open WebSocket.
    """
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    return cdp

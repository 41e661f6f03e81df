"""The pages in real Chromium: axe finds nothing serious, Arabic reads right to left, invites
open closed sessions, and the keyboard reaches the content first."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from sidestage.platform.access.models import Role
from sidestage.platform.program.models import Session
from tests.browser.conftest import NewContext
from tests.browser.kit import (
    SLOW_3G,
    Site,
    assert_accessible,
    closed_side_event,
    emulate_slow_3g,
    public_side_event,
    sign_in_as_guest,
    sign_in_as_organizer,
    sign_in_with_role,
    transferred_bytes,
)
from tests.helpers import bearer


async def sign_in_as_host(context: BrowserContext, site: Site, session: Session) -> str:
    organization = session.host_organization_id
    return await sign_in_with_role(context, site, Role.HOST, organization_id=organization)


async def invite_code(context: BrowserContext, token: str, session: Session) -> str:
    """An invite link to ``session``, made by its host through the API."""
    response = await context.request.post(
        f"/api/organizations/{session.host_organization_id}/invites",
        data={"session_id": session.id, "label": "Partners in the region"},
        headers=bearer(token),
    )
    assert response.status == 201, await response.text()
    return str((await response.json())["code"])


# --- axe ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    path: str
    who: str = "visitor"  # visitor, guest, host or organizer
    status: int = 200

    def __str__(self) -> str:
        return f"{self.who}:{self.path}"


VISITS = [
    Visit("/program"),
    Visit("/program?lang=ar"),
    Visit("/sessions/{public}"),
    Visit("/marathon"),
    Visit("/login"),
    Visit("/register"),
    Visit("/guest"),
    Visit("/settings"),
    Visit("/agenda", who="guest"),
    Visit("/invite/{invite}"),
    Visit("/host", who="host"),
    Visit("/organizer", who="organizer"),
    Visit("/organizer/sessions/{public}", who="organizer"),
    Visit("/sessions/{public}/room"),  # the way in: join as a guest, log in, register
    Visit("/sessions/{public}/room?lang=ar", who="guest"),
    Visit("/sessions/{closed}/room", who="guest", status=403),
    Visit("/no-such-page", status=404),
]


async def _prepare(visit: Visit, site: Site, new_context: NewContext) -> tuple[BrowserContext, str]:
    """The visitor's context, signed in as the visit needs, and the path to open."""
    public, closed = await public_side_event(site), await closed_side_event(site)
    context = await new_context()
    fields = {"public": str(public.id), "closed": str(closed.id), "invite": ""}
    if visit.who == "guest":
        token = await sign_in_as_guest(context, site)
        marked = await context.request.put(
            f"/api/sessions/{public.id}/bookmark", headers=bearer(token)
        )
        assert marked.ok, await marked.text()
    elif visit.who == "organizer":
        await sign_in_as_organizer(context, site)
    if visit.who == "host" or "{invite}" in visit.path:
        host = context if visit.who == "host" else await new_context()
        token = await sign_in_as_host(host, site, closed)
        # Made for the host's own visit too, so their page shows its table of links.
        fields["invite"] = await invite_code(host, token, closed)
    return context, visit.path.format(**fields)


@pytest.mark.parametrize("visit", VISITS, ids=str)
async def test_axe_finds_no_serious_violation(
    visit: Visit, site: Site, new_context: NewContext
) -> None:
    context, path = await _prepare(visit, site, new_context)
    page = await context.new_page()
    response = await page.goto(path)
    assert response is not None and response.status == visit.status, path
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await assert_accessible(page)


async def test_the_axe_check_fails_on_a_serious_violation(page: Page) -> None:
    """The check above would pass on a page axe never looked at: show it can fail."""
    await page.goto("/login")
    await page.get_by_role("main").evaluate(
        "main => main.insertAdjacentHTML('beforeend', '<input id=unnamed type=text>')"
    )
    with pytest.raises(AssertionError, match=r"(?s)label \(critical\).*#unnamed"):
        await assert_accessible(page)


# --- right to left ------------------------------------------------------------------------------


TEXT_AND_BOX_RIGHT = """element => {
    const text = document.createRange();
    text.selectNodeContents(element);
    return [text.getBoundingClientRect().right, element.getBoundingClientRect().right];
}"""


async def test_an_arabic_session_page_reads_right_to_left(
    site: Site, new_context: NewContext, tmp_path: Path
) -> None:
    session = await public_side_event(site)
    assert session.title_translations.get("ar"), "the demo session needs an Arabic title"
    page = await (await new_context(locale="ar")).new_page()
    await page.goto(f"/sessions/{session.id}?lang=ar")

    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    title = page.get_by_role("heading", level=1)
    await expect(title).to_have_text(session.title_translations["ar"])
    assert await title.evaluate("element => getComputedStyle(element).direction") == "rtl"
    # Its text hugs the right edge of the heading, where an Arabic reader starts.
    text_right, heading_right = await title.evaluate(TEXT_AND_BOX_RIGHT)
    assert abs(text_right - heading_right) < 1

    shot = await page.screenshot(path=tmp_path / "session-ar.png", full_page=True)
    assert len(shot) > 20_000, "the screenshot is (nearly) blank"


# --- invite-only sessions -----------------------------------------------------------------------


async def test_an_invite_link_lets_a_guest_into_a_closed_session(
    site: Site, new_context: NewContext
) -> None:
    closed = await closed_side_event(site)
    guest = await (await new_context()).new_page()
    await guest.goto("/guest")
    await guest.get_by_label("Your name, as others will see it").fill("Amina")
    await guest.get_by_role("button", name="Join").click()
    await expect(guest.get_by_role("button", name="Log out")).to_be_visible()

    await guest.goto(f"/sessions/{closed.id}")
    await expect(guest.get_by_text("admits invited participants only")).to_be_visible()

    link = await _invite_link_made_on_the_host_page(site, new_context, closed)
    await guest.goto(link)
    await guest.get_by_role("button", name="Accept the invitation").click()

    await expect(guest).to_have_url(f"{site.url}/sessions/{closed.id}")
    await expect(guest.get_by_text("You may join this live session.")).to_be_visible()
    await expect(guest.get_by_text("admits invited participants only")).to_have_count(0)


async def _invite_link_made_on_the_host_page(
    site: Site, new_context: NewContext, session: Session
) -> str:
    context = await new_context()
    await sign_in_as_host(context, site, session)
    host = await context.new_page()
    await host.goto("/host")
    await host.get_by_label("Invite to").select_option(label=session.title)
    await host.get_by_label("Label (whom you send it to)").fill("Regional partners")
    await host.get_by_role("button", name="Create invite link").click()
    await expect(host.get_by_role("status")).to_contain_text("ready to share")
    return await host.get_by_role("textbox", name="Invite link").input_value()


# --- keyboard -----------------------------------------------------------------------------------


async def test_the_first_tab_reaches_the_skip_link_and_it_leads_to_the_content(page: Page) -> None:
    await page.goto("/program")

    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()  # shown once focused, not left off-screen
    await page.keyboard.press("Enter")
    main = page.get_by_role("main")
    await expect(main).to_be_focused()
    await page.keyboard.press("Tab")  # the next stop is in the content, past the menus
    await expect(main.locator(":focus")).to_have_count(1)


# --- weak connections ---------------------------------------------------------------------------

# Generous: the page is a few kB today; this catches a library slipping into every page.
PROGRAM_BUDGET = 50_000


async def test_a_first_visit_to_the_program_stays_light(
    site: Site, new_context: NewContext
) -> None:
    weight = await transferred_bytes(await new_context(), "/program")
    assert 1_000 < weight < PROGRAM_BUDGET, f"{weight} bytes"


async def test_the_login_page_loads_on_slow_3g(page: Page) -> None:
    throttle = await emulate_slow_3g(page)
    started = time.monotonic()
    await page.goto("/login", timeout=30_000)
    elapsed = time.monotonic() - started
    await expect(page.get_by_label("Email")).to_be_editable()
    # The page, then its stylesheet and script: two round trips of emulated latency at least,
    # which shows the throttle really applies.
    assert elapsed >= 2 * SLOW_3G["latency"] / 1000, f"{elapsed:.2f} s: not throttled"
    await throttle.detach()

"""The live room in real Chromium: two participants and a moderator in separate browsers,
found by role and accessible name as a screen-reader user would find them."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import BrowserContext, Page, expect

from sidestage.platform.access.models import Role
from sidestage.platform.program.models import Session
from sidestage.web.i18n import Catalogs
from tests.browser.conftest import NewContext
from tests.browser.kit import (
    Site,
    assert_accessible,
    closed_side_event,
    emulate_slow_3g,
    public_side_event,
    public_side_event_on_the_board,
    sign_in_as_guest,
    sign_in_as_organizer,
    sign_in_with_role,
    transferred_bytes,
)
from tests.browser.proxy import Tunnel
from tests.helpers import bearer

WAIT = 15_000  # ms; every wait below is for an element or an event, this is only its limit
PAGE_BUDGET = 150_000  # bytes on the wire for the room page's first load, compressed
TOOL_URL = "https://tools.example.org/survey"


async def enter_room(context: BrowserContext, session: Session, base: str = "") -> Page:
    page = await context.new_page()
    await page.goto(f"{base}/sessions/{session.id}/room")
    await entered(page)
    return page


async def entered(page: Page) -> None:
    """room.enter has answered: the room stops being marked busy."""
    await expect(page.locator("[data-room]")).to_have_attribute("aria-busy", "false", timeout=WAIT)


def chat_log(page: Page):  # type: ignore[no-untyped-def]
    """The chat's log (the transcript of captions is another), in any language."""
    return page.get_by_role("log").filter(has=page.locator("[data-part=chat]"))


async def say(page: Page, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


def question(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("listitem").filter(has_text=text)


async def test_two_participants_and_a_moderator_run_a_room(
    site: Site, new_context: NewContext
) -> None:
    session = await public_side_event(site)
    amina_context, omar_context, mod_context = [await new_context() for _ in range(3)]
    await sign_in_as_guest(amina_context, site, "Amina")
    await sign_in_with_role(omar_context, site, None)
    await sign_in_with_role(mod_context, site, Role.MODERATOR, session_id=session.id)
    amina = await enter_room(amina_context, session)
    omar = await enter_room(omar_context, session)
    console = await mod_context.new_page()
    await console.goto(f"/moderate/{session.id}")

    await _chat(amina, omar)
    await _chat_moderation(console, amina, omar)
    await _poll(console, amina, omar)
    await _questions(console, amina, omar)
    await _tool(console, amina, mod_context, session)
    for filled in (amina, console):  # with messages, a closed poll, questions and a tool
        await assert_accessible(filled)
    await _attendance(new_context, site, session)
    await _removal(console, omar)


async def _chat(amina: Page, omar: Page) -> None:
    await say(amina, "Good morning from Rabat")
    await expect(chat_log(omar).get_by_text("Good morning from Rabat")).to_be_visible(timeout=WAIT)
    await say(omar, "صباح الخير من عمّان")
    arrived = chat_log(amina).get_by_text("صباح الخير من عمّان")
    await expect(arrived).to_be_visible(timeout=WAIT)
    await expect(arrived).to_have_attribute("dir", "auto")  # each message its own direction
    assert await arrived.evaluate("node => getComputedStyle(node).direction") == "rtl"
    await say(amina, "The report: https://example.org/report.")
    link = chat_log(omar).get_by_role("link", name="https://example.org/report")
    await expect(link).to_have_attribute("href", "https://example.org/report", timeout=WAIT)
    assert "noopener" in (await link.get_attribute("rel") or "")


async def _chat_moderation(console: Page, amina: Page, omar: Page) -> None:
    await say(omar, "An offensive remark")
    remark = chat_log(console).get_by_role("listitem").filter(has_text="An offensive remark")
    # The button's name says whose message it deletes (heard, not shown).
    await remark.get_by_role("button", name=re.compile(r"^Delete \S")).click(timeout=WAIT)
    await expect(chat_log(amina).get_by_text("An offensive remark")).to_have_count(0, timeout=WAIT)
    await console.get_by_label("Slow mode").select_option("30")
    await expect(amina.get_by_text("one message every 30 seconds")).to_be_visible(timeout=WAIT)
    await say(amina, "First under slow mode")
    await expect(chat_log(omar).get_by_text("First under slow mode")).to_be_visible(timeout=WAIT)
    await say(amina, "Second too soon")
    await expect(amina.get_by_role("status").filter(has_text="Slow mode")).to_be_visible()
    await console.get_by_label("Slow mode").select_option("0")
    await expect(amina.get_by_text("one message every 30 seconds")).to_have_count(0, timeout=WAIT)


async def _removal(console: Page, omar: Page) -> None:
    console.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    message = chat_log(console).get_by_role("listitem").filter(has_text="صباح الخير")
    await message.get_by_role("button", name="Remove from the room").click()
    await expect(omar.get_by_text("A moderator removed you from this room.")).to_be_visible(
        timeout=WAIT
    )
    await expect(omar.get_by_role("button", name="Send", exact=True)).to_be_disabled()


async def _poll(console: Page, amina: Page, omar: Page) -> None:
    await console.get_by_text("Prepare a poll").click()
    await console.get_by_label("Question", exact=True).fill("Which region should go first?")
    await console.get_by_label("Options, one per line").fill("Sahel\nMaghreb\nGulf")
    await console.get_by_role("button", name="Prepare poll").click()
    await console.get_by_role("button", name="Open poll").click()
    for voter, choice in ((amina, "Sahel"), (omar, "Gulf")):
        await voter.get_by_role("radio", name=choice).check(timeout=WAIT)
        await voter.get_by_role("button", name="Vote", exact=True).click()
        await expect(voter.get_by_text("Your vote is counted.")).to_be_visible(timeout=WAIT)
    for page in (amina, omar, console):
        await expect(page.get_by_text("Results: 2 voted")).to_be_visible(timeout=WAIT)
        await expect(page.get_by_text("Votes: 1 (50%)")).to_have_count(2)
    await console.get_by_role("button", name="Close poll").click()
    await expect(omar.get_by_text("Closed", exact=True)).to_be_visible(timeout=WAIT)
    await omar.reload()  # the closed poll and its results stay (they vanished before)
    await entered(omar)
    await expect(omar.get_by_text("Closed", exact=True)).to_be_visible(timeout=WAIT)
    await expect(omar.get_by_text("Results: 2 voted")).to_be_visible()


async def _questions(console: Page, amina: Page, omar: Page) -> None:
    text = "How will the regional fund reach rural schools?"
    await amina.get_by_label("Your question").fill(text)
    await amina.get_by_role("button", name="Ask", exact=True).click()
    upvote = question(omar, text).get_by_role("button", name=f"Upvote {text}")
    await upvote.focus(timeout=WAIT)
    await omar.keyboard.press("Enter")  # by keyboard: the focus stays on the button
    await expect(question(amina, text).get_by_text("Upvotes: 1")).to_be_visible(timeout=WAIT)
    await expect(upvote).to_have_attribute("aria-pressed", "true")
    await expect(upvote).to_be_focused()
    await question(console, text).get_by_role("button", name="Mark answered").click(timeout=WAIT)
    for page in (amina, omar):
        await expect(question(page, text).get_by_text("Answered")).to_be_visible(timeout=WAIT)
    # With approval on, the asker is told when theirs is approved, not left on "once...".
    await console.get_by_label("Approve questions before they are shown").check()
    second = "Which partners run the rural programme?"
    await expect(
        amina.get_by_text("Questions are shown after a moderator approves them.")
    ).to_be_visible(timeout=WAIT)
    await amina.get_by_label("Your question").fill(second)
    await amina.get_by_role("button", name="Ask", exact=True).click()
    await expect(amina.get_by_text("once a moderator approves it")).to_be_visible(timeout=WAIT)
    await (
        question(console, second)
        .get_by_role("button", name=re.compile("^Approve"))
        .click(timeout=WAIT)
    )
    await expect(amina.get_by_text("A moderator approved your question")).to_be_visible(
        timeout=WAIT
    )
    await console.get_by_label("Approve questions before they are shown").uncheck()


async def _tool(console: Page, amina: Page, mod_context: BrowserContext, session: Session) -> None:
    await amina.context.route(
        f"{TOOL_URL}*", lambda route: route.fulfill(body="<title>Survey</title>")
    )
    await console.get_by_text("Share a resource").click()
    await console.get_by_label("Title").fill("Regional survey")
    await console.get_by_label("Address (https://…)").fill(TOOL_URL)
    await console.get_by_role("button", name="Share with the room").click()
    link = amina.get_by_role("link", name="Regional survey")
    await expect(link).to_be_visible(timeout=WAIT)
    async with amina.context.expect_page() as opened:
        await link.click()
    tab = await opened.value
    await tab.wait_for_url(TOOL_URL, timeout=WAIT)
    answer = await mod_context.request.get(f"/api/sessions/{session.id}/tools")
    tools = await answer.json()
    assert [(t["title"], sum(t["clicks"].values())) for t in tools] == [("Regional survey", 1)]


async def _attendance(new_context: NewContext, site: Site, session: Session) -> None:
    organizer = await new_context()
    await sign_in_as_organizer(organizer, site)
    page = await organizer.new_page()
    await page.goto(f"/organizer/attendance/{session.id}")
    attendees = page.get_by_role("term").filter(has_text="Attendees")
    # Amina, Omar and the moderator (the console enters the room) are in it now.
    await expect(attendees.locator("xpath=following-sibling::dd[1]")).to_have_text("3")
    await expect(
        page.get_by_role("img", name=re.compile("People present over time"))
    ).to_be_visible()


async def test_a_network_drop_loses_and_doubles_nothing(
    site: Site, new_context: NewContext
) -> None:
    session = await public_side_event(site)
    tunnel = await Tunnel(int(site.url.rsplit(":", 1)[1])).start()
    try:
        traveller_context, colleague_context = await new_context(), await new_context()
        await sign_in_as_guest(traveller_context, site, "Traveller")
        await sign_in_as_guest(colleague_context, site, "Colleague")
        traveller = await enter_room(traveller_context, session, tunnel.url)
        colleague = await enter_room(colleague_context, session)
        await say(colleague, "before the tunnel")
        await expect(chat_log(traveller).get_by_text("before the tunnel")).to_be_visible()

        tunnel.cut()
        await expect(traveller.get_by_text("Connection lost. Reconnecting…")).to_be_visible(
            timeout=WAIT
        )
        for n in range(3):
            await say(colleague, f"while you were away {n}")
            await expect(
                chat_log(colleague).get_by_text(f"while you were away {n}")
            ).to_be_visible()
        await say(traveller, "written in the tunnel")  # held by the client until it is back
        tunnel.restore()

        for text in ("written in the tunnel", "while you were away 2"):
            await expect(chat_log(colleague).get_by_text(text)).to_be_visible(timeout=WAIT)
            await expect(chat_log(traveller).get_by_text(text)).to_be_visible(timeout=WAIT)
        expected = ["before the tunnel"] + [f"while you were away {n}" for n in range(3)]
        expected.append("written in the tunnel")
        for page in (traveller, colleague):
            texts = await chat_log(page).locator("li p").all_inner_texts()
            assert texts == expected, texts
    finally:
        await tunnel.stop()


async def test_a_guest_enters_an_invite_only_room_only_with_an_invite(
    site: Site, new_context: NewContext
) -> None:
    session = await closed_side_event(site)
    host_context, guest_context = await new_context(), await new_context()
    host = await sign_in_with_role(
        host_context, site, Role.HOST, organization_id=session.host_organization_id
    )
    made = await host_context.request.post(
        f"/api/organizations/{session.host_organization_id}/invites",
        data={"session_id": session.id},
        headers=bearer(host),
    )
    code = (await made.json())["code"]
    await sign_in_as_guest(guest_context, site, "Nadia")
    page = await guest_context.new_page()
    refused = await page.goto(f"/sessions/{session.id}/room")
    assert refused is not None and refused.status == 403
    await expect(page.get_by_text("admits invited participants only")).to_be_visible()

    await page.goto(f"/invite/{code}")
    await page.get_by_role("button", name="Accept the invitation").click()
    await page.get_by_role("link", name="Enter the live room").click()
    await expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible(timeout=WAIT)
    await say(page, "Thank you for the invitation")
    await expect(chat_log(page).get_by_text("Thank you for the invitation")).to_be_visible(
        timeout=WAIT
    )


async def test_the_room_is_light_and_usable_on_slow_3g(site: Site, new_context: NewContext) -> None:
    session = await public_side_event(site)
    context = await new_context()
    await sign_in_as_guest(context, site, "Farah")
    weight = await transferred_bytes(context, f"/sessions/{session.id}/room")
    assert weight < PAGE_BUDGET, f"the room page weighs {weight} bytes"
    page = await context.new_page()
    throttle = await emulate_slow_3g(page)
    await page.goto(f"/sessions/{session.id}/room?text=1")
    await say(page, "Hello over a slow link")
    await expect(chat_log(page).get_by_text("Hello over a slow link")).to_be_visible(timeout=30_000)
    await throttle.detach()


async def test_the_room_and_consoles_pass_axe(site: Site, new_context: NewContext) -> None:
    session = await public_side_event(site)
    context = await new_context()
    await sign_in_as_organizer(context, site)
    pages = (
        f"/sessions/{session.id}/room",
        f"/sessions/{session.id}/room?text=1",
        f"/moderate/{session.id}",
        "/moderate",
        "/marathon",
        "/organizer/attendance",
        f"/organizer/attendance/{session.id}",
    )
    for path in pages:
        page = await context.new_page()
        await page.goto(path)
        await expect(page.locator("[aria-busy=true]")).to_have_count(0, timeout=WAIT)  # entered
        await assert_accessible(page)
        await page.close()


async def test_the_arabic_room_reads_right_to_left_with_nothing_left_in_english(
    site: Site, new_context: NewContext, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    session = await public_side_event(site)
    context = await new_context(locale="ar")
    await sign_in_as_guest(context, site, "ليلى")
    page = await context.new_page()
    await page.goto(f"/sessions/{session.id}/room?lang=ar")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    arabic = Catalogs().get("ar").gettext
    await entered(page)
    await page.get_by_label(arabic("Message"), exact=True).fill("مرحبا بالجميع")
    await page.get_by_label(arabic("Message"), exact=True).press("Enter")
    await expect(chat_log(page).get_by_text("مرحبا بالجميع")).to_be_visible(timeout=WAIT)
    shot = tmp_path / "room-ar.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    shown = await page.locator("main").inner_text()
    messages = ("People here: %(count)s", "Chat", "Questions", "Send", "Polls", "Resources")
    assert all(arabic(m) != m for m in messages)  # each has its Arabic
    assert [m for m in messages if m.split(":")[0] in shown] == []


async def test_the_marathon_board_counts_people_as_they_enter(
    site: Site, new_context: NewContext
) -> None:
    watcher_context, participant_context = await new_context(), await new_context()
    await sign_in_as_guest(watcher_context, site, "Watcher")
    await sign_in_as_guest(participant_context, site, "Sami")
    # A public room (an invite-only one would turn the guest away) that the board lists.
    session = await public_side_event_on_the_board(site)
    board = await watcher_context.new_page()
    await board.goto("/marathon")
    badge = board.locator(f'[data-count-for="{session.id}"]').first
    await expect(badge).to_have_text("People here: 0")
    room = await participant_context.new_page()
    await room.goto(f"/sessions/{session.id}/room")
    await expect(badge).to_have_text("People here: 1", timeout=WAIT)


# Interactive elements a keyboard must reach; radio groups are entered once, then arrowed.
CONTROLS = "a[href], button, input:not([type=hidden]):not([type=radio]), select, textarea, summary"


async def test_every_control_of_the_room_is_reachable_by_keyboard(
    site: Site, new_context: NewContext
) -> None:
    session = await public_side_event(site)
    context = await new_context()
    await sign_in_with_role(context, site, Role.MODERATOR, session_id=session.id)
    page = await enter_room(context, session)
    await say(page, "A message with its own buttons")
    # Answered: the chat clears its box and takes the focus back, which would otherwise
    # land the question's text, typed meanwhile, in the chat box.
    await expect(page.get_by_label("Message", exact=True)).to_have_value("", timeout=WAIT)
    await page.get_by_label("Your question").fill("A question with its own buttons")
    await page.get_by_role("button", name="Ask", exact=True).click()
    await expect(question(page, "A question with its own buttons")).to_be_visible(timeout=WAIT)
    for folded in ("Prepare a poll", "Share a resource"):  # open the moderators' forms too
        await page.get_by_text(folded).press("Enter")
    wanted = await page.evaluate(
        """selector => [...document.querySelectorAll(selector)]
            .filter(el => el.checkVisibility() && !el.disabled)
            .map((el, i) => { el.dataset.kb = String(i); return i; })""",
        CONTROLS,
    )
    reached: set[int] = set()
    for _ in range(len(wanted) * 2 + 10):
        await page.keyboard.press("Tab")
        mark = await page.evaluate("document.activeElement && document.activeElement.dataset.kb")
        if mark is not None:
            reached.add(int(mark))
    assert set(wanted) - reached == set(), "controls that Tab never reaches"

    message = page.get_by_label("Message", exact=True)
    await message.focus()
    await page.keyboard.type("Sent with the keyboard alone")
    await page.keyboard.press("Enter")
    await expect(chat_log(page).get_by_text("Sent with the keyboard alone")).to_be_visible(
        timeout=WAIT
    )

"""Live captions in real Chromium: a captioner types lines in two languages in the room,
a participant on a phone chooses one and sees only its lines, over the stage and in the
transcript, and the choice holds after a reload; a participant in text-only mode gets
the transcript without choosing."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page, expect

from sidestage.platform.access.models import Role
from tests.browser.conftest import NewContext
from tests.browser.kit import (
    Site,
    assert_accessible,
    public_side_event,
    sign_in_as_guest,
    sign_in_with_role,
)

WAIT = 15_000  # ms; every wait below is for an element, this is only its limit
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def open_room(context: BrowserContext, session_id: int, query: str = "") -> Page:
    page = await context.new_page()
    await page.goto(f"/sessions/{session_id}/room{query}")
    await expect(page.locator("[data-room]")).to_have_attribute("aria-busy", "false", timeout=WAIT)
    return page


def transcript(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("log", name="Transcript")


async def caption(page: Page, language_name: str, text: str) -> None:
    await page.get_by_label("Caption language").select_option(label=language_name)
    await page.get_by_label("Caption line").fill(text)
    await page.get_by_role("button", name="Send caption").click()
    await expect(page.get_by_label("Caption line")).to_have_value("", timeout=WAIT)


async def test_a_participant_reads_captions_in_the_language_they_chose(
    site: Site, new_context: NewContext
) -> None:
    session = await public_side_event(site)
    first, second = session.caption_languages[:2]
    captioner_context, phone_context, text_context = (
        await new_context(),
        await new_context(**PHONE),
        await new_context(),
    )
    await sign_in_with_role(captioner_context, site, Role.CAPTIONER, session_id=session.id)
    await sign_in_as_guest(phone_context, site, "Amina")
    await sign_in_as_guest(text_context, site, "Omar")
    captioner = await open_room(captioner_context, session.id)
    reader = await open_room(phone_context, session.id)
    text_only = await open_room(text_context, session.id, "?text=1")

    choice = reader.get_by_label("Show captions in")
    await expect(choice).to_have_value("")  # off until chosen
    names = {
        code: await reader.locator(f"option[value='{code}']").first.inner_text()
        for code in (first, second)
    }
    await choice.select_option(first)

    await caption(captioner, names[first], "Welcome, everyone")
    await caption(captioner, names[second], "Another language's line")
    await caption(captioner, names[first], "We begin with the report")

    lines = transcript(reader).get_by_role("listitem")
    await expect(lines).to_have_count(2, timeout=WAIT)
    await expect(lines.nth(0)).to_contain_text("Welcome, everyone")
    await expect(lines.nth(1)).to_contain_text("We begin with the report")
    shown = reader.locator("[data-part=caption-line]")
    await expect(shown).to_have_text("We begin with the report")
    await expect(shown).to_be_in_viewport()  # on a phone too, right under the stage

    await reader.reload()
    await expect(reader.get_by_label("Show captions in")).to_have_value(first, timeout=WAIT)
    await expect(transcript(reader).get_by_role("listitem")).to_have_count(2, timeout=WAIT)

    # Text-only: the transcript is on from the start, in the page's language if offered.
    started = text_only.get_by_label("Show captions in")
    chosen = "en" if "en" in session.caption_languages else session.caption_languages[0]
    await expect(started).to_have_value(chosen)
    await assert_accessible(reader)
    await assert_accessible(captioner)

"""The stage in real Chromium: a moderator puts a speaker on stage, the speaker's fake
camera is published, and another browser plays it (its video's time advances), then
switches to sound only."""

from __future__ import annotations

from playwright.async_api import Page, expect

from sidestage.platform.access.models import Role
from tests.browser.conftest import NewContext
from tests.browser.kit import Site, public_side_event, sign_in_as_guest, sign_in_with_role
from tests.browser.test_room import WAIT, enter_room

PLAYING = """(kind) => {
  const media = document.querySelector(`[data-kind="${kind}"]`);
  return media !== null && media.currentTime > 1 && (kind === "audio" || media.videoWidth > 0);
}"""


async def playing(page: Page, kind: str) -> None:
    """The element's playback time advances past a second: media really flows."""
    await page.wait_for_function(PLAYING, arg=kind, timeout=WAIT * 2)


async def test_a_speaker_on_stage_is_seen_and_heard_in_another_browser(
    site: Site, new_context: NewContext
) -> None:
    session = await public_side_event(site)
    moderating, speaking, watching = await new_context(), await new_context(), await new_context()
    await sign_in_with_role(moderating, site, Role.MODERATOR, session_id=session.id)
    await sign_in_with_role(speaking, site, Role.SPEAKER, session_id=session.id)
    await sign_in_as_guest(watching, site, "Nadia")
    moderator = await enter_room(moderating, session)
    speaker = await enter_room(speaking, session)
    viewer = await enter_room(watching, session)

    await expect(viewer.get_by_text("No one is on stage yet.")).to_be_visible()
    choice = moderator.get_by_label("Put on stage")
    await expect(choice.locator("option")).to_have_count(2)
    await expect(choice.locator("option").first).to_have_text("Myself")
    await choice.select_option(index=1)  # the session's speaker
    await moderator.get_by_role("button", name="Put on stage").click()

    start = speaker.get_by_role("button", name="Start my camera")
    await expect(start).to_be_visible()
    await start.click()
    await expect(speaker.get_by_role("button", name="Stop sending")).to_be_enabled()

    await playing(viewer, "video")
    await expect(viewer.get_by_text("The stage is being recorded.")).to_be_visible()
    await playing(moderator, "video")

    await viewer.get_by_label("Sound only, for a weak connection").check()
    await playing(viewer, "audio")
    await expect(viewer.locator('[data-kind="video"]')).to_have_count(0)

    await speaker.get_by_role("button", name="Stop sending").click()
    await expect(viewer.get_by_text("No one is speaking on stage now.")).to_be_visible()

"""Interpretation in real Chromium with fake devices: a speaker's camera is on stage, an
interpreter starts a channel for one of the session's languages, a listener on a phone
switches to it and is told so, a second interpreter stands by and takes over, and the
listener keeps hearing the stage throughout."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from sidestage.platform.access.models import Role
from tests.browser.conftest import NewContext
from tests.browser.kit import (
    Site,
    assert_accessible,
    public_side_event,
    sign_in_as_guest,
    sign_in_with_role,
)
from tests.browser.test_room import WAIT, enter_room
from tests.browser.test_stage import playing

UNDER_PLAYING = """() => {
  const media = document.querySelector("audio[data-under]");
  return media !== null && media.currentTime > 1;
}"""
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def test_a_listener_switches_to_an_interpreters_channel(
    site: Site, new_context: NewContext
) -> None:
    session = await public_side_event(site)
    language = session.interpretation_languages[0]
    contexts = [await new_context() for _ in range(4)] + [await new_context(**PHONE)]
    moderating, speaking, interpreting, relieving, listening = contexts
    await sign_in_with_role(moderating, site, Role.MODERATOR, session_id=session.id)
    await sign_in_with_role(speaking, site, Role.SPEAKER, session_id=session.id)
    await sign_in_with_role(interpreting, site, Role.INTERPRETER, session_id=session.id)
    await sign_in_with_role(relieving, site, Role.INTERPRETER, session_id=session.id)
    await sign_in_as_guest(listening, site, "Nadia")
    moderator, speaker, interpreter, relief, listener = [
        await enter_room(context, session) for context in contexts
    ]

    await moderator.get_by_label("Put on stage").select_option(index=1)
    await moderator.get_by_role("button", name="Put on stage").click()
    await speaker.get_by_role("button", name="Start my camera").click()
    await playing(listener, "video")

    # The listener chooses the language before anyone interprets into it: the floor.
    name = await listener.locator(f"option[value='{language}']").first.inner_text()
    await listener.get_by_label("Listen in").select_option(language)
    status = listener.locator("[data-part=stage-language-status]")
    await expect(status).to_have_text(
        f"No interpreter is on air in {name} now: you hear the original.", timeout=WAIT
    )
    await expect(listener.get_by_role("button", name="Start my channel")).to_be_hidden()

    await interpreter.get_by_label("I interpret into").select_option(language)
    await interpreter.get_by_role("button", name="Start my channel").click()
    await expect(interpreter.get_by_text("You are on air.")).to_be_visible(timeout=WAIT)
    await expect(status).to_have_text(f"You hear the interpretation into {name}.", timeout=WAIT)
    await playing(listener, "video")  # the same connection: the picture goes on
    # The original plays softly beneath, until the listener turns it off.
    under = listener.locator("audio[data-under]")
    await listener.wait_for_function(UNDER_PLAYING, timeout=WAIT * 2)
    assert await under.evaluate("(media) => media.volume") == pytest.approx(0.2)
    await listener.get_by_label("Keep the original softly under the interpretation").uncheck()
    await expect(under).to_have_count(0)

    await relief.get_by_label("I interpret into").select_option(language)
    await relief.get_by_role("button", name="Start my channel").click()
    await expect(relief.get_by_text("You are standing by")).to_be_visible(timeout=WAIT)
    await relief.get_by_role("button", name="I take over").click()
    await expect(relief.get_by_text("You are on air.")).to_be_visible(timeout=WAIT)
    await expect(interpreter.get_by_text("You are standing by")).to_be_visible(timeout=WAIT)
    await expect(status).to_have_text(f"You hear the interpretation into {name}.")

    await listener.reload()  # the choice is remembered
    await expect(listener.get_by_label("Listen in")).to_have_value(language, timeout=WAIT)
    await expect(status).to_have_text(f"You hear the interpretation into {name}.", timeout=WAIT)
    await assert_accessible(listener)
    await assert_accessible(interpreter)

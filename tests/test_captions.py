"""Live captions with standard Socket.IO clients and over HTTP: who may send them, what
each participant receives (counted per person), what an entrant is given, the transcripts,
and the refusals."""

from __future__ import annotations

import re
from typing import Any

from sidestage.platform.access.models import Role
from tests.helpers import bearer
from tests.live import Client
from tests.rooms_world import World


async def _enter(client: Client, world: World) -> dict[str, Any]:
    return await client.ok("room.enter", {"session_id": world.public.id})


async def _account_id(world: World, client: Client) -> int:
    answer = await world.http.get("/api/me", headers=bearer(client.token))
    return int((await answer.json())["id"])


def _lines(client: Client, language: str) -> list[str]:
    return [c["text"] for c in client.received["caption.added"] if c["language"] == language]


async def test_captions_reach_everyone_once_and_entrants_get_the_recent_ones(
    world: World,
) -> None:
    room = world.public.id
    captioner = await world.with_role(Role.CAPTIONER, session_id=room)
    people = [await world.guest(f"Listener {n}") for n in range(3)]
    state = await _enter(people[0], world)
    offered = state["languages"]["captions"]
    assert len(offered) >= 2 and state["may_caption"] is False
    first, second = offered[0], offered[1]
    for person in people[1:]:
        await _enter(person, world)
    assert (await _enter(captioner, world))["may_caption"] is True

    sent = []
    for language, text in ((first, "Good morning"), (second, "Bonjour"), (first, "Welcome")):
        payload = {"session_id": room, "language": language, "text": text}
        sent.append((await captioner.ok("caption.send", payload))["id"])
    for person in people:
        await person.wait_for("caption.added", lambda c: c["id"] == sent[-1])
        assert _lines(person, first) == ["Good morning", "Welcome"]
        assert _lines(person, second) == ["Bonjour"]
        seqs = [c["seq"] for c in person.received["caption.added"]]
        assert seqs == sorted(set(seqs))  # numbered room events, each once

    latecomer = await world.guest("Late")
    captions = (await _enter(latecomer, world))["captions"]
    assert [c["text"] for c in captions[first]] == ["Good morning", "Welcome"]
    assert [c["text"] for c in captions[second]] == ["Bonjour"]
    assert {c["id"] for lines in captions.values() for c in lines} == set(sent)


async def test_only_captioners_and_moderators_caption_and_bad_lines_are_refused(
    world: World,
) -> None:
    room = world.public.id
    moderator = await world.with_role(Role.MODERATOR, session_id=room)
    participant = await world.guest("Curious")
    speaker = await world.with_role(Role.SPEAKER, session_id=room)
    elsewhere = await world.with_role(Role.CAPTIONER, session_id=world.closed.id)
    offered = (await _enter(moderator, world))["languages"]["captions"]
    line = {"session_id": room, "language": offered[0], "text": "hello"}

    for refused in (participant, speaker, elsewhere):  # a captioner of another session
        await _enter(refused, world)
        answer = await refused.call("caption.send", line)
        assert answer["error"]["code"] == "caption.forbidden", answer
    assert (await moderator.ok("caption.send", line))["id"]

    cases = [
        ({**line, "language": "zz"}, "caption.bad_language"),
        ({**line, "language": "not a tag"}, "caption.invalid"),
        ({**line, "text": "   "}, "caption.empty"),
        ({**line, "text": "x" * 501}, "caption.too_long"),
        ({**line, "text": "x" * 4001}, "caption.invalid"),
        ({"session_id": room, "text": "no language"}, "caption.invalid"),
    ]
    for payload, code in cases:
        answer = await moderator.call("caption.send", payload)
        assert answer["ok"] is False and answer["error"]["code"] == code, (payload, answer)
    bad = await moderator.call("caption.send", {**line, "language": "zz"})
    assert bad["error"]["details"]["offered"] == offered


async def test_a_captioner_is_not_a_speaker(world: World) -> None:
    room = world.public.id
    moderator = await world.with_role(Role.MODERATOR, session_id=room)
    captioner = await world.with_role(Role.CAPTIONER, session_id=room)
    interpreter = await world.with_role(Role.INTERPRETER, session_id=room)
    await _enter(moderator, world)
    for person in (captioner, interpreter):
        put_on = {"session_id": room, "account_id": await _account_id(world, person)}
        refused = await moderator.call("stage.put_on", put_on)
        assert refused["error"]["code"] == "stage.not_a_speaker"


async def test_an_outside_tool_captions_over_http_and_moderators_download_transcripts(
    world: World,
) -> None:
    room = world.public.id
    captioner = await world.with_role(Role.CAPTIONER, session_id=room)
    moderator = await world.with_role(Role.MODERATOR, session_id=room)
    listener = await world.guest("Listener")
    offered = (await _enter(listener, world))["languages"]["captions"]
    language = offered[0]
    url = f"/api/sessions/{room}/captions"

    ids = []
    for text in ("First line", "Second <b>line</b> & more"):
        posted = await world.http.post(
            url, json={"language": language, "text": text}, headers=bearer(captioner.token)
        )
        assert posted.status == 201, await posted.text()
        ids.append((await posted.json())["id"])
    await listener.wait_for("caption.added", lambda c: c["id"] == ids[-1])
    assert _lines(listener, language) == ["First line", "Second <b>line</b> & more"]

    refused = await world.http.post(
        url, json={"language": language, "text": "x"}, headers=bearer(listener.token)
    )
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "caption.forbidden"
    unknown = await world.http.post(
        url, json={"language": "zz", "text": "x"}, headers=bearer(captioner.token)
    )
    assert unknown.status == 400
    assert (await unknown.json())["error"]["code"] == "caption.bad_language"
    anonymous = await world.http.post(url, json={"language": language, "text": "x"})
    assert anonymous.status == 401

    vtt = await world.http.get(
        f"/api/sessions/{room}/captions.vtt?language={language}", headers=bearer(moderator.token)
    )
    assert vtt.status == 200 and vtt.content_type == "text/vtt"
    assert "attachment" in vtt.headers["Content-Disposition"]
    body = await vtt.text()
    assert body.startswith("WEBVTT\n\n")
    cues = re.findall(r"^(\d+)\n(\S+) --> (\S+)\n(.+)$", body, re.M)
    assert [cue[3] for cue in cues] == ["First line", "Second &lt;b&gt;line&lt;/b&gt; &amp; more"]
    for _, start, end, _ in cues:
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d\d\d", start) and end > start

    text = await world.http.get(
        f"/api/sessions/{room}/captions.txt?language={language}", headers=bearer(moderator.token)
    )
    lines = (await text.text()).splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == ["First line", "Second <b>line</b> & more"]

    for who, status in ((listener, 403), (captioner, 403)):
        denied = await world.http.get(
            f"/api/sessions/{room}/captions.vtt?language={language}", headers=bearer(who.token)
        )
        assert denied.status == status
    wrong = await world.http.get(
        f"/api/sessions/{room}/captions.txt?language=zz", headers=bearer(moderator.token)
    )
    assert wrong.status == 400

"""A command the server does not know is acknowledged with an error, not left hanging."""

from __future__ import annotations

from tests.rooms_world import World


async def test_an_unknown_command_is_acknowledged_as_such(world: World) -> None:
    guest = await world.guest("Curious")
    for name, payload in (("chat.shout", {"text": "hi"}), ("nothing", None), ("room.enter2", 5)):
        answer = await guest.call(name, payload)
        assert answer["ok"] is False, name
        assert answer["error"]["code"] == "server.unknown_command", name
        assert answer["error"]["message"]
    await guest.sio.emit("chat.shout", {"text": "no ack asked"})  # ignored, nothing breaks
    entered = await guest.ok("room.enter", {"session_id": world.public.id})
    assert entered["session_id"] == world.public.id

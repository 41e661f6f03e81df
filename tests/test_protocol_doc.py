"""docs/protocol.md names every command and every broadcast, with every payload field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sidestage.rooms.events import CATALOG
from sidestage.rooms.handlers import registry

DOC = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text()
HEADING = re.compile(r"^### `([a-z_]+\.[a-z_]+)`\s*$", re.M)


def _part(title: str) -> str:
    start = DOC.index(f"\n## {title}")
    following = DOC.find("\n## ", start + 1)
    return DOC[start : following if following != -1 else len(DOC)]


def _sections(part: str) -> dict[str, str]:
    marks = list(HEADING.finditer(part))
    return {
        m.group(1): part[m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(part)]
        for i, m in enumerate(marks)
    }


COMMANDS = _sections(_part("Commands"))
EVENTS = _sections(_part("Events"))


def test_every_command_and_event_is_documented() -> None:
    assert set(COMMANDS) == set(registry.commands)
    assert set(EVENTS) == set(CATALOG)


def test_every_server_code_and_refusal_is_documented() -> None:
    """The codes any command can answer (``server.*``) are in the list of error codes, and
    every code a handshake can be refused with is in the "Refusal" paragraph."""
    package = Path(__file__).resolve().parents[1] / "sidestage"
    source = "\n".join(path.read_text() for path in package.rglob("*.py"))
    codes = set(re.findall(r"\"(server\.[a-z_]+)\"", source))
    listed = DOC.split("**Error codes**")[1].split("**Under load.**")[0]
    assert {c for c in codes if f"`{c}`" not in listed} == set()
    server = (package / "realtime" / "server.py").read_text()
    refusals = set(re.findall(r'_refusal\("([a-z_]+\.[a-z_]+)"', server))
    paragraph = DOC.split("**Refusal.**")[1].split("\n\n")[0]
    assert refusals and {c for c in refusals if f"`{c}`" not in paragraph} == set()


@pytest.mark.parametrize("name", sorted(registry.commands))
def test_command_fields_and_permission(name: str) -> None:
    section = COMMANDS[name]
    command = registry.commands[name]
    assert f"Permission: {command.permission}" in section
    for field in command.payload.model_fields:
        assert f"`{field}`" in section, f"{name}: field {field} undocumented"


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_event_fields(name: str) -> None:
    section = EVENTS[name]
    assert "Audience:" in section
    for field in CATALOG[name].model_fields:
        assert re.search(rf"^\|\s*`{field}`", section, re.M), f"{name}: field {field} undocumented"

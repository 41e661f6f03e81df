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

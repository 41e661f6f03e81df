"""The import rule of docs/architecture.md: imports point down only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sidestage"
FORBIDDEN = {
    "platform": {"sidestage.rooms", "sidestage.realtime", "sidestage.web"},
    "rooms": {"sidestage.realtime", "sidestage.web"},
    "realtime": {"sidestage.web"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_down_only(layer: str) -> None:
    offenders = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in _imports(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def test_platform_touches_no_transport() -> None:
    transports = ("aiohttp", "socketio", "aiohttp_jinja2")
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / "platform").rglob("*.py"))
        for name in _imports(path)
        if name.split(".")[0] in transports
    ]
    assert offenders == []

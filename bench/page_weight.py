"""Bytes on the wire for each page's first load, with an empty cache, as Chromium counts them.

    .venv/bin/python bench/page_weight.py            # table, then JSON

Serves the demo conference from a fresh SQLite database in a temporary folder, signs a
guest and an organizer in, and loads each page in English and Arabic in Debian's Chromium.
The budget is the room page's: under 150 KB compressed, without media.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.async_api import BrowserContext, async_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BUDGET = 150_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SIDESTAGE_DATA_DIR": str(folder), "SIDESTAGE_PORT": str(port)}
    cli = [sys.executable, "-m", "sidestage.cli"]
    for step in ("migrate", "demo"):
        subprocess.run([*cli, step], env=env, check=True, capture_output=True)
    server = subprocess.Popen([*cli, "serve"], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)  # a starting process: nothing to wait on but its port
    server.kill()
    raise SystemExit("the server did not start")


async def _weigh(context: BrowserContext, path: str) -> dict[str, int]:
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    requests = []
    page.on("request", lambda request: requests.append(request))
    await page.goto(path, wait_until="networkidle")
    sizes = [await request.sizes() for request in requests]
    await page.close()
    wire = sum(s["responseHeadersSize"] + s["responseBodySize"] for s in sizes)
    return {"requests": len(requests), "bytes": wire}


async def _signed_in(browser, base: str, organizer_password: str | None) -> BrowserContext:  # type: ignore[no-untyped-def]
    context = await browser.new_context(base_url=base)
    await context.add_cookies([{"name": "sidestage_tz", "value": "UTC", "url": base}])
    if organizer_password is None:
        answer = await context.request.post("/api/auth/guest", data={"name": "Bench"})
    else:
        body = {"email": "organizer@demo.sidestage.invalid", "password": organizer_password}
        answer = await context.request.post("/api/auth/login", data=body)
    token = (await answer.json())["token"]
    await context.add_cookies([{"name": "sidestage_session", "value": token, "url": base}])
    return context


def _pages(database: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(database) as db:
        (room,) = db.execute(
            "SELECT s.id FROM sessions s JOIN rooms r ON r.id = s.room_id "
            "WHERE r.type = 'online' AND s.visibility = 'public' AND s.kind = 'side_event' "
            "ORDER BY s.id LIMIT 1"
        ).fetchone()
    return {
        "room": ("guest", f"/sessions/{room}/room"),
        "room, text-only": ("guest", f"/sessions/{room}/room?text=1"),
        "marathon board": ("guest", "/marathon"),
        "program": ("guest", "/program"),
        "session": ("guest", f"/sessions/{room}"),
        "moderator console, one room": ("organizer", f"/moderate/{room}"),
        "moderator console, parallel": ("organizer", "/moderate"),
        "attendance dashboard": ("organizer", "/organizer/attendance"),
        "host console": ("organizer", "/host"),
    }


async def measure(base: str, folder: Path) -> list[dict[str, object]]:
    password = (folder / "demo-organizer-password").read_text().strip()
    rows: list[dict[str, object]] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        people = {
            "guest": await _signed_in(browser, base, None),
            "organizer": await _signed_in(browser, base, password),
        }
        for name, (who, path) in _pages(folder / "sidestage.db").items():
            for language in ("en", "ar"):
                joiner = "&" if "?" in path else "?"
                weight = await _weigh(people[who], f"{path}{joiner}lang={language}")
                rows.append({"page": name, "language": language, **weight})
        await browser.close()
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder, port = Path(scratch), _free_port()
        server = _serve(folder, port)
        try:
            rows = asyncio.run(measure(f"http://127.0.0.1:{port}", folder))
        finally:
            server.terminate()
            server.wait(20)
    print(f"{'page':32} {'lang':4} {'requests':>8} {'bytes':>9} {'of budget':>9}")
    for row in rows:
        share = int(row["bytes"]) / BUDGET  # type: ignore[call-overload]
        print(
            f"{row['page']:32} {row['language']:4} {row['requests']:>8} "
            f"{row['bytes']:>9,} {share:>9.0%}"
        )
    print(json.dumps({"budget_bytes": BUDGET, "pages": rows}))


if __name__ == "__main__":
    main()

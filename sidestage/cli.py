"""The ``sidestage`` command: serve, migrate, import and export the program, demo, users."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from sidestage.migrations import upgrade
from sidestage.platform import accel as platform_accel
from sidestage.platform import fast_paths
from sidestage.platform.access.service import make_organizer
from sidestage.platform.accounts import service as accounts
from sidestage.platform.collector import tune_for_serving
from sidestage.platform.db import create_engine, session_factory, transaction
from sidestage.platform.demo import DEMO_PASSWORD_FILE, ensure_demo_organizer, load_demo
from sidestage.platform.errors import ConfigurationError, SidestageError
from sidestage.platform.program import service as program
from sidestage.platform.program.ical import calendar
from sidestage.platform.program.schedule_format import parse_schedule
from sidestage.platform.settings import Settings, load_settings
from sidestage.realtime import accel as realtime_accel
from sidestage.realtime.media import accel as media_accel

EXIT_USAGE, EXIT_INPUT, EXIT_CONFIG = 2, 3, 4
# Every fast path on another library's private code, by name (platform/fast_paths.py).
FAST_PATHS = {
    path.name: path for path in (*platform_accel.PATHS, *realtime_accel.PATHS, *media_accel.PATHS)
}
# Connections the kernel holds for ``serve`` before it accepts them. When a session starts,
# hundreds connect in the same second; past a full queue the kernel drops their SYNs, and
# each client waits a whole second before trying again. aiohttp's default is 128 (Node's
# 511); Linux caps the value at net.core.somaxconn (4096 on current kernels).
LISTEN_BACKLOG = 2048
# Seconds aiohttp waits, on SIGTERM, for requests still running once every live connection
# was closed (realtime/stopping.py), before it cancels them: a websocket's handler waits up
# to 10 s for the client's closing frame, and a stop must take seconds, not a minute (the
# default), in a rolling restart.
SHUTDOWN_TIMEOUT = 3.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings()
        return int(args.run(settings, args) or 0)
    except ConfigurationError as error:
        print(f"sidestage: configuration: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except SidestageError as error:
        print(f"sidestage: {error.code}: {error.message}", file=sys.stderr)
        if error.details is not None:
            print(f"sidestage: details: {json.dumps(error.details)}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as error:
        print(f"sidestage: {error}", file=sys.stderr)
        return EXIT_INPUT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sidestage",
        description="Sidestage: the virtual day of a conference. Settings come from SIDESTAGE_* "
        "environment variables (see the README).",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the pages, the API and the live rooms")
    serve.set_defaults(run=_serve)
    media = commands.add_parser(
        "media-worker", help="serve stages' audio and video apart from the app (needs Redis)"
    )
    media.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes to start (default: one per core)",
    )
    media.set_defaults(run=_media_worker)
    migrate = commands.add_parser("migrate", help="create or upgrade the database tables")
    migrate.set_defaults(run=_migrate)
    imp = commands.add_parser("import-program", help="import or update a schedule JSON file")
    imp.add_argument("file", type=Path, help="pretalx or frab schedule JSON")
    imp.add_argument("--prune", action="store_true", help="remove sessions not in the file")
    imp.set_defaults(run=_import)
    exp = commands.add_parser("export-program", help="write the program to standard output")
    exp.add_argument("--format", choices=("json", "ics"), default="json")
    exp.add_argument("--base-url", default=None, help="public address used in links")
    exp.set_defaults(run=_export)
    demo = commands.add_parser("demo", help="load the demo conference and its organizer")
    demo.set_defaults(run=_demo)
    paths = commands.add_parser(
        "fast-paths", help="which fast paths on other libraries' private code run here, and why"
    )
    paths.set_defaults(run=_fast_paths)
    user = commands.add_parser("create-user", help="create an account, optionally with a role")
    user.add_argument("--email", required=True)
    user.add_argument("--password", required=True)
    user.add_argument("--name", default=None, help="display name (default: from the email)")
    user.add_argument("--role", choices=["organizer"], default=None)
    user.set_defaults(run=_create_user)
    return parser


def _with_database(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, int]]) -> int:
    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from sidestage.web.app import create_app

    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    print(f"Sidestage serving on http://{settings.host}:{settings.port}/", flush=True)
    print(f"  {settings.where_data_lives()}; stop with Ctrl-C", flush=True)
    app = create_app(settings)
    tune_for_serving()
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        backlog=LISTEN_BACKLOG,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        print=None,
    )
    return 0


def _media_worker(settings: Settings, args: argparse.Namespace) -> int:
    from sidestage.realtime import media_worker

    if args.processes < 1:
        raise ConfigurationError("--processes must be at least 1")
    return media_worker.serve(settings, args.processes)


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Alembic names every step at INFO; a person running this wants the outcome.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade(settings.database_url)
    print(f"database is up to date; {settings.where_data_lives()}")
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    schedule = parse_schedule(args.file.read_bytes())

    async def work(factory: Any) -> int:
        async with transaction(factory) as db:
            served = settings.conference
            summary = await program.import_into_served(db, schedule, served, prune=args.prune)
        print(
            f"imported {schedule.conference.acronym}: {summary.days} days, {summary.rooms} rooms, "
            f"{summary.sessions} sessions ({summary.sessions_created} new, "
            f"{summary.sessions_updated} updated), {summary.people} people, "
            f"{summary.tracks} tracks; {len(summary.not_in_file)} sessions not in the file"
            + (f", {summary.removed} removed" if summary.removed else "")
        )
        return 0

    return _with_database(settings, work)


def _export(settings: Settings, args: argparse.Namespace) -> int:
    base = args.base_url or settings.public_url or f"http://{settings.host}:{settings.port}"

    async def work(factory: Any) -> int:
        async with factory() as db:
            conference = await program.get_conference(db, settings.conference)
            if args.format == "ics":
                sessions = await program.list_sessions(db, conference.id)
                sys.stdout.buffer.write(calendar(conference, sessions, base, conference.title))
            else:
                # Whoever runs the command holds the database: the whole program, streams too.
                document = await program.export_program(
                    db, conference, base, shows_stream=lambda _: True
                )
                json.dump(document, sys.stdout, ensure_ascii=False, indent=1)
                sys.stdout.write("\n")
        return 0

    return _with_database(settings, work)


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    async def work(factory: Any) -> int:
        async with transaction(factory) as db:
            summary = await load_demo(db)
            login = await ensure_demo_organizer(db, settings.data_dir)
        print(f"demo conference loaded: {summary.sessions} sessions over {summary.days} days")
        print(f"log in as organizer: {login.email} / {login.password}")
        print(f"  (the password is kept in {settings.data_dir / DEMO_PASSWORD_FILE})")
        return 0

    return _with_database(settings, work)


def _fast_paths(settings: Settings, args: argparse.Namespace) -> int:
    """One line per path; exits 1 if any does not run for a reason other than the switch."""
    decisions = [fast_paths.decide(path) for path in FAST_PATHS.values()]
    for decision in decisions:
        print(decision.describe())
    fell_back = [d for d in decisions if not d.runs and d.why != f"{fast_paths.SWITCH}=off"]
    return 1 if fell_back else 0


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    async def work(factory: Any) -> int:
        async with transaction(factory) as db:
            name = args.name or args.email.split("@")[0]
            account = await accounts.register(db, args.email, args.password, name)
            if args.role == "organizer":
                await make_organizer(db, account)
        print(f"created {account.email}" + (f" ({args.role})" if args.role else ""))
        return 0

    return _with_database(settings, work)


if __name__ == "__main__":
    raise SystemExit(main())

"""Command line: run the bot (default), apply migrations, import the roster, write invite links."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from bot.app import configure_logging, run
from bot.settings import Settings, load_settings
from db import migrate
from db.session import create_engine


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run_bot.py", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="start the bot (the default)")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    return parser


async def _migrate(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    print("Database is up to date.")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
    else:
        asyncio.run(run(settings))
    return 0

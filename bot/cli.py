"""Command line: run the bot (default), apply migrations, import the roster, write invite links."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from db.models import Role

if TYPE_CHECKING:
    from core.settings import Settings
    from services.results import InvitesIssued

# Only `run` and `invite-links` talk to Telegram: aiogram (seconds to import) and the
# application are imported inside them, so that `--help`, `migrate` and `import-roster`
# start in a fraction of that (tests/test_cli.py checks they never import aiogram).


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run_bot.py", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="start the bot (the default)")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    roster = commands.add_parser(
        "import-roster", help="import users, enrollments, tutoring and guardians"
    )
    roster.add_argument("--users", type=Path, required=True, help="users.csv")
    roster.add_argument("--enrollments", type=Path, help="enrollments.csv")
    roster.add_argument("--tutoring", type=Path, help="tutoring.csv")
    roster.add_argument("--guardians", type=Path, help="guardians.csv")
    invites = commands.add_parser(
        "invite-links",
        help="write a CSV of personal Telegram invite links to stdout, for the active people"
        " not linked yet (their unused links are replaced)",
    )
    invites.add_argument(
        "--role",
        choices=[role.value for role in Role],
        help="only this role (other roles' unused links stay valid)",
    )
    invites.add_argument(
        "--all", action="store_true", help="also the people whose Telegram is linked already"
    )
    return parser


def configure_logging(level: str) -> None:
    """`level` for the program; Alembic's own lines (each migration step) only at DEBUG,
    since `db.migrate` reports the outcome in one line."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.NOTSET if level == "DEBUG" else logging.WARNING)


async def _migrate(settings: Settings) -> None:
    from db import migrate
    from db.session import create_engine

    engine = create_engine(settings.database_url)
    try:
        outcome = await migrate.upgrade(engine, report=False)
    finally:
        await engine.dispose()
    print(f"{outcome}.")


async def _import_roster(settings: Settings, args: argparse.Namespace) -> int:
    from db import migrate
    from db.session import create_engine, create_session_factory
    from services.roster import RosterImportError, import_roster

    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        report = await import_roster(
            create_session_factory(engine),
            args.users,
            args.enrollments,
            args.tutoring,
            args.guardians,
        )
    except RosterImportError as error:
        print("\n".join([*error.problems, str(error)]), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print("\n".join(report.summary_lines()))
    return 0


def _stop(message: str) -> NoReturn:
    """One line on stderr naming the problem and the fix, exit code 2 (as for settings)."""
    print(message, file=sys.stderr)
    raise SystemExit(2)


async def _bot_username(settings: Settings, command: str) -> str:
    """The bot's @username from getMe; one line and exit 2 when the Bot API refuses or
    cannot be reached, before anything else is done."""
    from aiogram.exceptions import (
        TelegramAPIError,
        TelegramNetworkError,
        TelegramUnauthorizedError,
    )

    from bot.factory import create_bot

    bot = create_bot(settings)
    server = settings.bot_api_url
    try:
        me = await bot.get_me()
    except TelegramUnauthorizedError:
        _stop(
            f"{command}: the Bot API at {server} rejected BOT_TOKEN (Unauthorized);"
            " check the token from @BotFather"
        )
    except TelegramNetworkError as error:
        _stop(
            f"{command}: cannot reach the Bot API at {server}: {error};"
            " check BOT_API_URL and the network"
        )
    except TelegramAPIError as error:
        _stop(f"{command}: getMe failed at {server}: {error}")
    finally:
        await bot.session.close()
    if not me.username:
        _stop(f"{command}: the Bot API returned a bot without a username")
    return me.username


async def _run(settings: Settings) -> None:
    from bot.app import run

    await _bot_username(settings, "run")
    await run(settings)


def _invites_summary(result: InvitesIssued) -> list[str]:
    """What `invite-links` tells the operator on stderr: links written, and who was
    skipped and why, e.g. `Skipped: 12 already linked (use --all to include them), 3 inactive.`"""
    lines = [f"{result.issued} invite link{'' if result.issued == 1 else 's'} written."]
    skipped = []
    if result.skipped_linked:
        skipped.append(f"{result.skipped_linked} already linked (use --all to include them)")
    if result.skipped_inactive:
        skipped.append(f"{result.skipped_inactive} inactive")
    if skipped:
        lines.append(f"Skipped: {', '.join(skipped)}.")
    return lines


async def _invite_links(settings: Settings, role: Role | None, include_linked: bool) -> int:
    from db import migrate
    from db.session import create_engine, create_session_factory
    from services.invites import InviteCsv, LinkService

    bot_username = await _bot_username(settings, "invite-links")
    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        links = LinkService(create_session_factory(engine), page_size=settings.batch_size)
        result = await links.issue_invites(
            InviteCsv(sys.stdout, bot_username).write, role=role, include_linked=include_linked
        )
    finally:
        await engine.dispose()
    print("\n".join(_invites_summary(result)), file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from core.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "invite-links":
        role = Role(args.role) if args.role else None
        return asyncio.run(_invite_links(settings, role, include_linked=args.all))
    elif args.command == "import-roster":
        return asyncio.run(_import_roster(settings, args))
    else:
        asyncio.run(_run(settings))
    return 0

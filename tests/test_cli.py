"""The command line stays quick: `--help` needs no settings, `migrate` and `import-roster`
never import aiogram, and a migration is reported in one line (Alembic's own at DEBUG)."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from alembic.script import ScriptDirectory

from db import migrate
from db.models import Role
from fake_bot_api import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "roster"
HEAD = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()

# Runs a command through bot.cli.main in a fresh interpreter, then names the heavy
# packages it imported on the last line of stdout.
PROBE = """
import sys
from bot.cli import main
code = main(sys.argv[1:])
heavy = sorted({name.split(".")[0] for name in sys.modules} & {"aiogram", "aiogram_dialog"})
print("imported:", ",".join(heavy) or "-")
sys.exit(code)
"""


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("BOT_TOKEN", "DATABASE_URL", "LOG_LEVEL", "ADMIN_IDS")
    }
    environment.update(
        {
            "BOT_TOKEN": "123:abc",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
            "PYTHONPATH": str(ROOT),
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=tmp_path,  # no .env here
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def log_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_help_lists_every_command_without_settings(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "BOT_TOKEN"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for command in ("run", "migrate", "import-roster", "invite-links"):
        assert command in result.stdout
    roles = subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), "invite-links", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "{" + ",".join(role.value for role in Role) + "}" in roles.stdout
    assert "--all " in roles.stdout


def test_migrate_says_what_it_did_in_one_line_without_aiogram(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"Database migrated to {HEAD} (it was empty).",
        "imported: -",
    ]
    assert log_lines(first.stderr) == []

    again = run_cli(tmp_path, "migrate")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == f"Database is up to date (revision {HEAD})."
    assert log_lines(again.stderr) == []


def test_import_roster_logs_one_migration_line_and_never_imports_aiogram(
    tmp_path: Path,
) -> None:
    files = [
        *("--users", str(EXAMPLES / "users.csv")),
        *("--enrollments", str(EXAMPLES / "enrollments.csv")),
        *("--tutoring", str(EXAMPLES / "tutoring.csv")),
        *("--guardians", str(EXAMPLES / "guardians.csv")),
    ]
    result = run_cli(tmp_path, "import-roster", *files)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "users: 53 created, 0 updated, 0 unchanged"
    assert result.stdout.splitlines()[-1] == "imported: -"
    [logged] = log_lines(result.stderr)
    assert logged.endswith(f"INFO db.migrate: Database migrated to {HEAD} (it was empty)")

    again = run_cli(tmp_path, "import-roster", *files, LOG_LEVEL="DEBUG")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == "users: 0 created, 0 updated, 53 unchanged"
    assert again.stdout.splitlines()[-1] == "imported: -"
    # At DEBUG, Alembic's own lines come back.
    assert "INFO alembic.runtime.migration: Context impl SQLiteImpl." in again.stderr
    assert f"db.migrate: Database is up to date (revision {HEAD})" in again.stderr


def test_import_roster_prints_each_bad_cell_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text(
        "external_id,full_name,email,role,telegram_id,is_active,language\n"
        "s1,Anna,,student,,,en-GB\n"
        "s2,Boris,,student,,,de\n"
        "s3,Vera,,pupil,,,Русский\n",
        encoding="utf-8",
    )
    result = run_cli(tmp_path, "import-roster", "--users", "users.csv")
    assert result.returncode == 1
    allowed = "(a regional form such as en-US or ru_RU counts; may be empty)"
    assert [line for line in log_lines(result.stderr) if "db.migrate" not in line] == [
        f"users.csv:3: language 'de' is not one of ru/en {allowed}",
        "users.csv:4: unknown role 'pupil' (expected one of student, teacher, tutor, parent, "
        "admin)",
        f"users.csv:4: language 'Русский' is not one of ru/en {allowed}",
        "Roster not imported: 3 problem(s) found",
    ]
    assert result.stdout.splitlines() == ["imported: -"]
    with closing(sqlite3.connect(tmp_path / "cli.sqlite3")) as database:
        assert database.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_run_with_a_wrong_token_or_an_unreachable_bot_api_says_so_in_one_line(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = run_cli(tmp_path, "run", BOT_API_URL=closed)
    assert unreachable.returncode == 2
    [line] = [line for line in log_lines(unreachable.stderr) if "run:" in line]
    assert line.startswith(f"run: cannot reach the Bot API at {closed}")
    assert line.endswith("check BOT_API_URL and the network")
    assert "Traceback" not in unreachable.stderr


async def test_run_with_a_token_the_bot_api_rejects_says_so_in_one_line(
    tmp_path: Path, fake_api: FakeBotAPI
) -> None:
    rejected = await asyncio.to_thread(
        run_cli, tmp_path, "run", BOT_TOKEN="999:WRONG", BOT_API_URL=fake_api.url
    )
    assert rejected.returncode == 2
    assert f"run: the Bot API at {fake_api.url} rejected BOT_TOKEN (Unauthorized)" in (
        rejected.stderr
    )
    assert "Traceback" not in rejected.stderr

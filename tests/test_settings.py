"""Settings: defaults, parsing of list values, and one clear line on bad configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def make(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_follow_the_service_document() -> None:
    settings = make(bot_token="1:abc")
    assert settings.batch_size == 1000
    assert settings.send_batch_size == 100
    assert settings.max_retries == 3
    assert settings.retry_delays == [10, 60, 300]
    assert settings.message_max_length == 1000
    assert settings.database_url.startswith("sqlite+aiosqlite:///data/")
    assert settings.bot_api_url == "https://api.telegram.org"
    assert settings.default_language == "ru"
    assert settings.redis_url is None


def test_comma_separated_values_are_parsed() -> None:
    settings = make(bot_token="1:abc", admin_ids="11, 22,33", retry_delays="1,2.5")
    assert settings.admin_ids == [11, 22, 33]
    assert settings.retry_delays == [1, 2.5]


def test_env_example_is_a_valid_configuration() -> None:
    settings = Settings(_env_file=ROOT / ".env.example", bot_token="1:abc")
    assert settings.admin_ids == []
    assert settings.send_rate == 25


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {},
            "BOT_TOKEN is not set; copy .env.example to .env and put in the token from @BotFather",
        ),
        ({"bot_token": "nonsense"}, "BOT_TOKEN must look like"),
        ({"bot_token": "1:a", "timezone": "Mars/Olympus"}, "TIMEZONE must be an IANA time zone"),
        (
            {"bot_token": "1:a", "admin_ids": "12,@olga"},
            "ADMIN_IDS must be numeric Telegram ids, comma-separated",
        ),
        ({"bot_token": "1:a", "send_rate": "45"}, "set PAID_BROADCAST=true"),
        ({"bot_token": "1:a", "paid_broadcast": "true", "send_rate": "1500"}, "1000/s"),
        ({"bot_token": "1:a", "retry_delays": "10,-1"}, "RETRY_DELAYS must be comma-separated"),
        ({"bot_token": "1:a", "default_language": "de"}, "DEFAULT_LANGUAGE must be ru or en"),
    ],
)
def test_bad_values_exit_2_with_one_line(
    values: dict[str, str], expected: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(ROOT / "tests")  # no .env here
    for name in ("BOT_TOKEN", "ADMIN_IDS", "SEND_RATE", "TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        load_settings(**values)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert expected in lines[0]


def test_running_without_a_token_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "BOT_TOKEN"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "Configuration error: BOT_TOKEN is not set; "
        "copy .env.example to .env and put in the token from @BotFather"
    )

"""Configuration from the environment and `.env`, validated once at start.

A missing or invalid value stops the program with one line that names the variable
and says how to fix it (see `load_settings`), never with a traceback.
"""

from __future__ import annotations

import re
import sys
from datetime import time
from functools import cached_property
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.languages import SUPPORTED_LANGUAGES

TELEGRAM_API_URL = "https://api.telegram.org"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/bot.sqlite3"
FREE_RATE_LIMIT = 30
QUIET_HOURS_FORMAT = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
PAID_RATE_LIMIT = 1000


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    database_url: str = DEFAULT_DATABASE_URL
    bot_api_url: str = TELEGRAM_API_URL
    timezone: str = "UTC"
    quiet_hours: Annotated[tuple[time, time] | None, NoDecode] = None
    """Start and end (local times in `timezone`) of the nightly window in which only
    urgent broadcasts are sent; None: no quiet hours."""
    send_rate: float = Field(default=25, gt=0)
    paid_broadcast: bool = False
    batch_size: int = Field(default=1000, ge=1)
    send_batch_size: int = Field(default=100, ge=1)
    max_retries: int = Field(default=3, ge=0)
    retry_delays: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [10.0, 60.0, 300.0]
    )
    message_max_length: int = Field(default=1000, ge=1, le=4096)
    progress_edit_interval: float = Field(default=2, ge=0)
    redis_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=0, le=65535)
    default_language: str = "ru"
    school_contact: str | None = None
    log_level: str = "INFO"

    @field_validator("admin_ids", "retry_delays", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("admin_ids", mode="wrap")
    @classmethod
    def _numeric_ids(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(
                "must be numeric Telegram ids, comma-separated (a @username is not an id:"
                " ask @userinfobot for the number)"
            ) from None

    @field_validator("redis_url", "webhook_url", "webhook_secret", "school_contact", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_url")
    @classmethod
    def _https_webhook(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be the public https:// address Telegram posts updates to")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("may hold only letters, digits, _ and - (1 to 256 of them)")
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("must look like 123456789:AA... (the token @BotFather gave you)")
        return SecretStr(token)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name, e.g. Europe/Moscow") from None
        return value

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet_window(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        match = QUIET_HOURS_FORMAT.fullmatch(value.strip())
        numbers = [int(part) for part in match.groups()] if match else []
        if not numbers or max(numbers[0::2]) > 23 or max(numbers[1::2]) > 59:
            raise ValueError(
                "must be two times HH:MM-HH:MM in TIMEZONE, e.g. 21:00-07:00 (empty: none)"
            )
        start, end = time(numbers[0], numbers[1]), time(numbers[2], numbers[3])
        if start == end:
            raise ValueError("must end at another time than it starts, e.g. 21:00-07:00")
        return start, end

    @field_validator("retry_delays")
    @classmethod
    def _non_negative_delays(cls, value: list[float]) -> list[float]:
        if not value or any(delay < 0 for delay in value):
            raise ValueError("must be comma-separated seconds >= 0, e.g. 10,60,300")
        return value

    @field_validator("default_language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError("must be " + " or ".join(SUPPORTED_LANGUAGES))
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _rate_within_telegram_limits(self) -> Settings:
        ceiling = PAID_RATE_LIMIT if self.paid_broadcast else FREE_RATE_LIMIT
        if self.send_rate > ceiling:
            mode = "paid broadcasts" if self.paid_broadcast else "free broadcasts"
            raise ValueError(
                f"SEND_RATE: {self.send_rate:g} is above Telegram's {ceiling}/s for {mode}"
                + ("" if self.paid_broadcast else "; set PAID_BROADCAST=true to go faster")
            )
        return self

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_HINTS = {
    "bot_token": "copy .env.example to .env and put in the token from @BotFather",
}


def describe_error(error: ValidationError) -> str:
    """One line naming the first bad variable and how to fix it."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    if not field:  # model-level check: the message already names its variable
        return f"Configuration error: {message}"
    variable = field.upper()
    if first["type"] == "missing":
        hint = _HINTS.get(field, f"set {variable} in .env (see .env.example)")
        return f"Configuration error: {variable} is not set; {hint}"
    return f"Configuration error: {variable} {message}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings or exit with code 2 and one explanatory line on stderr."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        print(describe_error(error), file=sys.stderr)
        raise SystemExit(2) from None

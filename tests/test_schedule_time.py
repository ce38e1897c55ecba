"""The typed schedule time: every accepted form, the today/tomorrow rollover, time zones,
past times and garbage."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.errors import ValidationFailed
from services.schedule_time import (
    ACCEPTED_FORMATS,
    NonexistentTime,
    TimeInPast,
    UnparseableTime,
    format_schedule_time,
    parse_schedule_time,
)

MOSCOW = ZoneInfo("Europe/Moscow")  # UTC+3, no daylight saving
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 30.11.2026 10:00 in Moscow


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        ("2026-12-01 09:30", datetime(2026, 12, 1, 6, 30, tzinfo=UTC)),
        ("2026-12-01T09:30", datetime(2026, 12, 1, 6, 30, tzinfo=UTC)),
        ("01.12.2026 09:30", datetime(2026, 12, 1, 6, 30, tzinfo=UTC)),
        ("1.12.2026 9:30", datetime(2026, 12, 1, 6, 30, tzinfo=UTC)),
        ("  01.12.2026    09:30 ", datetime(2026, 12, 1, 6, 30, tzinfo=UTC)),
        ("tomorrow 9:00", datetime(2026, 12, 1, 6, 0, tzinfo=UTC)),
        ("Tomorrow 09:00", datetime(2026, 12, 1, 6, 0, tzinfo=UTC)),
        ("завтра 9:00", datetime(2026, 12, 1, 6, 0, tzinfo=UTC)),
        ("Завтра 9:00", datetime(2026, 12, 1, 6, 0, tzinfo=UTC)),
        ("today 18:45", datetime(2026, 11, 30, 15, 45, tzinfo=UTC)),
        ("сегодня 18:45", datetime(2026, 11, 30, 15, 45, tzinfo=UTC)),
    ],
)
def test_accepted_forms_are_read_in_the_school_time_zone(text: str, expected_utc: datetime) -> None:
    when = parse_schedule_time(text, NOW, MOSCOW)
    assert when == expected_utc
    assert when.tzinfo is UTC


def test_a_bare_time_still_ahead_today_is_today() -> None:
    assert parse_schedule_time("10:30", NOW, MOSCOW) == datetime(2026, 11, 30, 7, 30, tzinfo=UTC)


def test_a_bare_time_already_passed_today_is_tomorrow() -> None:
    assert parse_schedule_time("09:30", NOW, MOSCOW) == datetime(2026, 12, 1, 6, 30, tzinfo=UTC)


def test_a_bare_time_equal_to_now_rolls_over_to_tomorrow() -> None:
    assert parse_schedule_time("10:00", NOW, MOSCOW) == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def test_today_and_tomorrow_follow_the_local_date_not_the_utc_date() -> None:
    late_evening_utc = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # already 1 Dec in Moscow
    assert parse_schedule_time("tomorrow 9:00", late_evening_utc, MOSCOW) == datetime(
        2026, 12, 2, 6, 0, tzinfo=UTC
    )
    assert parse_schedule_time("today 9:00", late_evening_utc, MOSCOW) == datetime(
        2026, 12, 1, 6, 0, tzinfo=UTC
    )


def test_the_same_text_means_different_instants_in_different_zones() -> None:
    in_utc = parse_schedule_time("2026-12-01 09:30", NOW, ZoneInfo("UTC"))
    in_vladivostok = parse_schedule_time("2026-12-01 09:30", NOW, ZoneInfo("Asia/Vladivostok"))
    assert in_utc == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert in_vladivostok == datetime(2026, 11, 30, 23, 30, tzinfo=UTC)


def test_daylight_saving_offsets_are_applied_per_date() -> None:
    new_york = ZoneInfo("America/New_York")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    winter = parse_schedule_time("2026-02-01 09:00", now, new_york)
    summer = parse_schedule_time("2026-07-01 09:00", now, new_york)
    assert winter == datetime(2026, 2, 1, 14, 0, tzinfo=UTC)
    assert summer == datetime(2026, 7, 1, 13, 0, tzinfo=UTC)


def test_a_time_skipped_by_the_spring_clock_change_is_refused() -> None:
    with pytest.raises(NonexistentTime, match="does not exist in America/New_York"):
        parse_schedule_time("2026-03-08 02:30", NOW, ZoneInfo("America/New_York"))


@pytest.mark.parametrize("text", ["2026-11-30 09:59", "30.11.2026 10:00", "today 9:00"])
def test_a_past_time_gets_its_own_error(text: str) -> None:
    with pytest.raises(TimeInPast, match="has already passed") as caught:
        parse_schedule_time(text, NOW, MOSCOW)
    assert "(Europe/Moscow)" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "soon",
        "next week",
        "25:00",
        "9.30",
        "2026-13-01 09:00",
        "31.02.2026 09:00",
        "01.12.26 09:30",
        "2026-12-01",
        "yesterday 9:00",
        "tomorrow",
        "2026-12-01 09:30 extra",
    ],
)
def test_garbage_explains_the_accepted_formats(text: str) -> None:
    with pytest.raises(UnparseableTime) as caught:
        parse_schedule_time(text, NOW, MOSCOW)
    message = str(caught.value)
    assert all(example in message for example in ACCEPTED_FORMATS)
    assert isinstance(caught.value, ValidationFailed)


def test_every_advertised_format_is_accepted() -> None:
    for example in ACCEPTED_FORMATS:
        assert parse_schedule_time(example, NOW, MOSCOW) > NOW


def test_times_are_shown_in_the_school_time_zone() -> None:
    when = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
    assert format_schedule_time(when, MOSCOW) == "01.12.2026 09:30"

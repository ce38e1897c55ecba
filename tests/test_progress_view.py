"""The progress message's text and buttons, as the reporter, Refresh and /progress draw it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import InlineKeyboardMarkup
from fluent.syntax import ast, parse

from core.i18n import LOCALES_DIR, Catalog, Translator
from db.models import BroadcastKind, BroadcastStatus, RecipientStatus
from handlers.callbacks import BroadcastAction, BroadcastButton, ProgressRefresh
from handlers.keyboards import retryable_count
from handlers.progress_view import progress_renderer, progress_times, render_progress
from services.delivery_errors import ErrorCode
from services.progress import ProgressSnapshot
from services.results import Progress

CATALOG = Catalog("en")
EN = CATALOG.translator("en")
RU = CATALOG.translator("ru")
MOSCOW = ZoneInfo("Europe/Moscow")


REFRESH = "refresh"


def actions(
    markup: InlineKeyboardMarkup | None,
) -> list[tuple[str, str, ProgressRefresh | BroadcastAction]]:
    """(label, what it does, its data) of each button."""
    found: list[tuple[str, str, ProgressRefresh | BroadcastAction]] = []
    for row in markup.inline_keyboard if markup else []:
        for button in row:
            raw = button.callback_data or ""
            if raw.startswith(f"{ProgressRefresh.__prefix__}:"):
                refresh = ProgressRefresh.unpack(raw)
                found.append((button.text, REFRESH, refresh))
            else:
                action = BroadcastAction.unpack(raw)
                found.append((button.text, action.action, action))
    return found


def sending(**fields: object) -> ProgressSnapshot:
    values: dict[str, object] = {
        "broadcast_id": 12,
        "status": BroadcastStatus.SENDING,
        "total": 200,
        "sent": 90,
        "failed": 10,
        "rate": 29.5,
        "eta_seconds": 125,
        "errors": (("blocked", 6), ("network", 4)),
    }
    values.update(fields)
    return ProgressSnapshot(**values)  # type: ignore[arg-type]


def test_while_sending_it_shows_bar_counts_rate_eta_and_status_in_words() -> None:
    text, markup = render_progress(EN, sending(), MOSCOW)
    lines = text.split("\n")
    assert lines[0] == "📤 <b>Broadcast #12</b> · Sending"
    assert lines[1] == "██████████░░░░░░░░░░ 50%"
    assert lines[2] == "Sent: 90 · Failed: 10 · Pending: 100 (of 200)"
    assert lines[3] == "Rate: 29.5 msg/s · ETA: 2:05"
    assert lines[4] == "Errors: 10 failed: bot blocked by user (6), network error (4)"
    assert [(label, kind, data.broadcast_id) for label, kind, data in actions(markup)] == [
        ("🔄 Refresh", REFRESH, 12),
        ("✖ Cancel", BroadcastButton.CANCEL, 12),
    ]


def test_without_a_live_rate_rate_and_eta_are_dashes() -> None:
    text, _ = render_progress(EN, sending(rate=0.0, eta_seconds=None), MOSCOW)
    assert "Rate: — msg/s · ETA: —" in text.split("\n")


@pytest.mark.parametrize(
    ("t", "paused_line"),
    [
        (EN, "⏸ Paused: database unavailable, retrying"),
        (RU, "⏸ Пауза: база данных недоступна, повторяем попытки"),
    ],
)
def test_while_the_database_is_away_it_says_sending_is_paused_instead_of_the_rate(
    t: Translator, paused_line: str
) -> None:
    text, markup = render_progress(t, sending(paused=True, rate=0.0, eta_seconds=None), MOSCOW)
    lines = text.split("\n")
    assert lines[3] == paused_line and len(lines) == 5  # counters and errors stay
    assert len(actions(markup)) == 2  # Refresh and Cancel still work
    back, _ = render_progress(t, sending(), MOSCOW)
    assert paused_line not in back


def test_the_final_summary_offers_retry_only_for_retryable_failures() -> None:
    final = sending(status=BroadcastStatus.COMPLETED, sent=190, rate=0.0, eta_seconds=None)
    text, markup = render_progress(EN, final, MOSCOW)
    assert text.split("\n")[0] == "⚠️ <b>Broadcast #12</b> · Completed with failures"
    assert "Rate" not in text
    assert "Errors: 10 failed: bot blocked by user (6), network error (4)" in text
    assert retryable_count(final) == 4  # blocked users are never retried
    [(label, kind, data)] = actions(markup)
    assert (label, kind, data.broadcast_id) == ("🔁 Retry failed (4)", BroadcastButton.RETRY, 12)


@pytest.mark.parametrize(
    ("status", "errors"),
    [
        (BroadcastStatus.SENT, ()),
        (BroadcastStatus.COMPLETED, (("blocked", 10),)),
    ],
)
def test_a_finished_broadcast_without_anything_to_retry_has_no_buttons(
    status: BroadcastStatus, errors: tuple[tuple[str, int], ...]
) -> None:
    _, markup = render_progress(EN, sending(status=status, errors=errors), MOSCOW)
    assert markup is None


@pytest.mark.parametrize(("t", "details"), [(EN, "📋 Details"), (RU, "📋 Подробнее")])
def test_a_cancelled_broadcast_offers_refresh_until_its_messages_in_flight_are_recorded(
    t: Translator, details: str
) -> None:
    """No Cancel any more and no Retry (its failures stay as they are); Details to see
    who got it. Refresh only while the run may still record what it had in flight."""
    cancelled = sending(status=BroadcastStatus.CANCELLED, errors=(("network", 10),))
    settling = actions(render_progress(t, replace(cancelled, settling=True), MOSCOW)[1])
    assert [(kind, data.broadcast_id) for _, kind, data in settling] == [
        (REFRESH, 12),
        (BroadcastButton.OPEN, 12),
    ]
    assert settling[1][0] == details
    final = actions(render_progress(t, cancelled, MOSCOW)[1])
    assert [(label, kind) for label, kind, _ in final] == [(details, BroadcastButton.OPEN)]


@pytest.mark.parametrize(
    ("kind", "en", "ru"),
    [
        (BroadcastKind.REMINDER, "Reminder for broadcast #8", "Напоминание к рассылке #8"),
        (BroadcastKind.EDIT, "Edit of broadcast #8", "Исправление рассылки #8"),
        (BroadcastKind.DELETE, "Delete of broadcast #8", "Удаление рассылки #8"),
    ],
)
def test_a_run_over_an_announcement_is_titled_and_opened_by_the_announcement(
    kind: BroadcastKind, en: str, ru: str
) -> None:
    """Run #12 acts on broadcast #8: the title and Details name #8, the number admins
    know; Refresh and Cancel act on the run itself."""
    run = sending(kind=kind, parent_id=8)
    assert render_progress(EN, run, MOSCOW)[0].split("\n")[0] == f"📤 <b>{en}</b> · Sending"
    assert render_progress(RU, run, MOSCOW)[0].split("\n")[0] == f"📤 <b>{ru}</b> · Отправляется"
    assert [
        (what, data.broadcast_id) for _, what, data in actions(render_progress(EN, run, MOSCOW)[1])
    ] == [
        (REFRESH, 12),
        (BroadcastButton.CANCEL, 12),
    ]
    cancelled = replace(run, status=BroadcastStatus.CANCELLED)
    assert [
        (what, data.broadcast_id)
        for _, what, data in actions(render_progress(EN, cancelled, MOSCOW)[1])
    ] == [(BroadcastButton.OPEN, 8)]


def test_it_speaks_russian_with_the_documents_wording() -> None:
    text, markup = render_progress(RU, sending(), MOSCOW)
    assert text.split("\n")[0] == "📤 <b>Рассылка #12</b> · Отправляется"
    assert "бот заблокирован пользователем (6)" in text
    assert [label for label, _, _ in actions(markup)] == ["🔄 Обновить", "✖ Отменить"]


def test_buttons_remember_the_language_and_the_view_they_were_drawn_in() -> None:
    _, live = render_progress(RU, sending(), MOSCOW)
    _, full = render_progress(EN, sending(), MOSCOW, footer="Created: …")

    def drawn_as(markup: InlineKeyboardMarkup | None) -> set[tuple[str, bool]]:
        return {
            (data.lang, data.full)
            for _, _, data in actions(markup)
            if isinstance(data, ProgressRefresh)
        }

    assert drawn_as(live) == {("ru", False)}
    assert drawn_as(full) == {("en", True)}


def test_the_full_view_adds_the_documents_timestamps_in_the_school_time_zone() -> None:
    progress = Progress(
        id=12,
        status=BroadcastStatus.SENDING,
        total_recipients=200,
        sent_count=90,
        failed_count=10,
        pending_count=100,
        progress_pct=50,
        error_summary=None,
        created_at=datetime(2026, 12, 1, 6, 0, tzinfo=UTC),
        sent_at=datetime(2026, 12, 1, 6, 30, tzinfo=UTC),
        completed_at=None,
    )
    footer = progress_times(EN, progress, MOSCOW)
    assert footer == "Created: 01.12.2026 09:00 · Started: 01.12.2026 09:30 · Finished: —"
    text, _ = render_progress(EN, sending(), MOSCOW, footer=footer)
    assert text.endswith(footer)


def test_the_reporters_renderer_draws_each_message_in_its_own_language() -> None:
    render = progress_renderer(Catalog("ru"), MOSCOW)
    assert render(sending(), "en") == render_progress(EN, sending(), MOSCOW)
    assert render(sending(), "en-GB") == render_progress(EN, sending(), MOSCOW)
    assert render(sending(), "ru") == render_progress(RU, sending(), MOSCOW)
    # A message posted before languages were stored: the bot's default language.
    assert render(sending(), None) == render_progress(RU, sending(), MOSCOW)


WAITING = sending(
    sent=190,
    failed=7,
    rate=0.0,
    eta_seconds=None,
    retry_waiting=3,
    next_retry_at=datetime(2026, 12, 1, 11, 5, 10, tzinfo=UTC),
)


@pytest.mark.parametrize(
    ("t", "waiting_line"),
    [
        (EN, "⏳ Waiting for retries: 3 recipients, next at 14:05:10"),
        (RU, "⏳ Ждут повторной попытки: 3 получателя, следующая в 14:05:10"),
    ],
)
def test_while_everyone_pending_waits_for_a_retry_it_says_so_and_when_instead_of_the_rate(
    t: Translator, waiting_line: str
) -> None:
    text, markup = render_progress(t, WAITING, MOSCOW)
    lines = text.split("\n")
    assert lines[3] == waiting_line  # the school's time zone: 11:05:10 UTC is 14:05 in Moscow
    assert not any("/s" in line for line in lines)
    assert len(lines) == 5 and len(actions(markup)) == 2  # errors, Refresh and Cancel stay


@pytest.mark.parametrize(
    ("t", "count", "waiting_line"),
    [
        (EN, 1, "⏳ Waiting for retries: 1 recipient, next at 14:05:10"),
        (RU, 1, "⏳ Ждут повторной попытки: 1 получатель, следующая в 14:05:10"),
        (RU, 5, "⏳ Ждут повторной попытки: 5 получателей, следующая в 14:05:10"),
    ],
)
def test_the_waiting_line_counts_recipients_with_plural_forms(
    t: Translator, count: int, waiting_line: str
) -> None:
    snapshot = replace(WAITING, sent=200 - 7 - count, retry_waiting=count)
    assert waiting_line in render_progress(t, snapshot, MOSCOW)[0].split("\n")


def test_while_some_are_still_due_it_shows_the_rate_not_the_wait() -> None:
    # 3 wait for a retry, but 10 are pending: sending goes on, so its rate is what counts.
    text, _ = render_progress(EN, replace(WAITING, sent=183, rate=12.0, eta_seconds=1), MOSCOW)
    assert "Rate: 12.0 msg/s · ETA: 0:01" in text.split("\n")
    assert "Waiting" not in text


@pytest.mark.parametrize(("t", "took_line"), [(EN, "Took 2:14"), (RU, "Заняла 2:14")])
def test_the_final_summary_says_how_long_the_broadcast_took(t: Translator, took_line: str) -> None:
    final = sending(status=BroadcastStatus.SENT, sent=200, failed=0, errors=(), took_seconds=134.4)
    lines = render_progress(t, final, MOSCOW)[0].split("\n")
    assert lines[3] == took_line
    long_one = replace(final, took_seconds=3 * 3600 + 62)
    assert render_progress(t, long_one, MOSCOW)[0].split("\n")[3].endswith(" 3:01:02")
    # While sending (and for a broadcast that never started) there is nothing to say yet.
    assert "2:14" not in render_progress(t, sending(took_seconds=134.4), MOSCOW)[0]
    assert len(render_progress(t, replace(final, took_seconds=None), MOSCOW)[0].split("\n")) == 3


def test_an_empty_finished_broadcast_is_drawn_complete() -> None:
    text, markup = render_progress(
        EN, ProgressSnapshot(3, BroadcastStatus.FAILED, total=0, sent=0, failed=0), MOSCOW
    )
    assert "100%" in text and "Errors" not in text
    assert markup is None


@pytest.mark.parametrize("feature", ["monitoring", "errors", "options"])
def test_both_languages_define_the_same_messages(feature: str) -> None:
    def ids(language: str) -> set[str]:
        source = (LOCALES_DIR / language / f"{feature}.ftl").read_text(encoding="utf-8")
        return {entry.id.name for entry in parse(source).body if isinstance(entry, ast.Message)}

    assert ids("ru") == ids("en")
    assert ids("en")


@pytest.mark.parametrize("t", [EN, RU], ids=["en", "ru"])
def test_every_status_and_error_code_has_words(t: Translator) -> None:
    names = [f"status-{status.value}" for status in BroadcastStatus]
    names += [f"recipient-status-{status.value}" for status in RecipientStatus]
    names += [f"delivery-error-{code.value}" for code in ErrorCode]
    for name in names:
        assert t(name) != name, name


def test_russian_numbers_have_a_decimal_comma() -> None:
    text, _ = render_progress(RU, sending(), MOSCOW)
    assert "Скорость: 29,5 сообщ./с · Осталось: 2:05" in text.split("\n")

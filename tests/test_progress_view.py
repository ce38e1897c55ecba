"""The progress message's text and buttons, as the reporter, Refresh and /progress draw it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import InlineKeyboardMarkup
from fluent.syntax import ast, parse

from core.i18n import LOCALES_DIR, Catalog, Translator
from db.models import BroadcastStatus, RecipientStatus
from handlers.callbacks import BroadcastAction, BroadcastButton, ProgressRefresh
from handlers.keyboards import retryable_count
from handlers.progress_view import progress_renderer, progress_times, render_progress
from services.delivery_errors import ErrorCode
from services.progress import ProgressSnapshot
from services.results import Progress

CATALOG = Catalog("en")
EN = CATALOG.translator("en")
RU = CATALOG.translator("ru")


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
    text, markup = render_progress(EN, sending())
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
    text, _ = render_progress(EN, sending(rate=0.0, eta_seconds=None))
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
    text, markup = render_progress(t, sending(paused=True, rate=0.0, eta_seconds=None))
    lines = text.split("\n")
    assert lines[3] == paused_line and len(lines) == 5  # counters and errors stay
    assert len(actions(markup)) == 2  # Refresh and Cancel still work
    back, _ = render_progress(t, sending())
    assert paused_line not in back


def test_the_final_summary_offers_retry_only_for_retryable_failures() -> None:
    final = sending(status=BroadcastStatus.COMPLETED, sent=190, rate=0.0, eta_seconds=None)
    text, markup = render_progress(EN, final)
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
        (BroadcastStatus.CANCELLED, (("network", 10),)),
    ],
)
def test_a_finished_broadcast_without_anything_to_retry_has_no_buttons(
    status: BroadcastStatus, errors: tuple[tuple[str, int], ...]
) -> None:
    _, markup = render_progress(EN, sending(status=status, errors=errors))
    assert markup is None


def test_it_speaks_russian_with_the_documents_wording() -> None:
    text, markup = render_progress(RU, sending())
    assert text.split("\n")[0] == "📤 <b>Рассылка #12</b> · Отправляется"
    assert "бот заблокирован пользователем (6)" in text
    assert [label for label, _, _ in actions(markup)] == ["🔄 Обновить", "✖ Отменить"]


def test_buttons_remember_the_language_and_the_view_they_were_drawn_in() -> None:
    _, live = render_progress(RU, sending())
    _, full = render_progress(EN, sending(), footer="Created: …")

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
    footer = progress_times(EN, progress, ZoneInfo("Europe/Moscow"))
    assert footer == "Created: 01.12.2026 09:00 · Started: 01.12.2026 09:30 · Finished: —"
    text, _ = render_progress(EN, sending(), footer=footer)
    assert text.endswith(footer)


def test_the_reporters_renderer_is_the_same_drawing_in_a_fixed_language() -> None:
    render = progress_renderer(RU)
    assert render(sending()) == render_progress(RU, sending())


def test_an_empty_finished_broadcast_is_drawn_complete() -> None:
    text, markup = render_progress(
        EN, ProgressSnapshot(3, BroadcastStatus.FAILED, total=0, sent=0, failed=0)
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
    text, _ = render_progress(RU, sending())
    assert "Скорость: 29,5 сообщ./с · Осталось: 2:05" in text.split("\n")

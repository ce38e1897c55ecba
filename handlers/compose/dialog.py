"""The compose wizard's windows: what each step shows and which buttons it has.

Every step ends with the same row: Back (where there is a step before it) and Cancel.
"""

from __future__ import annotations

import math
from typing import Any

from aiogram import F
from aiogram.enums import ContentType
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import (
    Button,
    Column,
    Group,
    NextPage,
    PrevPage,
    Row,
    Select,
    SwitchTo,
)
from aiogram_dialog.widgets.text import Format, Multi

from core.settings import Settings
from db.models import TargetGroup
from handlers.broadcasts.reminders_view import auto_remind_text
from handlers.compose import schedule, steps
from handlers.compose.draft import Draft, step_of
from handlers.compose.options import options_window
from handlers.compose.states import ComposeStates
from handlers.compose.widgets import PageCounter, Tr, cancel_button, translator
from handlers.options_view import clock_time, options_text
from services.audience import AudienceService
from services.quiet_hours import QuietGate
from services.targets import STUDENT_GROUPS, Include

MEDIA_TYPES = [
    ContentType.TEXT,
    ContentType.PHOTO,
    ContentType.VIDEO,
    ContentType.DOCUMENT,
    ContentType.ANIMATION,
]


def paragraphs(*texts: Tr | Multi) -> Multi:
    """Texts separated by blank lines; hidden ones (`when`) leave no gap."""
    return Multi(*texts, sep="\n\n")


# --- getters ---------------------------------------------------------------------------


async def audience_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    draft = Draft.of(dialog_manager)
    return {
        **step_of(draft, "audience"),
        "groups": [group.value for group in TargetGroup],
        "editing": draft.target_group is not None and draft.content is not None,
    }


async def pick_getter(
    dialog_manager: DialogManager, audience: AudienceService, **_: Any
) -> dict[str, Any]:
    draft = Draft.of(dialog_manager)
    group = draft.narrowing
    assert group is not None
    page = await steps.picker_pages(dialog_manager).get_page()
    found = await steps.search_page(audience, group, draft.query, page)
    pages = max(1, math.ceil(found.total / steps.PAGE_SIZE))
    return {
        **step_of(draft, "narrow"),
        "narrowing": group.value,
        "items": found.items,
        "total": found.total,
        "page": page + 1,
        "pages": pages,
        "query": draft.query,
        "has_prev": page > 0,
        "has_next": page + 1 < pages,
    }


async def custom_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    draft = Draft.of(dialog_manager)
    return {**step_of(draft, "narrow"), "count": len(draft.custom_ids)}


async def content_getter(
    dialog_manager: DialogManager, settings: Settings, **_: Any
) -> dict[str, Any]:
    draft = Draft.of(dialog_manager)
    return {
        **step_of(draft, "content"),
        "limit": settings.message_max_length,
        "has_content": draft.content is not None,
    }


async def who_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    draft = Draft.of(dialog_manager)
    return {
        **step_of(draft, "who"),
        "group": describe_audience(dialog_manager, Include.STUDENTS),
        "choices": [include.value for include in Include],
    }


def describe_audience(manager: DialogManager, include: Include | None = None) -> str:
    """The audience in words: "All students", "Parents of students of 5B", "Students and
    teachers of Mathematics"...; `include` overrides the draft's who choice."""
    t = translator(manager)
    draft = Draft.of(manager)
    group = draft.target_group
    assert group is not None
    if group not in STUDENT_GROUPS:
        return t(f"target-{group.value}")
    who = (include or draft.include).value
    if group is TargetGroup.CUSTOM:
        count = len(draft.target_filter["user_ids"])
        return t("compose-audience-custom", count=count, include=who)
    return t(f"compose-audience-{group.value}", name=draft.filter_name, include=who)


async def preview_getter(
    dialog_manager: DialogManager,
    audience: AudienceService,
    quiet_hours: QuietGate,
    settings: Settings,
    **_: Any,
) -> dict[str, Any]:
    draft = Draft.of(dialog_manager)
    assert draft.target_group is not None
    counts = await audience.preview(draft.target_group, draft.target_filter)
    starts_at = quiet_hours.start_of(draft.options.urgent)
    return {
        **step_of(draft, "preview"),
        "audience": describe_audience(dialog_manager),
        "families": counts.families,
        "people": counts.total,
        "reachable": counts.reachable,
        "no_telegram": counts.no_telegram,
        "blocked": counts.blocked,
        "deactivated": counts.deactivated,
        "sendable": counts.reachable > 0,
        "count": counts.total - counts.reachable,  # who cannot be reached
        "options": options_text(translator(dialog_manager), draft.options),
        "time": None if starts_at is None else clock_time(starts_at, settings.tz),
        "auto_remind": (
            auto_remind_text(translator(dialog_manager), draft.auto_remind)
            if draft.auto_remind
            else None
        ),
    }


async def schedule_getter(
    dialog_manager: DialogManager, settings: Settings, **_: Any
) -> dict[str, Any]:
    return {"tz": settings.tz.key, "examples": translator(dialog_manager)("schedule-examples")}


# --- windows -----------------------------------------------------------------------------


def audience_window() -> Window:
    return Window(
        Tr("compose-step-audience", "step", "steps"),
        Group(
            Select(
                Tr("target-{item}"),
                id="group",
                item_id_getter=str,
                items="groups",
                on_click=steps.on_group,
            ),
            width=2,
        ),
        Button(
            Tr("compose-btn-keep-audience"),
            id="keep_audience",
            on_click=steps.on_back_to_preview,
            when="editing",
        ),
        cancel_button(),
        state=ComposeStates.audience,
        getter=audience_getter,
    )


def pick_window() -> Window:
    return Window(
        paragraphs(
            Multi(
                Tr("compose-step-pick-{narrowing}", "step", "steps"),
                Tr("compose-pick-search-hint", "narrowing"),
            ),
            Multi(
                Tr("compose-pick-query", "query", when="query"),
                Tr("compose-pick-found", "total", "page", "pages", when="total"),
                Tr("compose-pick-nothing", when=~F["total"]),
            ),
        ),
        Group(
            Select(
                Format("{item.name}"),
                id="pick",
                item_id_getter=lambda item: item.id,
                items="items",
                type_factory=int,
                on_click=steps.on_pick,
            ),
            width=2,
        ),
        PageCounter(id=steps.PICKER_PAGES, pages="pages"),
        Row(  # pager buttons see the window's data under "data"
            PrevPage(
                scroll=steps.PICKER_PAGES, text=Tr("compose-btn-prev"), when=F["data"]["has_prev"]
            ),
            NextPage(
                scroll=steps.PICKER_PAGES, text=Tr("compose-btn-next"), when=F["data"]["has_next"]
            ),
            when=F["has_prev"] | F["has_next"],  # no empty row when everything fits one page
        ),
        Button(Tr("compose-btn-show-all"), id="show_all", on_click=steps.on_show_all, when="query"),
        Row(
            SwitchTo(Tr("compose-btn-back"), id="back", state=ComposeStates.audience),
            cancel_button(),
        ),
        MessageInput(steps.on_search, content_types=ContentType.TEXT),
        MessageInput(steps.on_not_a_search),
        state=ComposeStates.pick,
        getter=pick_getter,
    )


def custom_window() -> Window:
    return Window(
        paragraphs(
            Tr("compose-step-custom", "step", "steps"),
            Tr("compose-custom-selected", "count", when="count"),
        ),
        Button(
            Tr("compose-btn-continue"),
            id="continue",
            on_click=steps.on_custom_continue,
            when="count",
        ),
        Row(
            SwitchTo(Tr("compose-btn-back"), id="back", state=ComposeStates.audience),
            cancel_button(),
        ),
        MessageInput(steps.on_references, content_types=ContentType.TEXT),
        state=ComposeStates.custom,
        getter=custom_getter,
    )


def who_window() -> Window:
    return Window(
        Tr("compose-step-who", "group", "step", "steps"),
        Column(
            Select(
                Tr("compose-who-{item}"),
                id="who",
                item_id_getter=str,
                items="choices",
                on_click=steps.on_who,
            )
        ),
        Row(
            Button(Tr("compose-btn-back"), id="back", on_click=steps.on_back_from_who),
            cancel_button(),
        ),
        state=ComposeStates.who,
        getter=who_getter,
    )


def content_window() -> Window:
    return Window(
        paragraphs(
            Tr("compose-step-content", "limit", "step", "steps"),
            Tr("compose-content-kept", when="has_content"),
        ),
        Button(
            Tr("compose-btn-keep-content"),
            id="keep_content",
            on_click=steps.on_back_to_preview,
            when="has_content",
        ),
        Row(
            Button(Tr("compose-btn-back"), id="back", on_click=steps.on_back_from_content),
            cancel_button(),
        ),
        MessageInput(steps.on_content, content_types=MEDIA_TYPES),
        MessageInput(steps.on_unsupported),
        state=ComposeStates.content,
        getter=content_getter,
    )


def preview_window() -> Window:
    return Window(
        paragraphs(
            Tr("compose-step-preview", "step", "steps"),
            Multi(
                Tr("compose-preview-audience", "audience", when=F["families"].is_(None)),
                Tr(
                    "compose-preview-families",
                    "audience",
                    "families",
                    "people",
                    "reachable",
                    when=F["families"].is_not(None),
                ),
                Tr("compose-preview-counts", "reachable", "no_telegram", "blocked", "deactivated"),
                Tr("compose-preview-options", "options", when="options"),
                Tr("compose-preview-auto-remind", "auto_remind", when="auto_remind"),
            ),
            Tr("quiet-starts", "time", when=F["time"] & F["sendable"]),
            Tr("compose-no-recipients", "audience", when=~F["sendable"]),
        ),
        Row(
            Button(Tr("compose-btn-send"), id="send", on_click=steps.on_send_now, when="sendable"),
            SwitchTo(
                Tr("compose-btn-schedule"),
                id="schedule",
                state=ComposeStates.schedule,
                when="sendable",
            ),
        ),
        Button(
            Tr("reach-btn-unreachable", "count"),
            id="unreachable",
            on_click=steps.on_unreachable,
            when="count",
        ),
        Button(Tr("compose-btn-draft"), id="draft", on_click=steps.on_save_draft),
        Row(
            Button(
                Tr("compose-btn-edit-content"), id="edit_content", on_click=steps.on_edit_content
            ),
            Button(
                Tr("compose-btn-edit-audience"), id="edit_audience", on_click=steps.on_edit_audience
            ),
        ),
        Row(
            SwitchTo(Tr("compose-btn-back"), id="back", state=ComposeStates.options),
            cancel_button(),
        ),
        state=ComposeStates.preview,
        getter=preview_getter,
    )


def schedule_window() -> Window:
    return Window(
        Tr("compose-step-schedule", "tz", "examples"),
        Row(
            Button(Tr("compose-btn-in-hour"), id="in_hour", on_click=schedule.on_in_one_hour),
            Button(
                Tr("compose-btn-tomorrow-morning"),
                id="tomorrow",
                on_click=schedule.on_tomorrow_morning,
            ),
        ),
        Row(
            SwitchTo(Tr("compose-btn-back"), id="back", state=ComposeStates.preview),
            cancel_button(),
        ),
        MessageInput(schedule.on_time_typed, content_types=ContentType.TEXT),
        state=ComposeStates.schedule,
        getter=schedule_getter,
    )


def compose_dialog() -> Dialog:
    """A fresh wizard for each Dispatcher (a dialog is a router and has one parent)."""
    return Dialog(
        audience_window(),
        pick_window(),
        custom_window(),
        who_window(),
        content_window(),
        options_window(),
        preview_window(),
        schedule_window(),
    )

"""The original service document's dict shapes, built from the typed results.

`docs/broadcast-service.md` describes the service this bot grew out of; its method names
and return shapes (the `get_progress` keys, the pagination envelope, the cancel and retry
answers, `create_broadcast_recipients_batch`'s counts) are a contract kept for anyone
who scripts against it. They are built here and nowhere else; the bot itself reads the
typed results. `DocumentedBroadcastService` answers the document's calls in its shapes,
with `task_id`s from the injected launcher; `.broadcasts` is the typed service behind it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import date
from typing import Any, TypeVar

from db.models import BroadcastStatus, RecipientStatus, TargetGroup
from services.broadcasts import DEFAULT_RETRY_ROUNDS, BroadcastService
from services.errors import NothingToRetry
from services.results import (
    BroadcastDetails,
    BroadcastSummary,
    Page,
    Progress,
    RecipientRow,
    RecipientsAdded,
    Stats,
)

Launcher = Callable[[int], Awaitable[str]]
"""Hands a broadcast now `sending` to the engine; returns the engine's task id."""

Item = TypeVar("Item")

TARGET_GROUP_DISPLAY: dict[TargetGroup, str] = {
    TargetGroup.ALL_STUDENTS: "Все студенты",
    TargetGroup.ALL_TEACHERS: "Все преподаватели",
    TargetGroup.ALL_TUTORS: "Все тьюторы",
    TargetGroup.ALL_PARENTS: "Все родители",
    TargetGroup.BY_CLASS: "По классу",
    TargetGroup.BY_SUBJECT: "По предмету",
    TargetGroup.BY_TUTOR: "По тьютору",
    TargetGroup.BY_TEACHER: "По преподавателю",
    TargetGroup.CUSTOM: "Выбранные пользователи",
}
STATUS_DISPLAY: dict[BroadcastStatus, str] = {
    BroadcastStatus.DRAFT: "Черновик",
    BroadcastStatus.SCHEDULED: "Запланирована",
    BroadcastStatus.SENDING: "Отправляется",
    BroadcastStatus.SENT: "Отправлена",
    BroadcastStatus.COMPLETED: "Завершена",
    BroadcastStatus.FAILED: "Ошибка",
    BroadcastStatus.CANCELLED: "Отменена",
}


def page_envelope(page: Page[Item], to_dict: Callable[[Item], Any]) -> dict[str, Any]:
    """The pagination envelope; next/previous are page numbers or None."""
    return {
        "count": page.count,
        "next": page.next,
        "previous": page.previous,
        "results": [to_dict(item) for item in page.items],
        "page": page.page,
        "page_size": page.page_size,
        "total_pages": page.total_pages,
    }


def summary_dict(summary: BroadcastSummary) -> dict[str, Any]:
    fields = asdict(summary)
    for bot_only in ("target_name", "reachable_now", "auto_remind_after_minutes", "kind"):
        del fields[bot_only]
    return {
        **fields,
        "target_group": summary.target_group.value,
        "target_group_display": TARGET_GROUP_DISPLAY[summary.target_group],
        "content_kind": summary.content_kind.value,
        "status": summary.status.value,
        "status_display": STATUS_DISPLAY[summary.status],
    }


def recipient_dict(row: RecipientRow) -> dict[str, Any]:
    fields = asdict(row)
    for extra in (
        "external_id",
        "role",
        "confirmed_at",
        "reminders",
        "edited_at",
        "deleted_at",
        "amend_error_code",
    ):
        del fields[extra]  # the bot's lists and the CSV show them; the document's shape has none
    return {**fields, "status": row.status.value}


def details_dict(details: BroadcastDetails) -> dict[str, Any]:
    """The detail fields plus the content; `recipients` is one page of recipients and
    `recipients_page` its envelope without the results."""
    envelope = page_envelope(details.recipients, recipient_dict)
    return {
        **summary_dict(details.summary),
        "entities": details.entities,
        "file_id": details.file_id,
        "target_name": details.summary.target_name,
        "recipients": envelope.pop("results"),
        "recipients_page": envelope,
    }


def progress_dict(progress: Progress) -> dict[str, Any]:
    return {**asdict(progress), "status": progress.status.value}


def batch_status_dict(progress: Progress) -> dict[str, Any]:
    """`get_batch_status`: the progress keys, with the id as `broadcast_id`."""
    fields = progress_dict(progress)
    return {"broadcast_id": fields.pop("id"), **fields}


def stats_dict(stats: Stats) -> dict[str, Any]:
    return {
        "status_distribution": {
            status.value: count for status, count in stats.status_distribution.items()
        },
        "total_broadcasts": stats.total_broadcasts,
        "total_recipients": stats.total_recipients,
        "failed_recipients": stats.failed_recipients,
        "failed_rate": stats.failed_rate,
        "finished_broadcasts": stats.finished_broadcasts,
        "average_processing_seconds": stats.average_processing_seconds,
    }


def recipients_added_dict(added: RecipientsAdded) -> dict[str, Any]:
    return {"success": not added.errors, **asdict(added)}


class DocumentedBroadcastService:
    """`BroadcastService` answering in the service document's shapes."""

    def __init__(self, broadcasts: BroadcastService, launcher: Launcher | None = None) -> None:
        self.broadcasts = broadcasts
        self._launcher = launcher

    async def send_now(self, broadcast_id: int) -> dict[str, Any]:
        """`start_sending`, then hand the broadcast to the engine through the launcher."""
        recipient_count = await self.broadcasts.start_sending(broadcast_id)
        return {
            "success": True,
            "broadcast_id": broadcast_id,
            "recipient_count": recipient_count,
            "task_id": await self._launch(broadcast_id),
        }

    async def cancel_broadcast(self, broadcast_id: int) -> dict[str, Any]:
        cancelled = await self.broadcasts.cancel_broadcast(broadcast_id)
        return {
            "success": True,
            "message": "Рассылка успешно отменена",
            "broadcast_id": broadcast_id,
            "cancelled_at": cancelled.cancelled_at,
        }

    async def retry_failed(
        self, broadcast_id: int, max_retries: int = DEFAULT_RETRY_ROUNDS
    ) -> dict[str, Any]:
        try:
            retried = await self.broadcasts.retry_failed(broadcast_id, max_retries)
        except NothingToRetry:
            return {
                "success": False,
                "message": "Нет получателей для повторной отправки",
                "retried_count": 0,
                "broadcast_id": broadcast_id,
                "task_id": None,
            }
        return {
            "success": True,
            "message": f"Повторная отправка запущена для {retried.retried_count} получателей",
            "retried_count": retried.retried_count,
            "broadcast_id": broadcast_id,
            "task_id": await self._launch(broadcast_id),
        }

    async def get_details(
        self, broadcast_id: int, recipients_page: int = 1, recipients_page_size: int = 20
    ) -> dict[str, Any]:
        return details_dict(
            await self.broadcasts.get_details(broadcast_id, recipients_page, recipients_page_size)
        )

    async def list_broadcasts(
        self,
        status: BroadcastStatus | str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        search: str | None = None,
        page: int = 1,
        page_size: int = 20,
        created_by_id: int | None = None,
    ) -> dict[str, Any]:
        found = await self.broadcasts.list_broadcasts(
            status, date_from, date_to, search, page, page_size, created_by_id
        )
        return page_envelope(found, summary_dict)

    async def get_progress(self, broadcast_id: int) -> dict[str, Any]:
        return progress_dict(await self.broadcasts.get_progress(broadcast_id))

    async def list_recipients(
        self,
        broadcast_id: int,
        status: RecipientStatus | str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> dict[str, Any]:
        found = await self.broadcasts.list_recipients(broadcast_id, status, page, page_size)
        return page_envelope(found, recipient_dict)

    async def get_stats(self) -> dict[str, Any]:
        return stats_dict(await self.broadcasts.get_stats())

    async def _launch(self, broadcast_id: int) -> str | None:
        return None if self._launcher is None else await self._launcher(broadcast_id)

"""One progress message per broadcast in the admin's chat, kept up to date.

A `ProgressReporter` listens to the `ProgressHub` for one broadcast and edits one message:
at most one edit every `PROGRESS_EDIT_INTERVAL` seconds, always one with the final
state. The chat and message ids are stored on the broadcast, and so is the language of
the admin whose chat it is in, so after a restart the resumed broadcast edits the same
message in the same language. It never answers a failed edit by sending a new message:
"message is not modified" is ignored, a 429 only delays the next edit. A cancelled
broadcast is followed until its snapshots stop `settling` (when no run of it publishes
here, until its stored lease is given up), so the message ends on the real counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from sqlalchemy import select, update

from db.models import Broadcast
from db.session import SessionFactory
from services.errors import BroadcastNotFound
from services.progress import (
    ProgressHub,
    ProgressSnapshot,
    ProgressSubscription,
    Render,
    Rendered,
    read_snapshot,
    render_plain,
)
from services.quiet_hours import QuietGate

logger = logging.getLogger(__name__)

SETTLE_POLL = 1.0
"""Seconds between two reads of a cancelled broadcast's stored progress while its
messages in flight are being recorded by a run that publishes nothing here."""


@dataclass(frozen=True, slots=True)
class ProgressMessage:
    """Where a broadcast's progress is shown, and in which language (None: the default)."""

    chat_id: int
    message_id: int
    language: str | None


class ProgressReporter:
    """Keeps one progress message per broadcast up to date in the admin's chat."""

    def __init__(
        self,
        bot: Bot,
        session_factory: SessionFactory,
        hub: ProgressHub,
        *,
        edit_interval: float,
        render: Render = render_plain,
        quiet: QuietGate | None = None,
    ) -> None:
        """`quiet`: the quiet hours a broadcast read from the database may be waiting for."""
        self._bot = bot
        self._quiet = quiet
        self._session_factory = session_factory
        self._hub = hub
        self._edit_interval = edit_interval
        self._render = render
        self._followers: dict[int, asyncio.Task[None]] = {}

    async def attach(self, broadcast_id: int, chat_id: int, language: str | None = None) -> int:
        """Post the progress message in `chat_id`, drawn in `language` (that chat's admin's;
        None: the default language), remember both on the broadcast and keep it updated;
        returns its message id. An earlier progress message of the broadcast (a retry
        posts a new one) loses its buttons: they act on a state that is gone."""
        earlier = await self._stored_message(broadcast_id)
        snapshot = await self._read(broadcast_id)
        text, markup = self._render(snapshot, language)
        message = await self._bot.send_message(chat_id, text, reply_markup=markup)
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(
                    progress_chat_id=chat_id,
                    progress_message_id=message.message_id,
                    progress_language=language,
                )
            )
        posted = ProgressMessage(chat_id, message.message_id, language)
        following = self._followers.get(broadcast_id)
        self._start(broadcast_id, posted, (text, markup))
        if earlier is not None and (earlier.chat_id, earlier.message_id) != (
            posted.chat_id,
            posted.message_id,
        ):
            if following is not None:  # stopped by _start: let it end before editing
                await asyncio.wait({following})
            await self._take_buttons_off(broadcast_id, earlier)
        return message.message_id

    async def follow(self, broadcast_id: int) -> bool:
        """Keep the broadcast's stored progress message updated (after a restart), in the
        language it was posted in.

        Returns False when the broadcast has no progress message."""
        stored = await self._stored_message(broadcast_id)
        if stored is None:
            return False
        self._start(broadcast_id, stored, None)
        return True

    async def _stored_message(self, broadcast_id: int) -> ProgressMessage | None:
        """Where the broadcast's progress message is, and its language, if it has one."""
        async with self._session_factory() as session:
            row = (
                await session.execute(
                    select(
                        Broadcast.progress_chat_id,
                        Broadcast.progress_message_id,
                        Broadcast.progress_language,
                    ).where(Broadcast.id == broadcast_id)
                )
            ).one_or_none()
        if row is None:
            raise BroadcastNotFound(broadcast_id)
        chat_id, message_id, language = row
        if chat_id is None or message_id is None:
            return None
        return ProgressMessage(chat_id, message_id, language)

    async def _take_buttons_off(self, broadcast_id: int, message: ProgressMessage) -> None:
        """Remove a superseded progress message's buttons; one that cannot be edited any
        more (deleted, too old, had none) is left as it is."""
        try:
            await self._bot.edit_message_reply_markup(
                chat_id=message.chat_id, message_id=message.message_id, reply_markup=None
            )
        except TelegramAPIError as error:
            logger.info("Earlier progress message of broadcast %s kept: %s", broadcast_id, error)

    async def snapshot(self, broadcast_id: int) -> ProgressSnapshot:
        """The broadcast's progress as stored, for a Refresh button or a command."""
        return await self._read(broadcast_id)

    async def _read(self, broadcast_id: int) -> ProgressSnapshot:
        return await read_snapshot(self._session_factory, broadcast_id, quiet=self._quiet)

    async def wait(self, broadcast_id: int) -> None:
        """Until the broadcast's message shows its final state (or following stopped)."""
        follower = self._followers.get(broadcast_id)
        if follower is not None:
            await asyncio.wait({follower})

    async def shutdown(self) -> None:
        followers = list(self._followers.values())
        for follower in followers:
            follower.cancel()
        await asyncio.gather(*followers, return_exceptions=True)

    def _start(self, broadcast_id: int, message: ProgressMessage, shown: Rendered | None) -> None:
        current = self._followers.get(broadcast_id)
        if current is not None and not current.done():
            current.cancel()
        follower = asyncio.create_task(
            self._follow(broadcast_id, message, shown),
            name=f"progress-{broadcast_id}",
        )
        self._followers[broadcast_id] = follower
        follower.add_done_callback(
            lambda task: (
                self._followers.pop(broadcast_id, None)
                if self._followers.get(broadcast_id) is task
                else None
            )
        )

    async def _follow(
        self, broadcast_id: int, message: ProgressMessage, shown: Rendered | None
    ) -> None:
        with self._hub.subscribe(broadcast_id) as subscription:
            # Read after subscribing, so no snapshot published in between is missed.
            snapshot: ProgressSnapshot | None = await self._read(broadcast_id)
            next_edit_at = time.monotonic() + (self._edit_interval if shown else 0.0)
            settling = False  # once a finished snapshot was shown that is not final yet
            while True:
                if snapshot is None:
                    snapshot = await self._next(subscription, settling=settling)
                delay = next_edit_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                snapshot = subscription.newest() or snapshot
                rendered = self._render(snapshot, message.language)
                if rendered != shown:
                    try:
                        await self._edit(message, rendered)
                    except TelegramRetryAfter as error:
                        next_edit_at = time.monotonic() + error.retry_after
                        continue
                    except TelegramBadRequest as error:
                        logger.warning("Progress message of broadcast %s: %s", broadcast_id, error)
                        return
                    except TelegramAPIError as error:
                        logger.warning(
                            "Progress edit of broadcast %s failed: %s", broadcast_id, error
                        )
                        next_edit_at = time.monotonic() + self._edit_interval
                        continue
                    shown = rendered
                    next_edit_at = time.monotonic() + self._edit_interval
                if snapshot.final:
                    return
                settling = snapshot.finished
                snapshot = None

    async def _next(
        self, subscription: ProgressSubscription, *, settling: bool
    ) -> ProgressSnapshot:
        """The next snapshot the run publishes. While a cancelled broadcast's messages in
        flight are being recorded (`settling`), the stored one if none comes within
        SETTLE_POLL seconds: the run may be another instance's, or have ended unheard."""
        if not settling:
            return await subscription.next()
        try:
            return await asyncio.wait_for(subscription.next(), SETTLE_POLL)
        except TimeoutError:
            return await self._read(subscription.broadcast_id)

    async def _edit(self, message: ProgressMessage, rendered: Rendered) -> None:
        text, markup = rendered
        try:
            await self._bot.edit_message_text(
                text=text,
                chat_id=message.chat_id,
                message_id=message.message_id,
                reply_markup=markup,
            )
        except TelegramBadRequest as error:
            if "message is not modified" not in error.message:
                raise

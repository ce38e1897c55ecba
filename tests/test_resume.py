"""Crash safety: the engine in a subprocess is killed with SIGKILL mid-send and started
again. Every recipient ends with exactly one recorded result, and the only messages sent
twice are ones that were in flight (sent, not yet recorded) at the kill, at most one per
worker. The killed engine's lease is short, so the next one takes over within seconds."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import select

from db.models import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus, User
from db.session import SessionFactory
from fake_bot_api import FakeBotAPI
from tests.conftest import TEST_TOKEN
from tests.sender_process import seed_broadcast, spawn_sender

RECIPIENTS = 600
WORKERS = 24
LEASE = 1.5


async def start_sender(database_url: str, api_url: str) -> asyncio.subprocess.Process:
    return await spawn_sender(database_url, api_url, rate=300, workers=WORKERS, lease=LEASE)


async def recorded_chats(session_factory: SessionFactory, broadcast_id: int) -> dict[int, str]:
    """Each recipient's chat and its recorded status."""
    async with session_factory() as session:
        rows = await session.execute(
            select(User.telegram_id, BroadcastRecipient.status)
            .join(User, User.id == BroadcastRecipient.recipient_id)
            .where(BroadcastRecipient.broadcast_id == broadcast_id)
        )
        return {chat: status.value for chat, status in rows.all() if chat is not None}


async def test_a_sender_killed_mid_send_resumes_and_loses_nobody(
    session_factory: SessionFactory, database_url: str
) -> None:
    async with FakeBotAPI(token=TEST_TOKEN, latency=0.05, per_chat_interval=1.0) as api:
        broadcast_id = await seed_broadcast(session_factory, RECIPIENTS, first_chat_id=30_000)
        first = await start_sender(database_url, api.url)
        await api.wait_for(lambda: len(api.delivered) >= RECIPIENTS // 4, timeout=60)
        first.kill()  # SIGKILL: no chance to flush anything
        await first.wait()
        await asyncio.sleep(0.2)  # requests the server was still answering land too
        delivered_at_kill = {d.chat_id for d in api.delivered}
        status_at_kill = await recorded_chats(session_factory, broadcast_id)
        recorded_at_kill = {chat for chat, status in status_at_kill.items() if status == "sent"}

        assert recorded_at_kill <= delivered_at_kill  # nothing counted that was not sent
        in_flight = delivered_at_kill - recorded_at_kill
        assert len(in_flight) <= WORKERS
        assert len(delivered_at_kill) < RECIPIENTS  # the kill really was mid-send

        second = await start_sender(database_url, api.url)
        output, _ = await asyncio.wait_for(second.communicate(), timeout=120)
        assert second.returncode == 0 and b"DONE" in output

        per_chat = Counter(d.chat_id for d in api.delivered)
    assert set(per_chat) == {30_000 + i for i in range(RECIPIENTS)}
    doubled = {chat for chat, count in per_chat.items() if count > 1}
    assert doubled <= in_flight and max(per_chat.values()) <= 2

    final = await recorded_chats(session_factory, broadcast_id)
    assert set(final.values()) == {RecipientStatus.SENT.value} and len(final) == RECIPIENTS
    async with session_factory() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        assert (broadcast.status, broadcast.sent_count, broadcast.failed_count) == (
            BroadcastStatus.SENT,
            RECIPIENTS,
            0,
        )

"""Two engine processes send a broadcast each, at the same time, through one Bot API
server, with their budget shared through the real Redis: the server never counts more
than SEND_RATE messages in any second and answers no 429 (each engine alone would send at
the full rate, so together they would draw 429s without Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import pytest

from fake_bot_api import FakeBotAPI
from services.limiter import MAX_JITTER_MARGIN
from tests.conftest import TEST_TOKEN
from tests.engine_processes import finished, running_engines
from tests.redis_db import REDIS_SERVER, server_answers

pytestmark = pytest.mark.skipif(
    not server_answers(), reason=f"Redis at {REDIS_SERVER} is not reachable"
)

RATE = 50
RECIPIENTS = 200  # per engine: 4 s alone at the full rate, 8 s for both sharing it
FIRST_CHAT_ID = 60_000


async def test_two_engines_sending_at_once_stay_within_one_rate(
    redis_url: str, tmp_path: Path
) -> None:
    async with FakeBotAPI(
        token=TEST_TOKEN, global_rate=RATE, per_chat_interval=1.0, latency=0.05
    ) as api:
        async with running_engines(
            tmp_path,
            api.url,
            count=2,
            recipients=RECIPIENTS,
            rate=RATE,
            first_chat_id=FIRST_CHAT_ID,
            redis_url=redis_url,
            namespace=f"test-flood:{{{uuid.uuid4().hex}}}",
            # The server shares the test's event loop: on a loaded machine a request can
            # reach it tens of ms after its grant; the widest margin covers that.
            jitter_margin=MAX_JITTER_MARGIN,
        ) as engines:
            await asyncio.wait_for(finished(engines), 180)
        stats = api.stats()
        delivered = list(api.delivered)

    assert stats["count_429"] == 0
    assert stats["max_rate_1s"] <= RATE
    per_chat = Counter(d.chat_id for d in delivered)
    assert set(per_chat) == set(range(FIRST_CHAT_ID, FIRST_CHAT_ID + 2 * RECIPIENTS))
    assert max(per_chat.values()) == 1
    # They really sent at the same time: for seconds, not one after the other.
    first_engine = [d.timestamp for d in delivered if d.chat_id < FIRST_CHAT_ID + RECIPIENTS]
    second_engine = [d.timestamp for d in delivered if d.chat_id >= FIRST_CHAT_ID + RECIPIENTS]
    overlap = min(first_engine[-1], second_engine[-1]) - max(first_engine[0], second_engine[0])
    assert overlap > 1.0

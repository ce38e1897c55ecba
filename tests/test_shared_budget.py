"""Two engine processes send a broadcast each, at the same time, through one Bot API
server, with their budget shared through the real Redis: together they send SEND_RATE
messages a second, not twice that, and a server that allows half as much again answers
no 429 (each engine alone would send at the full rate, so together they would draw 429s
without Redis).

Each second's own count is the limiter's to keep, and its tests check it at the grants
themselves (tests/test_shared_limiter.py). Here the server shares the test's event loop and
the machine with other test runs, so a request can reach it tens of ms after its grant and
two seconds' worth can meet in one of the server's windows: the end-to-end figures are the
average rate and the absence of 429s with that headroom, which sharing keeps whatever the
machine's load and which two engines that did not share would break at once."""

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
SERVER_RATE = RATE * 3 // 2  # headroom for requests that reach it late; two rates exceed it
RECIPIENTS = 200  # per engine: 4 s alone at the full rate, 8 s for both sharing it
FIRST_CHAT_ID = 60_000


async def test_two_engines_sending_at_once_stay_within_one_rate(
    redis_url: str, tmp_path: Path
) -> None:
    async with FakeBotAPI(
        token=TEST_TOKEN, global_rate=SERVER_RATE, per_chat_interval=1.0, latency=0.05
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
    took = delivered[-1].timestamp - delivered[0].timestamp
    assert len(delivered) / took <= RATE * 1.05  # one budget: alone, each sends at RATE
    per_chat = Counter(d.chat_id for d in delivered)
    assert set(per_chat) == set(range(FIRST_CHAT_ID, FIRST_CHAT_ID + 2 * RECIPIENTS))
    assert max(per_chat.values()) == 1
    # They really sent at the same time: for seconds, not one after the other.
    first_engine = [d.timestamp for d in delivered if d.chat_id < FIRST_CHAT_ID + RECIPIENTS]
    second_engine = [d.timestamp for d in delivered if d.chat_id >= FIRST_CHAT_ID + RECIPIENTS]
    overlap = min(first_engine[-1], second_engine[-1]) - max(first_engine[0], second_engine[0])
    assert overlap > 1.0

"""The flood budget shared through the real Redis: two limiter objects on connections of
their own stand for two instances of the bot. Together they keep the window and per-chat
guarantees, a reply on either goes ahead of the broadcast on both, a flood wait on one
holds the other, the margin is shared, every key expires,
and while Redis is down (refused, or not answering) each paces itself alone at the safe
rate, saying so once, and shares again once Redis is back. Last, the application builds
the shared limiter when REDIS_URL is set."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from bot.app import build_application
from fake_bot_api import FakeBotAPI
from services.shared_limiter import SharedRateLimiter, bot_namespace
from tests.bot_harness import harness_settings
from tests.redis_db import REDIS_SERVER, server_answers
from tests.test_limiter import Saturated, most_in_window

pytestmark = pytest.mark.skipif(
    not server_answers(), reason=f"Redis at {REDIS_SERVER} is not reachable"
)

LOGGER = "services.shared_limiter"


class Budget:
    """Limiters sharing one fresh namespace, and a client of its own to look at the keys."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.namespace = f"test-flood:{{{uuid.uuid4().hex}}}"
        self.redis = Redis.from_url(url, decode_responses=True)
        self.made: list[SharedRateLimiter] = []

    def limiter(self, rate: float, url: str | None = None, **options: Any) -> SharedRateLimiter:
        limiter = SharedRateLimiter.from_url(
            url or self.url, rate, namespace=self.namespace, **options
        )
        self.made.append(limiter)
        return limiter

    async def keys(self) -> list[str]:
        return [key async for key in self.redis.scan_iter(match=f"{self.namespace}:*")]

    async def state(self) -> dict[str, float]:
        values = await cast(
            Awaitable[dict[str, str]], self.redis.hgetall(f"{self.namespace}:state")
        )
        return {field: float(value) for field, value in values.items()}


@pytest.fixture
async def budget(redis_url: str) -> AsyncIterator[Budget]:
    budget = Budget(redis_url)
    yield budget
    for limiter in budget.made:
        await limiter.close()
    if keys := await budget.keys():
        await budget.redis.delete(*keys)
    await budget.redis.aclose()


async def grant_times(
    limiters: list[SharedRateLimiter],
    count: int,
    chat_of: Callable[[int], Hashable | None] = lambda i: None,
) -> list[float]:
    """Grant times of `count` concurrent acquires, taken in turn from each limiter."""
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one(i: int) -> None:
        await limiters[i % len(limiters)].acquire(chat_of(i))
        times.append(loop.time())

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(count))), 60)
    return sorted(times)


async def eventually(condition: Callable[[], bool], action: Callable[[], Any]) -> None:
    """Repeat `action` (awaited) until `condition` holds, for at most 20 s."""
    async with asyncio.timeout(20):
        while not condition():
            await action()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StallingProxy:
    """A TCP proxy to Redis that can stop answering: connections stay open, nothing is
    forwarded until `resume()`, as when a network path to Redis goes dark."""

    def __init__(self, redis_url: str) -> None:
        target = urlsplit(redis_url)
        self._target = (target.hostname or "127.0.0.1", target.port or 6379)
        self._path = target.path
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}{self._path}"

    def stall(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pump = asyncio.create_task(self._pump(source, sink))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        except OSError:
            pass  # the other side hung up
        finally:
            sink.close()


async def test_two_instances_together_never_exceed_the_rate_in_any_second(
    budget: Budget,
) -> None:
    first, second = budget.limiter(100), budget.limiter(100)
    times = await grant_times([first, second], 200)
    assert len(times) == 200
    # Two local limiters would grant about 200 in the first second.
    assert most_in_window(times, 1.0) <= 100
    assert most_in_window(times, 0.05) <= 10  # evenly spaced, not in bursts
    assert first.shared and second.shared


async def test_a_chat_gets_one_message_a_second_whichever_instance_sends(
    budget: Budget,
) -> None:
    first, second = budget.limiter(100), budget.limiter(100)
    loop = asyncio.get_running_loop()
    granted: list[tuple[str, float]] = []

    async def to(limiter: SharedRateLimiter, chat: int, label: str) -> None:
        await limiter.acquire(chat)
        granted.append((label, loop.time()))

    await asyncio.wait_for(
        asyncio.gather(
            to(first, 7, "a1"),
            to(second, 7, "a2"),
            to(first, 7, "a3"),
            *(to(second if i % 2 else first, 100 + i, f"other{i}") for i in range(10)),
        ),
        30,
    )
    same_chat = [at for label, at in granted if label.startswith("a")]
    others = [at for label, at in granted if label.startswith("other")]
    assert len(same_chat) == 3 and len(others) == 10
    assert max(others) < same_chat[1]  # the other chats did not wait for chat 7
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(same_chat))


async def test_a_flood_wait_on_one_instance_holds_the_other(budget: Budget) -> None:
    first, second = budget.limiter(1000), budget.limiter(1000)
    await asyncio.gather(first.acquire(), second.acquire())
    loop = asyncio.get_running_loop()

    paused_at = loop.time()
    first.pause(0.5)
    await first.acquire()  # this instance is held at once, before Redis has the pause
    assert loop.time() - paused_at >= 0.49

    first.pause(0.5)
    await first.flush()
    paused_at = loop.time()
    await asyncio.wait_for(asyncio.gather(second.acquire(), second.acquire(7)), 10)
    assert loop.time() - paused_at >= 0.45  # Redis's clock, not ours: a little slack


async def test_a_reply_on_one_instance_goes_ahead_of_the_broadcast_on_both(
    budget: Budget,
) -> None:
    first, second = budget.limiter(20), budget.limiter(20)
    saturated = Saturated([first, second], broadcast=70)
    await saturated.until_granted(10)  # dozens of bulk acquires queued on each instance
    await saturated.reply("on first", 1, on=0)
    await saturated.until_granted(30)
    await saturated.reply("on second", 2, on=1)
    await saturated.finish()

    # The next slot, or the one after when another instance's request for it was
    # already on its way to Redis (slots are 50 ms apart here).
    assert saturated.bulk_between("on first") <= 2
    assert saturated.bulk_between("on second") <= 2
    assert len(saturated.granted) == 72
    # Replies count toward the rate. (Seen here a round trip after Redis granted them,
    # later by a varying amount on a busy machine: 50 ms of slack.)
    assert most_in_window(saturated.times, 0.95) <= 20


async def test_a_reply_waiting_for_its_chat_does_not_hold_the_broadcast(budget: Budget) -> None:
    saturated = Saturated([budget.limiter(100, chat_interval=0.3)], broadcast=100)
    await saturated.until_granted(10)
    await saturated.reply("first", 1)
    await saturated.reply("second", 1)  # waits 0.3 s for chat 1, aside
    await saturated.finish()

    assert saturated.bulk_between("second") >= 1  # about 30 at 100/s
    granted = dict(saturated.granted)
    assert granted["second"] - granted["first"] >= 0.3 - 0.01  # Redis's clock: a little slack


async def test_a_reply_left_waiting_lapses_after_two_windows(budget: Budget) -> None:
    broadcast, replies = budget.limiter(1), budget.limiter(1)
    await broadcast.acquire(bulk=True)  # the next slot is a second away
    waiting = asyncio.create_task(replies.acquire(1))
    key = f"{budget.namespace}:replies"

    async def look() -> None:
        await asyncio.sleep(0.01)
        registered[:] = await budget.redis.zrange(key, 0, -1)

    registered: list[str] = []
    await eventually(lambda: bool(registered), look)
    waiting.cancel()  # its instance went away without asking again
    assert len(registered) == 1
    assert 0 < await budget.redis.pttl(key) <= 2 * 1010  # two windows of 1 s + 10 ms margin
    await asyncio.wait_for(broadcast.acquire(bulk=True), 10)  # once it has lapsed
    assert await budget.redis.zcard(key) == 0


async def test_flood_waits_widen_the_shared_margin_and_calm_narrows_it(budget: Budget) -> None:
    first = budget.limiter(30, jitter_margin=0.01, calm_period=0.3)
    second = budget.limiter(30, jitter_margin=0.01, calm_period=0.3)
    first.pause(0.2)
    await first.flush()
    second.pause(0.3)  # another answer to the same flood: no second step
    await second.flush()
    assert (await budget.state())["margin"] == pytest.approx(0.02)

    await second.acquire()  # after the flood wait
    first.pause(0.01)
    await first.flush()
    assert (await budget.state())["margin"] == pytest.approx(0.03)

    async def grant_and_look() -> None:
        await second.acquire()
        margins.append((await budget.state())["margin"])

    margins = [0.03]
    await eventually(lambda: margins[-1] < 0.03, grant_and_look)  # a calm period later
    assert margins[-1] == pytest.approx(0.025)


async def test_every_key_expires(budget: Budget) -> None:
    limiter = budget.limiter(100, chat_interval=1.0, idle_ttl=1.0)
    await grant_times([limiter], 30, chat_of=lambda i: i)
    limiter.pause(0.1)
    await limiter.flush()
    keys = await budget.keys()
    assert f"{budget.namespace}:state" in keys and f"{budget.namespace}:chat:29" in keys
    ttls = [await budget.redis.pttl(key) for key in keys]  # -2: expired meanwhile
    assert -1 not in ttls and max(ttls) <= 1500  # none without an expiry, none long

    async def look() -> None:
        await asyncio.sleep(0.1)
        keys[:] = await budget.keys()

    await eventually(lambda: not keys, look)


async def test_a_refused_redis_paces_the_instance_alone_at_half_the_rate(
    budget: Budget, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = budget.limiter(20, url=f"redis://127.0.0.1:{closed_port()}/0", probe_interval=0.2)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        limiter.pause(0)  # neither a flood wait nor a grant raises into the engine
        times = await grant_times([limiter], 15, chat_of=lambda i: i)
    assert len(times) == 15 and not limiter.shared
    assert most_in_window(times, 1.0) <= 10
    down = [r for r in caplog.records if "does not answer" in r.getMessage()]
    assert len(down) == 1 and "at 10/s" in down[0].getMessage()


async def test_a_redis_that_stops_answering_and_comes_back(
    budget: Budget, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = StallingProxy(redis_url)
    url = await proxy.start()
    limiter = budget.limiter(20, url=url, timeout=0.3, probe_interval=0.2)
    try:
        await limiter.acquire()
        assert limiter.shared
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            proxy.stall()
            times = await grant_times([limiter], 15)
            assert not limiter.shared
            assert len(times) == 15 and most_in_window(times, 1.0) <= 10

            proxy.resume()
            await eventually(lambda: limiter.shared, limiter.acquire)
            before = (await budget.state())["next_slot"]
            await limiter.acquire()
            assert (await budget.state())["next_slot"] > before  # booked in Redis again
        messages = [r.getMessage() for r in caplog.records]
        assert sum("does not answer" in m for m in messages) == 1
        assert sum("answers again" in m for m in messages) == 1
    finally:
        with contextlib.suppress(Exception):
            await limiter.close()
        await proxy.stop()


async def test_with_redis_url_the_application_shares_the_budget_of_its_bot(
    fake_api: FakeBotAPI, harness_database_url: str, redis_url: str
) -> None:
    settings = harness_settings(harness_database_url, fake_api.url, redis_url=redis_url)
    app = await build_application(settings)
    try:
        limiter = app.sender.limiter
        assert isinstance(limiter, SharedRateLimiter) and limiter is app.shared_limiter
        assert limiter.namespace == bot_namespace(123456) == "flood:{123456}"
        await app.bot.send_message(1000, "paced through Redis")
        assert limiter.shared
    finally:
        await app.close()
        await app.dispatcher.storage.close()
    assert [d.chat_id for d in fake_api.delivered] == [1000]

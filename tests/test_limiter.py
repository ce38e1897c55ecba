"""The shared flood limiter: the window guarantee, pauses, per-chat spacing, replies taking
the next slot ahead of a broadcast, the session middleware that paces the bot's own
messages (against the fake Bot API), and the assembled application keeping Telegram's
real 1 s between two messages to one chat."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    EditMessageText,
    GetMe,
    SendChatAction,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType

from fake_bot_api import FakeBotAPI
from services.limiter import (
    CHAT_INTERVAL,
    MAX_JITTER_MARGIN,
    Limiter,
    RateLimiter,
    already_granted,
    in_background,
    is_paced,
)
from tests.bot_harness import ADMIN_ID, harness_settings, start_harness, stop_harness
from tests.conftest import TEST_TOKEN
from tests.sender_process import make_bot


def most_in_window(times: list[float], window: float) -> int:
    start = best = 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def grant_times(limiter: RateLimiter, count: int, chat_of=lambda i: None) -> list[float]:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one(i: int) -> None:
        await limiter.acquire(chat_of(i))
        times.append(loop.time())

    await asyncio.gather(*(one(i) for i in range(count)))
    return sorted(times)


async def test_no_window_of_one_second_holds_more_than_the_rate() -> None:
    times = await grant_times(RateLimiter(100), 160)
    assert len(times) == 160
    assert most_in_window(times, 1.0) <= 100
    # Evenly spaced, not in bursts: no 50 ms holds more than a few grants.
    assert most_in_window(times, 0.05) <= 7


async def test_a_fractional_rate_rounds_down_to_whole_messages_per_second() -> None:
    times = await grant_times(RateLimiter(4.5), 6)
    assert len(times) == 6
    assert most_in_window(times, 1.0) <= 4


async def test_pause_holds_every_grant_until_it_ends() -> None:
    limiter = RateLimiter(1000)
    loop = asyncio.get_running_loop()
    await limiter.acquire()
    limiter.pause(0.3)
    paused_at = loop.time()
    assert limiter.paused_for > 0.2
    await asyncio.gather(limiter.acquire(), limiter.acquire(7))
    assert loop.time() - paused_at >= 0.29
    assert limiter.paused_for == 0


async def test_one_chat_waits_its_interval_while_others_go_ahead() -> None:
    limiter = RateLimiter(1000, chat_interval=0.2)
    loop = asyncio.get_running_loop()
    granted: list[tuple[str, float]] = []

    async def to(chat: int, label: str) -> None:
        await limiter.acquire(chat)
        granted.append((label, loop.time()))

    await asyncio.gather(to(1, "a1"), to(1, "a2"), to(1, "a3"), to(2, "b1"), to(3, "c1"))
    order = [label for label, _ in granted]
    assert order.index("b1") < order.index("a2") and order.index("c1") < order.index("a2")
    same_chat = [at for label, at in granted if label.startswith("a")]
    assert all(later - earlier >= 0.2 for earlier, later in itertools.pairwise(same_chat))


async def test_chats_are_forgotten_once_their_interval_has_passed() -> None:
    limiter = RateLimiter(10_000, chat_interval=0.02, jitter_margin=0)
    await grant_times(limiter, 3000, chat_of=lambda i: i)
    assert limiter.tracked_chats < 1000


class Saturated:
    """A broadcast keeping limiters busy (the instances of one budget, or one limiter):
    `bulk` acquires queued for every slot, each to a chat of its own, taken in turn from
    each limiter, and replies asked for in between; `granted` is the order of all grants,
    with each one's time."""

    def __init__(self, limiters: list[Limiter], broadcast: int) -> None:
        self.limiters = limiters
        self.granted: list[tuple[str, float]] = []
        self.asked_after: dict[str, int] = {}  # reply -> how many grants came before it asked
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Condition()
        self._broadcast = [
            asyncio.create_task(
                self._one(limiters[i % len(limiters)], f"bulk{i}", 10_000 + i, bulk=True)
            )
            for i in range(broadcast)
        ]

    async def _one(self, limiter: Limiter, label: str, chat: int, *, bulk: bool) -> None:
        await limiter.acquire(chat, bulk=bulk)
        self.granted.append((label, self._loop.time()))
        async with self._changed:
            self._changed.notify_all()

    async def reply(self, label: str, chat: int, *, on: int = 0) -> None:
        """A reply to `chat` from limiter number `on`."""
        self.asked_after[label] = len(self.granted)
        await self._one(self.limiters[on], label, chat, bulk=False)

    async def until_granted(self, count: int) -> None:
        async with asyncio.timeout(30), self._changed:
            await self._changed.wait_for(lambda: len(self.granted) >= count)

    async def finish(self) -> None:
        await asyncio.wait_for(asyncio.gather(*self._broadcast), 30)

    def bulk_between(self, label: str) -> int:
        """Broadcast grants between the reply's asking and its grant."""
        order = [name for name, _ in self.granted]
        between = order[self.asked_after[label] : order.index(label)]
        return sum(name.startswith("bulk") for name in between)

    @property
    def times(self) -> list[float]:
        return sorted(at for _, at in self.granted)


async def test_a_reply_takes_the_next_slot_ahead_of_the_queued_broadcast() -> None:
    saturated = Saturated([RateLimiter(100)], broadcast=150)
    await saturated.until_granted(20)  # under way, dozens of bulk acquires queued
    await saturated.reply("reply", 1)
    await saturated.until_granted(60)
    await asyncio.gather(*(saturated.reply(f"reply{i}", 2 + i) for i in range(3)))
    await saturated.finish()

    assert saturated.bulk_between("reply") == 0
    assert [saturated.bulk_between(f"reply{i}") for i in range(3)] == [0, 0, 0]
    # They count toward the same rate: no second holds more than 100 grants of any kind.
    assert len(saturated.granted) == 154
    assert most_in_window(saturated.times, 1.0) <= 100


async def test_a_reply_waiting_for_its_chat_holds_the_broadcast_up_no_longer() -> None:
    saturated = Saturated([RateLimiter(100, chat_interval=0.3)], broadcast=100)
    await saturated.until_granted(10)
    await saturated.reply("first", 1)
    await saturated.reply("second", 1)  # waits 0.3 s for chat 1, aside
    await saturated.finish()

    assert saturated.bulk_between("first") == 0
    # The broadcast went on while it waited (about 30 grants at 100/s): had the reply
    # waited in the queue, the broadcast would have yielded it every slot meanwhile.
    assert saturated.bulk_between("second") >= 1
    second = dict(saturated.granted)
    assert second["second"] - second["first"] >= 0.3


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        RateLimiter(0)


def test_only_messages_and_edits_are_paced() -> None:
    assert is_paced(SendMessage(chat_id=1, text="hi"))
    assert is_paced(SendPhoto(chat_id=1, photo="file"))
    assert is_paced(CopyMessage(chat_id=1, from_chat_id=2, message_id=3))
    assert is_paced(EditMessageText(chat_id=1, message_id=2, text="hi"))
    assert not is_paced(SendChatAction(chat_id=1, action="typing"))
    assert not is_paced(GetMe())
    assert not is_paced(AnswerCallbackQuery(callback_query_id="1"))


async def test_the_bots_own_messages_wait_for_the_shared_budget() -> None:
    async with FakeBotAPI(token=TEST_TOKEN, global_rate=5, per_chat_interval=1.0) as api:
        # The server shares this event loop: on a loaded machine a request reaches it tens
        # of ms after its grant, more than the default 10 ms margin; the widest one covers it.
        limiter = RateLimiter(5, jitter_margin=MAX_JITTER_MARGIN)
        bot = make_bot(api.url, limiter)
        try:
            await asyncio.gather(
                *(bot.send_message(1000, f"reply {i}") for i in range(3)),
                *(bot.send_message(2000 + i, "hello") for i in range(5)),
            )
            message = await bot.send_message(3000, "progress")
            await bot.edit_message_text("progress 2", chat_id=3000, message_id=message.message_id)
        finally:
            await bot.session.close()
        assert api.count_429() == 0
        assert len(api.delivered) == 9 and len(api.edits) == 1
        to_admin = [d.timestamp for d in api.messages_to(1000)]
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(to_admin))


async def test_the_assembled_bot_replies_to_one_chat_at_most_once_a_second(
    harness_database_url: str,
) -> None:
    """The conversation tests run with a shorter chat interval; this one builds the
    application as production does and times each reply as it leaves the limiter, inside
    the bot's own session. (The server's arrival times also carry the machine's
    scheduling jitter, so its check is looser: half the interval, still far more than
    unpaced replies get.)"""
    assert CHAT_INTERVAL == 1.0
    async with FakeBotAPI(token=TEST_TOKEN, per_chat_interval=CHAT_INTERVAL / 2) as api:
        settings = harness_settings(harness_database_url, api.url)
        harness, polling = await start_harness(api, settings, chat_interval=None)
        sent_at: list[float] = []

        async def record(
            make_request: NextRequestMiddlewareType[TelegramType],
            bot: Bot,
            method: TelegramMethod[TelegramType],
        ) -> Response[TelegramType]:
            if isinstance(method, SendMessage) and method.chat_id == ADMIN_ID:
                sent_at.append(time.monotonic())  # the limiter's clock
            return await make_request(bot, method)

        harness.app.bot.session.middleware(record)  # inside the limiter's middleware
        try:
            for _ in range(3):
                assert len(await harness.send(ADMIN_ID, "/help")) == 1
            assert len(await harness.send(555, "/help")) == 1
        finally:
            await stop_harness(harness, polling)
        assert api.count_429() == 0
        assert len(api.messages_to(ADMIN_ID)) == 3 and len(sent_at) == 3
        assert all(b - a >= CHAT_INTERVAL for a, b in itertools.pairwise(sent_at))


async def test_a_request_already_granted_skips_the_middleware() -> None:
    async with FakeBotAPI(token=TEST_TOKEN) as api:
        limiter = RateLimiter(5)
        bot = make_bot(api.url, limiter)
        limiter.pause(60)
        try:
            with already_granted():
                await asyncio.wait_for(bot.send_message(1, "paced by the caller"), 5)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(bot.send_message(2, "waits for the pause"), 0.2)
        finally:
            await bot.session.close()
        assert [d.chat_id for d in api.delivered] == [1]


async def test_a_flood_wait_one_of_the_bots_messages_meets_pauses_everyone() -> None:
    """Granting on into Telegram's wait would lengthen it with every request (a storm of
    "Confirmed" edits turned one 429 into a thousand): the middleware pauses the limiter."""
    async with FakeBotAPI(token=TEST_TOKEN, global_rate=1, retry_after=5) as api:
        limiter = RateLimiter(30)  # faster than this server accepts
        bot = make_bot(api.url, limiter)
        try:
            await bot.send_message(1, "accepted")
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(2, "refused: retry after 5")
            assert limiter.paused_for > 4
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(bot.send_message(3, "waits for the pause"), 0.3)
        finally:
            await bot.session.close()
        assert api.count_429() == 1
        assert [d.chat_id for d in api.delivered] == [1]


async def test_requests_in_background_queue_behind_the_others_one_at_a_time() -> None:
    """Fifty messages that can wait, then ten that cannot: the ten go out one after the
    other, once the few background ones already granted are out, not behind the fifty."""
    async with FakeBotAPI(token=TEST_TOKEN) as api:
        limiter = RateLimiter(100, chat_interval=0)
        bot = make_bot(api.url, limiter)

        async def background(chat_id: int) -> None:
            with in_background():
                await bot.send_message(chat_id, "can wait")

        try:
            waiting = [asyncio.create_task(background(5000 + i)) for i in range(50)]
            await asyncio.sleep(0)  # they are all in line first
            await asyncio.gather(*(bot.send_message(6000 + i, "now") for i in range(10)))
            await asyncio.gather(*waiting)
        finally:
            await bot.session.close()
        order = [d.chat_id for d in api.delivered]
        assert len(order) == 60
        first = order.index(6000)
        assert first < 10, str(order[:30])  # the few already granted before they came
        assert order[first : first + 10] == list(range(6000, 6010)), str(order[:30])


async def test_each_flood_wait_widens_the_margin_and_calm_narrows_it() -> None:
    now = [100.0]
    limiter = RateLimiter(30, jitter_margin=0.01, clock=lambda: now[0])
    limiter.pause(1)
    limiter.pause(3)  # another answer to the same flood: no second step
    assert limiter.margin == pytest.approx(0.02)
    for _ in range(20):
        now[0] += 5
        limiter.pause(1)
    assert limiter.margin == pytest.approx(0.1)
    now[0] += 61  # a calm minute later
    await limiter.acquire()
    assert limiter.margin == pytest.approx(0.095)

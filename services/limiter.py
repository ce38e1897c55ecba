"""One flood-control budget for everything the bot sends.

Telegram accepts about `SEND_RATE` messages per second from a bot (30 for free
broadcasts, up to 1000 with paid ones) and one message per second to the same chat;
going faster earns 429 answers with ever longer waits. Every message the bot sends
(broadcasts, progress edits, replies) draws from this one process-wide `RateLimiter`.

There are two ways in, and every request takes exactly one of them:

* The broadcast engine calls `acquire(chat_id)` itself before each send (so a cancelled
  broadcast can stop waiting without leaving a request half-sent), then makes the
  request inside `already_granted()`.
* Everything else goes through `RateLimitMiddleware`, registered once on the bot's
  session: `bot.session.middleware(RateLimitMiddleware(limiter))`. It paces every
  message-sending or editing method unless the caller already holds a grant, and a 429
  one of them gets pauses the limiter, as the engine does after its own. Requests that
  can wait (`in_background()`) queue behind the others one at a time.

Replies go first. The engine's acquires are `bulk`: while a broadcast keeps the budget
busy, its workers queue for every slot, and a reply to an admin (a command's answer, a
wizard step, a button's edit) queued behind them would wait a second or more. So bulk
requests yield: whenever any other request is waiting for a slot, it gets the next one,
and the broadcast the slots after it. Replies count toward the same rate and per-chat
interval; a reply waiting for its chat's interval waits aside and holds nobody up.

Grants are evenly spaced and, as a hard guarantee, no more than `floor(rate)` grants
fall into any window of 1 s (1 / rate for rates below 1) plus a margin. The margin
absorbs the difference between the moment a request is granted here and the moment it
reaches Telegram, so the server never counts more than `rate` in any 1 s window. By
default it is 10 ms up to 30/s (29.7/s at 30) and 40 ms above (961/s at 1000): more
requests per second mean more chances for one to arrive early, and a flood wait at that
rate is far more expensive (every request already in flight when the first 429 comes
lengthens Telegram's wait). Each flood wait (`pause`) widens the margin by its starting
value, up to 100 ms; every minute without one narrows it again. Long garbage-collector
pauses between a grant and its request were the main source of that jitter here: a
long-running process should call `gc.freeze()` once its imports are done.

Several instances of the bot (a rolling deploy, a load balancer) share one budget through
Redis instead: `services.shared_limiter.SharedRateLimiter`, the other `Limiter`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods.base import TelegramMethod, TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response

FREE_RATE = 30
MAX_JITTER_MARGIN = 0.1
CALM_PERIOD = 60.0  # seconds without a flood wait before the margin narrows a step
CHAT_INTERVAL = 1.0
# How far the even schedule may lag behind real time before it is reset: a late wake-up
# may be made up for, a long idle period may not turn into a burst.
MAX_LAG = 0.02

_granted: ContextVar[bool] = ContextVar("rate_limit_granted", default=False)
_background: ContextVar[bool] = ContextVar("rate_limit_background", default=False)


class Limiter(Protocol):
    """What the engine and the middleware draw on: this process's `RateLimiter`, or the
    budget shared by every instance of the bot (`SharedRateLimiter`)."""

    rate: float

    async def acquire(self, chat_id: Hashable | None = None, *, bulk: bool = False) -> None: ...

    def pause(self, seconds: float) -> None: ...


def default_margin(rate: float) -> float:
    """The jitter margin a rate starts with (see the module docstring)."""
    return 0.01 if rate <= FREE_RATE else 0.04


class RateLimiter:
    """Paces requests to `rate` per second overall and one per `chat_interval` per chat."""

    def __init__(
        self,
        rate: float,
        *,
        chat_interval: float = CHAT_INTERVAL,
        jitter_margin: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = rate
        self._clock = clock
        self._per_window = max(1, math.floor(rate))
        if jitter_margin is None:
            jitter_margin = default_margin(rate)
        self._base_margin = jitter_margin
        self._set_margin(jitter_margin)
        self._calm_since = clock()
        self._recent: deque[float] = deque(maxlen=self._per_window)
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._chat_interval = chat_interval + jitter_margin
        # chat -> time of its last grant, oldest first; entries older than the interval go.
        self._chat_last: dict[Hashable, float] = {}
        # Two queues, FIFO each: the holder of a lane's lock is the next of its kind to be
        # granted. "Replies" are every request that is not bulk; the bulk lane yields
        # while any of them is waiting for a slot.
        self._bulk_lane = asyncio.Lock()
        self._reply_lane = asyncio.Lock()
        self._replies_waiting = 0
        self._no_replies = asyncio.Event()
        self._no_replies.set()

    @property
    def margin(self) -> float:
        return self._margin

    def pause(self, seconds: float) -> None:
        """Grant nothing for `seconds` from now (after a 429's retry_after)."""
        now = self._clock()
        if now >= self._paused_until:  # a new flood wait, not another answer to the last one
            self._set_margin(min(self._margin + self._base_margin, MAX_JITTER_MARGIN))
        self._paused_until = max(self._paused_until, now + seconds)
        self._calm_since = self._paused_until

    def _set_margin(self, margin: float) -> None:
        self._margin = margin
        self._window = max(1.0, 1 / self.rate) + margin
        self._spacing = self._window / self._per_window

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    @property
    def tracked_chats(self) -> int:
        """Chats whose last grant is recent enough to matter (older ones are forgotten)."""
        return len(self._chat_last)

    async def acquire(self, chat_id: Hashable | None = None, *, bulk: bool = False) -> None:
        """Wait until one more request (to `chat_id`, if given) may start now. A `bulk`
        request (a broadcast's) lets every other one waiting for a slot go first."""
        while True:
            if chat_id is not None and (wait := self._chat_wait(chat_id, self._clock())) > 0:
                await asyncio.sleep(wait)
            if bulk:
                async with self._bulk_lane:
                    granted = await self._take_slot(chat_id, bulk=True)
            else:
                self._replies_waiting += 1
                self._no_replies.clear()
                try:
                    async with self._reply_lane:
                        granted = await self._take_slot(chat_id, bulk=False)
                finally:
                    self._replies_waiting -= 1
                    if not self._replies_waiting:
                        self._no_replies.set()
            if granted:
                return

    async def _take_slot(self, chat_id: Hashable | None, *, bulk: bool) -> bool:
        """Wait for the next slot and take it; False if the chat is not ready any more
        (another request to it was granted meanwhile)."""
        while True:  # the ready time may move while sleeping (a pause, a reply's grant)
            if bulk and self._replies_waiting:
                await self._no_replies.wait()
                continue
            delay = self._ready_at() - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            now = self._clock()
            if chat_id is not None and self._chat_wait(chat_id, now) > 0:
                return False
            self._grant(now, chat_id)
            return True

    def _ready_at(self) -> float:
        ready = max(self._next_slot, self._paused_until)
        if len(self._recent) == self._per_window:
            ready = max(ready, self._recent[0] + self._window)
        return ready

    def _chat_wait(self, chat_id: Hashable, now: float) -> float:
        last = self._chat_last.get(chat_id)
        return 0.0 if last is None else last + self._chat_interval - now

    def _grant(self, now: float, chat_id: Hashable | None) -> None:
        if now - self._calm_since >= CALM_PERIOD and self._margin > self._base_margin:
            self._set_margin(max(self._base_margin, self._margin - self._base_margin / 2))
            self._calm_since = now
        self._recent.append(now)
        self._next_slot = max(self._next_slot, now - MAX_LAG) + self._spacing
        if chat_id is None:
            return
        chats = self._chat_last
        chats.pop(chat_id, None)
        chats[chat_id] = now
        cutoff = now - self._chat_interval
        while (oldest := next(iter(chats))) != chat_id and chats[oldest] <= cutoff:
            del chats[oldest]


@contextlib.contextmanager
def already_granted() -> Iterator[None]:
    """Requests made inside were paced by the caller: the middleware lets them through."""
    token = _granted.set(True)
    try:
        yield
    finally:
        _granted.reset(token)


@contextlib.contextmanager
def in_background() -> Iterator[None]:
    """Requests made inside can wait: they queue as bulk requests, behind replies and in
    line with a broadcast's workers, one at a time, so however many there are (a storm of
    "Confirmed" edits) they take at most one grant in W + 1 from a broadcast's W workers
    instead of crowding them out of the line."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


_UNPACED_METHODS = frozenset({"sendChatAction"})


def is_paced(method: TelegramMethod[Any]) -> bool:
    """Whether a Bot API method sends or edits a message (and so counts toward the limits)."""
    name = method.__api_method__
    return name.startswith(("send", "copy", "forward", "edit")) and name not in _UNPACED_METHODS


class RateLimitMiddleware(BaseRequestMiddleware):
    """Makes the bot's own messages and edits wait for the shared limiter, and a flood
    wait one of them meets pause it for everyone."""

    def __init__(self, limiter: Limiter) -> None:
        self._limiter = limiter
        self._background_turn = asyncio.Lock()  # one request `in_background()` in line

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if _granted.get() or not is_paced(method):
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        if _background.get():  # in the broadcast's line, not ahead of it
            async with self._background_turn:
                await self._limiter.acquire(chat_id, bulk=True)
        else:
            await self._limiter.acquire(chat_id)
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as error:
            # Telegram's wait holds for every request: go on granting and each one
            # lengthens it (the engine pauses the same way for its own sends).
            self._limiter.pause(error.retry_after)
            raise

"""One flood budget for every instance of the bot, kept in Redis.

Telegram counts a bot's messages per bot, not per process: two instances of the bot (a
rolling deploy, several behind a load balancer) with a `RateLimiter` each send at twice
`SEND_RATE` together and draw 429s. `SharedRateLimiter` keeps the budget in Redis
instead, under keys named after the bot's id (never its token), and has the same shape
as `RateLimiter` (`acquire(chat_id)`, `pause(seconds)`, `rate`), so the engine and
`RateLimitMiddleware` use either.

Each grant is one round trip: a Lua script (`_RESERVE`) books the next free slot on
Redis's clock, atomically for all instances. Slots are at least `spacing` apart (floor(rate)
slots per window of 1 s plus the jitter margin, so no window of 1 s ever holds more than
`rate` of them), a chat's slots at least 1 s plus the margin apart, none before a flood
wait ends; the script answers how long to sleep until the booked slot. While a chat or a
flood wait is not ready it books nothing and answers how long to wait before asking again.
A 429 (`pause`) holds this instance at once and is written to Redis (`_PAUSE`) for the
others; like the local limiter, each new flood wait widens the shared margin a step and a
calm minute narrows it. An instance books at most `MAX_LEAD` seconds of its rate ahead, so
the others learn about a flood wait within that much. Every instance books with its own
`SEND_RATE`, so they should all run with the same one.

Every key expires: a chat's once its interval has passed, the budget's state a minute
after its last slot or flood wait. If Redis fails (refused, timed out) the instance paces
itself with its own `RateLimiter` at a safe rate (half of `SEND_RATE` by default, since
other instances may still be sending), says so once in the log, tries Redis again every
`PROBE_INTERVAL` and says so once more when it is back. Nothing of it raises into the
engine.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from services.limiter import (
    CALM_PERIOD,
    CHAT_INTERVAL,
    MAX_JITTER_MARGIN,
    RateLimiter,
    default_margin,
)

logger = logging.getLogger(__name__)

REDIS_TIMEOUT = 1.0  # seconds a Redis call may take before the instance paces itself alone
PROBE_INTERVAL = 1.0  # seconds between two tries of Redis while it is down
MAX_LEAD = 0.25  # seconds of the rate an instance may have booked ahead

_LUA_HELPERS = """
local function micros(seconds) return math.floor(seconds * 1000000 + 0.5) end
local function millis(seconds) return math.max(1, math.ceil(seconds * 1000)) end
local function fmt(seconds) return string.format('%.6f', seconds) end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
"""

# KEYS: the budget's state (a hash), and the chat's last slot when the grant is for a chat.
# ARGV: slots per window, the window without margin, the base margin, the calm period,
# the chat interval (with margin), the state's idle expiry; all in seconds.
# Answers {1, µs until the booked slot} or {0, µs to wait before asking again}.
_RESERVE = (
    _LUA_HELPERS
    + """
local per_window, min_window, base_margin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local calm_period, chat_interval, idle_ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local state = redis.call('HMGET', KEYS[1], 'next_slot', 'paused_until', 'margin', 'calm_since')
local paused_until = tonumber(state[2]) or 0
if paused_until > now then return {0, micros(paused_until - now)} end
local slot = math.max(tonumber(state[1]) or 0, now)
if KEYS[2] then
  local last = tonumber(redis.call('GET', KEYS[2]))
  if last and last + chat_interval > slot then return {0, micros(last + chat_interval - now)} end
end
local margin = tonumber(state[3]) or base_margin
local calm_since = tonumber(state[4]) or slot
if slot - calm_since >= calm_period and margin > base_margin then
  margin = math.max(base_margin, margin - base_margin / 2)
  calm_since = slot
end
local spacing = (min_window + margin) / per_window
redis.call('HSET', KEYS[1], 'next_slot', fmt(slot + spacing), 'margin', fmt(margin),
  'calm_since', fmt(calm_since))
redis.call('PEXPIRE', KEYS[1], millis(slot - now + idle_ttl))
if KEYS[2] then redis.call('SET', KEYS[2], fmt(slot), 'PX', millis(slot - now + chat_interval)) end
return {1, micros(slot - now)}
"""
)

# KEYS: the budget's state. ARGV: the flood wait, the base and the widest margin, the
# state's idle expiry; all in seconds.
_PAUSE = (
    _LUA_HELPERS
    + """
local seconds, base_margin = tonumber(ARGV[1]), tonumber(ARGV[2])
local max_margin, idle_ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'paused_until', 'margin')
local paused_until = tonumber(state[1]) or 0
local margin = tonumber(state[2]) or base_margin
if now >= paused_until then margin = math.min(margin + base_margin, max_margin) end
paused_until = math.max(paused_until, now + seconds)
redis.call('HSET', KEYS[1], 'paused_until', fmt(paused_until), 'margin', fmt(margin),
  'calm_since', fmt(paused_until))
redis.call('PEXPIRE', KEYS[1], millis(paused_until - now + idle_ttl))
return 1
"""
)


def bot_namespace(bot_id: int) -> str:
    """The keys of one bot's budget (the braces keep them on one Redis Cluster node)."""
    return f"flood:{{{bot_id}}}"


@dataclass(frozen=True, slots=True)
class _Booking:
    granted: bool  # a slot is booked: send after `wait`; else ask again after `wait`
    wait: float


class SharedRateLimiter:
    """Paces requests to `rate` per second and one per chat interval per chat, counted
    over every instance that shares the `namespace` in Redis."""

    def __init__(
        self,
        redis: Redis,
        rate: float,
        *,
        namespace: str,
        chat_interval: float = CHAT_INTERVAL,
        jitter_margin: float | None = None,
        fallback_rate: float | None = None,
        calm_period: float = CALM_PERIOD,
        idle_ttl: float = CALM_PERIOD,
        probe_interval: float = PROBE_INTERVAL,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = rate
        self.namespace = namespace
        self._redis = redis
        self._local = RateLimiter(fallback_rate or rate / 2, chat_interval=chat_interval)
        margin = default_margin(rate) if jitter_margin is None else jitter_margin
        self._reserve_args = (
            max(1, math.floor(rate)),
            max(1.0, 1 / rate),
            margin,
            calm_period,
            chat_interval + margin,
            idle_ttl,
        )
        self._pause_args = (margin, MAX_JITTER_MARGIN, idle_ttl)
        self._state_key = f"{namespace}:state"
        self._reserve: AsyncScript = redis.register_script(_RESERVE)
        self._pause: AsyncScript = redis.register_script(_PAUSE)
        self._booking = asyncio.Semaphore(max(1, math.ceil(rate * MAX_LEAD)))
        self._probe_interval = probe_interval
        self._last_failure: float | None = None  # while Redis is down: when it last failed
        self._probing = False
        self._writes: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_url(
        cls, url: str, rate: float, *, timeout: float = REDIS_TIMEOUT, **options: Any
    ) -> SharedRateLimiter:
        """A limiter on its own connections to `url`; a call that fails or takes longer
        than `timeout` is not retried but makes the instance pace itself alone."""
        redis = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        return cls(redis, rate, **options)

    @property
    def shared(self) -> bool:
        """Whether grants come from Redis now (False while it is down)."""
        return self._last_failure is None

    def pause(self, seconds: float) -> None:
        """Grant nothing for `seconds` from now (after a 429's retry_after), here at once
        and on every instance as soon as Redis has it."""
        self._local.pause(seconds)
        if self.shared:
            task = asyncio.create_task(
                self._call(self._pause, [self._state_key], seconds, *self._pause_args)
            )
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def acquire(self, chat_id: Hashable | None = None) -> None:
        """Wait until one more request (to `chat_id`, if given) may start now."""
        while True:
            if (paused := self._local.paused_for) > 0:  # before Redis has this flood wait
                await asyncio.sleep(paused)
                continue
            probe = not self.shared
            if probe and not self._probe_due():
                break
            async with self._booking:
                if not (self.shared or probe):
                    break  # Redis went down while this grant waited for its turn
                booking = await self._book(chat_id, probe)
                if booking is None:
                    break
                if booking.granted:
                    await asyncio.sleep(booking.wait)
            if not booking.granted:
                await asyncio.sleep(booking.wait)
            elif self._local.paused_for == 0:
                return
            # else a flood wait began while this slot was coming: book another after it
        await self._local.acquire(chat_id)

    async def flush(self) -> None:
        """Until every flood wait given so far has been written to Redis (or given up)."""
        if self._writes:
            await asyncio.wait(set(self._writes))

    async def close(self) -> None:
        await self.flush()
        await self._redis.aclose()

    def _probe_due(self) -> bool:
        """While Redis is down, one grant every `probe_interval` tries it again."""
        last_failure = self._last_failure or 0.0
        if self._probing or time.monotonic() - last_failure < self._probe_interval:
            return False
        self._probing = True
        return True

    async def _book(self, chat_id: Hashable | None, probe: bool) -> _Booking | None:
        """A slot booked (or a wait to ask again) in Redis; None if Redis failed."""
        keys = [self._state_key]
        if chat_id is not None:
            keys.append(f"{self.namespace}:chat:{chat_id}")
        try:
            reply = await self._call(self._reserve, keys, *self._reserve_args)
        finally:
            if probe:
                self._probing = False
        if reply is None:
            return None
        granted, micros = reply
        return _Booking(bool(granted), micros / 1_000_000)

    async def _call(self, script: AsyncScript, keys: list[str], *args: float) -> Any:
        """The script's answer, or None if Redis failed (logged when it goes down)."""
        try:
            reply = await script(keys=keys, args=args)
        except (RedisError, OSError) as error:
            if self._last_failure is None:
                logger.warning(
                    "Redis does not answer (%s): pacing this instance alone at %g/s "
                    "(of %g/s for all instances) until it is back",
                    error or type(error).__name__,
                    self._local.rate,
                    self.rate,
                )
            self._last_failure = time.monotonic()
            return None
        if self._last_failure is not None:
            logger.warning("Redis answers again: the rate budget is shared again")
            self._last_failure = None
        return reply

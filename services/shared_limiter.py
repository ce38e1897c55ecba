"""One flood budget for every instance of the bot, kept in Redis.

Telegram counts a bot's messages per bot, not per process: two instances of the bot (a
rolling deploy, several behind a load balancer) with a `RateLimiter` each send at twice
`SEND_RATE` together and draw 429s. `SharedRateLimiter` keeps the budget in Redis
instead, under keys named after the bot's id (never its token), and has the same shape
as `RateLimiter` (`acquire(chat_id)`, `pause(seconds)`, `rate`), so the engine and
`RateLimitMiddleware` use either.

The budget is the local limiter's, on Redis's clock and in one Lua script (`_RESERVE`)
that runs atomically for all instances: grants evenly spaced, at most floor(rate) of them
in any window of 1 s plus the jitter margin, a chat's at least 1 s plus the margin apart,
none before a flood wait ends. The script grants now or answers how long to wait; it
never books a slot ahead, because a process that stalls after booking would send late,
squeezed against slots other instances booked after it. In each instance one request at a
time (in arrival order) asks Redis and sleeps until the answer's time, so a grant usually
costs one round trip; a request whose chat is not ready waits aside. A 429 (`pause`)
holds this instance at once and is written to Redis (`_PAUSE`) for the others, who see it
at their next grant; each new flood wait widens the shared margin a step and a calm
minute narrows it, as in the local limiter. Every instance asks with its own `SEND_RATE`,
so they should all run with the same one.

Replies go first across instances too. A reply (any request that is not `bulk`) asks
Redis at once, not at the time of the next slot: if the slot is not ready, the script
writes the instance down as having a reply waiting (`:replies`, for two windows unless it
asks again), and while anyone is written down a bulk request of any instance is told to
ask again one slot later, leaving the next slot to the reply. Within an instance replies
and bulk requests queue apart, and the bulk queue waits while a reply of its own is
waiting, as in the local limiter.

Every key expires: a chat's once its interval has passed, the list of latest grants a
window after the last one, the waiting replies two windows after the last one asked, the
state a minute after the last grant or flood wait.

If Redis fails (refused, timed out) the instance paces itself with its own `RateLimiter`
at a safe rate (half of `SEND_RATE` by default, since other instances may still be
sending), says so once in the log, tries Redis again every `PROBE_INTERVAL` and says so
once more when it is back. Nothing of it raises into the engine.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
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
    MAX_LAG,
    RateLimiter,
    default_margin,
)

logger = logging.getLogger(__name__)

REDIS_TIMEOUT = 1.0  # seconds a Redis call may take before the instance paces itself alone
PROBE_INTERVAL = 1.0  # seconds between two tries of Redis while it is down

_LUA_HELPERS = """
local function micros(seconds) return math.floor(seconds * 1000000 + 0.5) end
local function millis(seconds) return math.max(1, math.ceil(seconds * 1000)) end
local function fmt(seconds) return string.format('%.6f', seconds) end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
"""

_GRANTED, _CHAT_WAIT = 1, 2  # the script answers 0 for "wait, then ask again"

# KEYS: the budget's state (a hash), its latest grants (a list, newest first), the
# instances with a reply waiting (a sorted set, scored by when that lapses), and the
# chat's last grant when the request is for a chat. ARGV: grants per window, the window
# without margin, the base margin, the calm period, the chat interval (with margin), the
# idle expiry, the most the even schedule may lag, all times in seconds; 1 for a bulk
# request, and the asking instance. Answers {1, µs until the next grant may come},
# {0, µs to wait} or {2, µs until the chat is ready}.
_RESERVE = (
    _LUA_HELPERS
    + """
local per_window, min_window, base_margin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local calm_period, chat_interval = tonumber(ARGV[4]), tonumber(ARGV[5])
local idle_ttl, max_lag = tonumber(ARGV[6]), tonumber(ARGV[7])
local bulk, instance = ARGV[8] == '1', ARGV[9]
local state = redis.call('HMGET', KEYS[1], 'next_slot', 'paused_until', 'margin', 'calm_since')
local paused_until = tonumber(state[2]) or 0
if paused_until > now then return {0, micros(paused_until - now)} end
if KEYS[4] then
  local last = tonumber(redis.call('GET', KEYS[4]))
  if last and last + chat_interval > now then
    if not bulk then redis.call('ZREM', KEYS[3], instance) end  -- it waits aside
    return {2, micros(last + chat_interval - now)}
  end
end
local margin = tonumber(state[3]) or base_margin
local function ready_at(next_slot)
  local ready = next_slot
  if redis.call('LLEN', KEYS[2]) >= per_window then
    ready = math.max(ready, tonumber(redis.call('LINDEX', KEYS[2], -1)) + min_window + margin)
  end
  return ready
end
local next_slot = tonumber(state[1]) or 0
local ready = ready_at(next_slot)
local window = min_window + margin
if bulk then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', fmt(now))
  if redis.call('ZCARD', KEYS[3]) > 0 then
    return {0, micros(math.max(ready, now) + window / per_window - now)}
  end
  if ready > now then return {0, micros(ready - now)} end
else
  if ready > now then
    redis.call('ZADD', KEYS[3], fmt(now + 2 * window), instance)
    redis.call('PEXPIRE', KEYS[3], millis(2 * window))
    return {0, micros(ready - now)}
  end
  redis.call('ZREM', KEYS[3], instance)
end
local calm_since = tonumber(state[4]) or now
if now - calm_since >= calm_period and margin > base_margin then
  margin = math.max(base_margin, margin - base_margin / 2)
  calm_since = now
  window = min_window + margin
end
next_slot = math.max(next_slot, now - max_lag) + window / per_window
redis.call('HSET', KEYS[1], 'next_slot', fmt(next_slot), 'margin', fmt(margin),
  'calm_since', fmt(calm_since))
redis.call('PEXPIRE', KEYS[1], millis(math.max(idle_ttl, window)))
redis.call('LPUSH', KEYS[2], fmt(now))
redis.call('LTRIM', KEYS[2], 0, per_window - 1)
redis.call('PEXPIRE', KEYS[2], millis(window))
if KEYS[4] then redis.call('SET', KEYS[4], fmt(now), 'PX', millis(chat_interval)) end
return {1, micros(ready_at(next_slot) - now)}
"""
)

# KEYS: the budget's state. ARGV: the flood wait, the base and the widest margin, the
# idle expiry; all in seconds.
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
class _Answer:
    granted: bool  # else wait `wait` seconds aside (the chat is not ready, or a flood wait)
    wait: float = 0.0


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
            MAX_LAG,
        )
        self._pause_args = (margin, MAX_JITTER_MARGIN, idle_ttl)
        self._state_keys = [f"{namespace}:state", f"{namespace}:recent", f"{namespace}:replies"]
        self._instance = uuid.uuid4().hex
        self._reserve: AsyncScript = redis.register_script(_RESERVE)
        self._pause: AsyncScript = redis.register_script(_PAUSE)
        # FIFO each: one bulk request and one reply of this instance ask Redis at a time;
        # the bulk one waits while a reply of this instance is waiting.
        self._bulk_turn = asyncio.Lock()
        self._reply_turn = asyncio.Lock()
        self._replies_waiting = 0
        self._no_replies = asyncio.Event()
        self._no_replies.set()
        self._next_ask = 0.0  # when Redis said the next grant may come (monotonic clock)
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
            pausing = self._call(self._pause, self._state_keys[:1], seconds, *self._pause_args)
            task = asyncio.create_task(pausing)
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def acquire(self, chat_id: Hashable | None = None, *, bulk: bool = False) -> None:
        """Wait until one more request (to `chat_id`, if given) may start now. A `bulk`
        request (a broadcast's) lets every other one waiting for a slot go first, on
        every instance."""
        while True:
            if (paused := self._local.paused_for) > 0:  # before Redis has this flood wait
                await asyncio.sleep(paused)
                continue
            probe = not self.shared
            if probe and not self._probe_due():
                break
            answer = await self._ask_in_turn(chat_id, probe, bulk=bulk)
            if answer is None:
                break
            if answer.granted:
                return
            await asyncio.sleep(answer.wait)
        await self._local.acquire(chat_id, bulk=bulk)

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

    async def _ask_in_turn(
        self, chat_id: Hashable | None, probe: bool, *, bulk: bool
    ) -> _Answer | None:
        """`_ask` in this instance's queue of bulk requests or of replies."""
        if bulk:
            async with self._bulk_turn:
                return await self._ask(chat_id, probe, bulk=True)
        self._replies_waiting += 1
        self._no_replies.clear()
        try:
            async with self._reply_turn:
                return await self._ask(chat_id, probe, bulk=False)
        finally:
            self._replies_waiting -= 1
            if not self._replies_waiting:
                self._no_replies.set()

    async def _ask(self, chat_id: Hashable | None, probe: bool, *, bulk: bool) -> _Answer | None:
        """Ask Redis, sleeping as it says, until it grants or the request must wait aside;
        None once Redis is down. A bulk request asks no earlier than the next slot Redis
        told of, and not while a reply of this instance is waiting; a reply asks at once,
        so Redis holds the next slot for it."""
        ask_at = 0.0
        while self.shared or probe:
            if (paused := self._local.paused_for) > 0:
                return _Answer(granted=False, wait=paused)
            if bulk and self._replies_waiting:
                await self._no_replies.wait()
                continue
            if bulk:
                ask_at = self._next_ask
            if (early := ask_at - time.monotonic()) > 0:
                await asyncio.sleep(early)
                continue
            try:
                reply = await self._call(
                    self._reserve,
                    self._chat_keys(chat_id),
                    *self._reserve_args,
                    int(bulk),
                    self._instance,
                )
            finally:
                if probe:
                    self._probing = probe = False
            if reply is None:
                return None
            status, micros = reply
            if status == _CHAT_WAIT:
                return _Answer(granted=False, wait=micros / 1_000_000)
            ask_at = time.monotonic() + micros / 1_000_000
            if bulk or status == _GRANTED:
                self._next_ask = ask_at
            if status == _GRANTED:
                return _Answer(granted=True)
        return None

    def _chat_keys(self, chat_id: Hashable | None) -> list[str]:
        if chat_id is None:
            return self._state_keys
        return [*self._state_keys, f"{self.namespace}:chat:{chat_id}"]

    async def _call(self, script: AsyncScript, keys: list[str], *args: float | str) -> Any:
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

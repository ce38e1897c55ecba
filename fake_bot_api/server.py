"""The aiohttp server: request parsing, routing, per-chat behaviours and the flood check,
and :class:`FakeBotAPI` assembled from the package's parts.

Why it exists: everything else in the package is plain Python; this is where an HTTP
request from aiogram becomes a method call, in the order Telegram would apply it --
token, network failures and delays, flood limits, the chat's answer -- and where the
answer, whatever it is, is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web

from fake_bot_api import control
from fake_bot_api.journal import Journal
from fake_bot_api.messages import MessageHandler
from fake_bot_api.methods import BotMethods
from fake_bot_api.records import KIND_ERRORS, BehaviourKind, ChatBehaviours, MessageState, Upload
from fake_bot_api.store import MessageStore
from fake_bot_api.updates import Update, UpdateBuilders, UpdateQueue
from fake_bot_api.wire import Answer, bot_user_dict, coerce_chat, err, parse_chat_id

DUMP_TAIL = 15


class _Drop(Exception):
    """Raised while handling a request to close the connection without answering."""


# --------------------------------------------------------------------------- parsing


def _parse_urlencoded(body: str) -> dict[str, str]:
    """parse_qsl without its overhead for the common no-escape case."""
    out: dict[str, str] = {}
    for pair in body.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        out[key] = value
    return out


def _jsonish(value: Any) -> str:
    """Normalise a JSON-body value to the string form multipart/urlencoded would carry."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


async def _read_params(
    request: web.Request, upload_ids: Iterator[int], files: dict[str, Upload]
) -> dict[str, str]:
    """The request's fields as strings, whatever the encoding; uploaded files become
    ``fake-upload-N`` file ids (also inside ``attach://`` references), each kept in
    ``files`` under its id."""
    params: dict[str, str] = dict(request.query) if request.query_string else {}
    if request.method != "POST" or not request.can_read_body:
        return params
    ctype = request.content_type
    if ctype == "application/x-www-form-urlencoded":
        body = await request.read()
        params.update(_parse_urlencoded(body.decode("utf-8")))
    elif ctype.startswith("multipart/"):
        form = await request.post()
        uploads: dict[str, str] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                file_id = f"fake-upload-{next(upload_ids)}"
                files[file_id] = Upload(
                    file_id, value.filename, value.content_type, value.file.read()
                )
                with contextlib.suppress(Exception):
                    value.file.close()
                uploads[key] = file_id
            else:
                params[key] = str(value)
        for key, value in list(params.items()):
            if value.startswith("attach://") and value[9:] in uploads:
                params[key] = uploads[value[9:]]
        for key, fid in uploads.items():
            params.setdefault(key, fid)  # file sent directly under the field name
        if "media" in params and "attach://" in params["media"]:
            params["media"] = re.sub(
                r"attach://([A-Za-z0-9_\-]+)",
                lambda m: uploads.get(m.group(1), m.group(0)),
                params["media"],
            )
    elif ctype == "application/json":
        body = await request.read()
        data = json.loads(body or b"{}")
        if isinstance(data, dict):
            params.update({k: _jsonish(v) for k, v in data.items() if v is not None})
    return params


# --------------------------------------------------------------------------- flood control


class FloodControl:
    """Telegram's flood limits: a global sliding 1 s window with an escalating penalty,
    and a minimum interval per chat."""

    def __init__(self) -> None:
        self._window: deque[float] = deque()
        self._last_per_chat: dict[int, float] = {}
        self._penalty_until = 0.0
        self._escalation = 0

    def check(
        self,
        chat_id: int,
        now: float,
        rate: float | None,
        interval: float | None,
        retry_after: int,
    ) -> int | None:
        """Return the retry_after to announce, or None if the request is accepted.
        On acceptance the request is registered in the window / per-chat clock."""
        if self._penalty_until:
            if now < self._penalty_until:
                self._escalation += 1
                announced = retry_after + self._escalation
                self._penalty_until = max(self._penalty_until, now + announced)
                return announced
            self._penalty_until = 0.0
            self._escalation = 0
        if rate is not None:
            window = self._window
            cutoff = now - 1.0
            while window and window[0] <= cutoff:
                window.popleft()
            if len(window) + 1 > rate:
                self._penalty_until = now + retry_after
                self._escalation = 0
                return retry_after
        if interval is not None:
            last = self._last_per_chat.get(chat_id)
            if last is not None and now - last < interval:
                return max(retry_after, math.ceil(interval - (now - last)))
            self._last_per_chat[chat_id] = now
        if rate is not None:
            self._window.append(now)
        return None


# --------------------------------------------------------------------------- the server


class FakeBotAPI(ChatBehaviours, Journal, UpdateBuilders):
    """A fake Bot API server.  See the package docstring for conventions."""

    bot_username = "school_test_bot"

    def __init__(
        self,
        *,
        token: str | None = "123456:TEST",
        global_rate: float | None = None,
        per_chat_interval: float | None = None,
        retry_after: int = 1,
        latency: float = 0.0,
        compact: bool = False,
        record_requests: bool = True,
    ) -> None:
        """
        :param token: the only token accepted (others answer 401); ``None`` = any token.
        :param global_rate: max accepted message requests in any sliding 1 s window.
        :param per_chat_interval: min seconds between two accepted message requests to
            the same chat.
        :param retry_after: seconds announced by the first 429 of a penalty window.
        :param latency: seconds added to every answer except getUpdates.
        :param compact: keep only the fields tests need per delivery (benchmarks with
            millions of deliveries); ``Delivered.params`` is then rebuilt on access.
        :param record_requests: append a :class:`RequestRecord` per request to
            ``requests`` (counters in :meth:`stats` are kept either way).
        """
        super().__init__()
        self.token = token
        self.global_rate = global_rate
        self.per_chat_interval = per_chat_interval
        self.retry_after = retry_after
        self.latency = latency
        self.compact = compact
        self.record_requests = record_requests
        bot_id = 123456
        if token and token.split(":", 1)[0].isdigit():
            bot_id = int(token.split(":", 1)[0])
        self.bot_user = bot_user_dict(bot_id, self.bot_username)
        self.url: str = ""
        self._runner: web.AppRunner | None = None
        # ids survive reset(): a polling bot keeps its offset, a DB keeps message ids.
        self._messages = MessageStore()
        self._queue = UpdateQueue(self._messages)
        self._callback_ids = itertools.count(1)
        self._upload_ids = itertools.count(1)
        self._flood = FloodControl()
        self.clock: Callable[[], float] = time.time
        """The fake's "now" (Unix seconds) when it ages messages: a test moves it on to
        find messages too old to delete."""
        self._methods = BotMethods(
            self, self._messages, self._queue, self._behaviours, self.bot_user, lambda: self.clock()
        )
        self._clear_journal()

    def reset(self) -> None:
        """Forget records, stored messages, pending updates, flood state and behaviours.

        Configuration, update ids and message id counters are kept."""
        self._queue.clear()
        self._clear_behaviours()
        self._clear_journal()
        self._messages.clear()
        self._flood = FloodControl()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0) -> str:
        if self._runner is not None:
            return self.url
        self._queue.closed = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_bot)
        app.router.add_route("*", "/_fake/{name}", partial(control.handle, self))
        app.router.add_route("*", "/_fake/build/{kind}", partial(control.build, self))
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        host = "127.0.0.1"
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        self._runner = runner
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        real_port = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://{host}:{real_port}"
        return self.url

    async def stop(self) -> None:
        self._queue.closed = True
        self._queue.wake()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ inspection

    def current_message(self, chat_id: int | str, message_id: int) -> MessageState | None:
        """The message as it is now (after edits); ``None`` if unknown or deleted."""
        msg = self._messages.get(coerce_chat(chat_id), message_id)
        return None if msg is None else MessageState.of(msg)

    def dump(self) -> str:
        """Human-readable summary of the records (used by :meth:`wait_for`)."""
        lines = [
            f"delivered={len(self.delivered)} edits={len(self.edits)} "
            f"requests={self._n_requests} 429s={self._n_429} "
            f"pending_updates={len(self._queue.pending)}"
        ]
        lines += self._dump_records(DUMP_TAIL)
        if self._behaviours:
            lines.append(f"behaviours: {self._behaviours!r}")
        return "\n".join(lines)

    async def wait_for(
        self,
        predicate: Callable[[], object],
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the documented API
        *,
        message: str = "",
    ) -> Any:
        """Poll ``predicate`` (sync, or returning an awaitable) until truthy; return its
        value.  On timeout raise AssertionError with a dump of the records."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if time.monotonic() >= deadline:
                what = message or getattr(predicate, "__name__", "predicate")
                raise AssertionError(f"wait_for timed out after {timeout}s: {what}\n{self.dump()}")
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ updates

    def push_update(self, update: Update) -> None:
        """Queue an update for getUpdates (assigns ``update_id`` if missing).  Messages in
        it become known to the fake (copyMessage sources)."""
        self._queue.push(update)

    @property
    def pending_updates(self) -> list[Update]:
        return list(self._queue.pending)

    @property
    def _waiters(self) -> set[asyncio.Future[None]]:
        """Long polls waiting for an update."""
        return self._queue.waiters

    # ------------------------------------------------------------------ HTTP

    async def _handle_bot(self, request: web.Request) -> web.StreamResponse:
        raw_method = request.match_info["method"]
        low = raw_method.lower()
        try:
            params = await _read_params(request, self._upload_ids, self.uploads)
        except Exception as exc:  # malformed body
            return self._respond(raw_method, None, err(400, f"Bad Request: {exc}"))
        chat_id = parse_chat_id(params.get("chat_id"))
        if self.latency > 0 and low != "getupdates":
            await asyncio.sleep(self.latency)
        route = self._methods.routes.get(low)
        name = route.name if route else raw_method
        if self._unauthorized or (
            self.token is not None and request.match_info["token"] != self.token
        ):
            return self._respond(name, chat_id, err(401, "Unauthorized"))
        if route is None:
            return self._respond(name, chat_id, err(404, "Not Found: method not found"))
        try:
            if route.message is not None:
                answer = await self._message_request(name, route.message, params, chat_id)
            elif route.poll is not None:
                answer = await route.poll(params)
            else:
                assert route.plain is not None
                answer = route.plain(name, params, chat_id)
        except _Drop:
            self._record_request(name, chat_id, 0)
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=502)
        return self._respond(name, chat_id, answer)

    def _respond(self, name: str, chat_id: int | str | None, answer: Answer) -> web.Response:
        status, body = answer
        self._record_request(name, chat_id, status)
        return web.Response(body=body, status=status, content_type="application/json")

    async def _message_request(
        self,
        name: str,
        handler: MessageHandler,
        params: dict[str, str],
        raw_chat_id: int | str | None,
    ) -> Answer:
        """Flaky failures and delay, the flood check, the chat's behaviour, the method."""
        if raw_chat_id is None:
            if "inline_message_id" in params:
                return err(400, "Bad Request: inline messages are not supported by the fake")
            return err(400, "Bad Request: chat_id is empty")
        beh = self._behaviours.get(raw_chat_id)
        if beh is not None:
            if beh.failures > 0:
                beh.failures -= 1
                if beh.fail_mode == "drop":
                    raise _Drop
                if beh.fail_mode == "flood":
                    return err(429, "Too Many Requests: retry after 1", {"retry_after": 1})
                return err(502, "Bad Gateway")
            if beh.held:
                await self._wait_released()
            if beh.delay > 0:
                await asyncio.sleep(beh.delay)
        chat_id = coerce_chat(raw_chat_id)
        now = time.monotonic()
        retry = self._flood.check(
            chat_id, now, self.global_rate, self.per_chat_interval, self.retry_after
        )
        if retry is not None:
            return err(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        if beh is not None and beh.kind is not BehaviourKind.OK:
            code, description = KIND_ERRORS[beh.kind]
            extra = None
            if beh.kind is BehaviourKind.MIGRATED:
                extra = {"migrate_to_chat_id": beh.migrate_to_chat_id}
            return err(code, description, extra)
        return handler(name, params, chat_id, now)

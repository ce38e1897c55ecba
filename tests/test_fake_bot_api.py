"""Tests for the fake Bot API server, driven through a real aiogram Bot over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from fake_bot_api import ChatBehaviour, FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST"


class _FastSession(AiohttpSession):
    """AiohttpSession whose close() skips the 250 ms SSL grace sleep (loopback only)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(url: str, token: str = TOKEN) -> Bot:
    return Bot(token, session=_FastSession(api=TelegramAPIServer.from_base(url)))


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    server = FakeBotAPI()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    b = make_bot(fake.url)
    yield b
    await b.session.close()


def kb(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=x, callback_data=x) for x in labels]]
    )


class _NoSuchMethod(TelegramMethod[bool]):
    __returning__ = bool
    __api_method__ = "noSuchMethod"


# --------------------------------------------------------------------------- basics


async def test_get_me_returns_bot_user(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot is True
    assert me.id == 123456
    assert me.username == "school_test_bot"


async def test_send_message_is_recorded_with_params(fake: FakeBotAPI, bot: Bot) -> None:
    m1 = await bot.send_message(
        101, "hello <b>all</b>", parse_mode="HTML", reply_markup=kb("a"), allow_paid_broadcast=True
    )
    m2 = await bot.send_message(101, "second")
    other = await bot.send_message(-100500, "group")
    assert isinstance(m1, Message)
    assert (m1.message_id, m2.message_id, other.message_id) == (1, 2, 1)
    assert m1.chat.type == "private" and other.chat.type == "supergroup"
    assert m1.text == "hello <b>all</b>"
    assert m1.from_user is not None and m1.from_user.is_bot
    assert m1.reply_markup is not None
    assert m1.reply_markup.model_dump() == kb("a").model_dump()
    assert [d.text for d in fake.messages_to(101)] == ["hello <b>all</b>", "second"]
    first = fake.delivered[0]
    assert first.method == "sendMessage"
    assert first.params["allow_paid_broadcast"] is True
    assert first.params["parse_mode"] == "HTML"
    assert first.reply_markup == kb("a").model_dump(exclude_none=True)
    assert fake.delivered[1].allow_paid_broadcast is False
    assert [r.status for r in fake.requests] == [200, 200, 200]
    assert fake.requests[0].chat_id == 101


async def test_silent_and_protected_sends_are_recorded_as_such(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(101, "quiet", disable_notification=True, protect_content=True)
    await bot.send_photo(101, "PHOTO", protect_content=True)
    await bot.send_message(101, "plain")
    quiet, photo, plain = fake.messages_to(101)
    assert (quiet.disable_notification, quiet.protect_content) == (True, True)
    assert (photo.disable_notification, photo.protect_content) == (False, True)
    assert (plain.disable_notification, plain.protect_content) == (False, False)
    assert quiet.params["disable_notification"] is True and quiet.params["protect_content"]
    assert quiet.to_json()["protect_content"] is True
    async with FakeBotAPI(compact=True, record_requests=False) as server:
        b = make_bot(server.url)
        try:
            await b.send_message(5, "x", disable_notification=True)
        finally:
            await b.session.close()
        assert server.delivered[0].params == {
            "chat_id": 5,
            "text": "x",
            "disable_notification": True,
        }


async def test_compact_mode_keeps_needed_fields() -> None:
    async with FakeBotAPI(compact=True, record_requests=False) as server:
        b = make_bot(server.url)
        try:
            await b.send_message(5, "x", allow_paid_broadcast=True, reply_markup=kb("k"))
        finally:
            await b.session.close()
        (d,) = server.delivered
        assert d.params == {
            "chat_id": 5,
            "text": "x",
            "allow_paid_broadcast": True,
            "reply_markup": kb("k").model_dump(exclude_none=True),
        }
        assert server.requests == []
        assert server.stats()["requests"] == 1


async def test_media_sends_return_file_stubs(fake: FakeBotAPI, bot: Bot) -> None:
    photo = await bot.send_photo(7, "PHOTO_ID", caption="cap")
    video = await bot.send_video(7, "VIDEO_ID")
    doc = await bot.send_document(7, BufferedInputFile(b"%PDF", filename="a.pdf"), caption="d")
    anim = await bot.send_animation(7, "ANIM_ID")
    assert photo.photo is not None and photo.photo[-1].file_id == "PHOTO_ID"
    assert photo.caption == "cap"
    assert video.video is not None and video.video.file_id == "VIDEO_ID"
    assert doc.document is not None and doc.document.file_id.startswith("fake-upload-")
    assert anim.animation is not None and anim.animation.file_id == "ANIM_ID"
    assert [(d.method, d.kind, d.text) for d in fake.messages_to(7)] == [
        ("sendPhoto", "photo", "cap"),
        ("sendVideo", "video", None),
        ("sendDocument", "document", "d"),
        ("sendAnimation", "animation", None),
    ]
    upload = fake.upload_of(fake.messages_to(7)[2])
    assert (upload.filename, upload.content) == ("a.pdf", b"%PDF")
    with pytest.raises(KeyError):
        fake.upload_of(fake.messages_to(7)[0])  # sent by file id: nothing was uploaded


async def test_method_names_are_case_insensitive_and_unknown_is_404(
    fake: FakeBotAPI, bot: Bot
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.url}/bot{TOKEN}/SENDMESSAGE", data={"chat_id": "9", "text": "hi"}) as r,
    ):
        body = await r.json()
    assert r.status == 200 and body["ok"] is True
    assert fake.delivered[0].method == "sendMessage"
    with pytest.raises(TelegramNotFound, match="method not found"):
        await bot(_NoSuchMethod())
    assert fake.requests[-1].status == 404


async def test_wrong_token_and_unauthorized_mode_answer_401(fake: FakeBotAPI, bot: Bot) -> None:
    other = make_bot(fake.url, token="999:OTHER")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await other.get_me()
    finally:
        await other.session.close()
    await bot.get_me()
    fake.set_unauthorized()
    with pytest.raises(TelegramUnauthorizedError):
        await bot.get_me()
    fake.set_unauthorized(False)
    assert (await bot.get_me()).username == "school_test_bot"


# --------------------------------------------------------------------------- behaviours


@pytest.mark.parametrize(
    ("setter", "exc", "text"),
    [
        ("set_blocked", TelegramForbiddenError, "bot was blocked by the user"),
        ("set_deactivated", TelegramForbiddenError, "user is deactivated"),
        ("set_cant_initiate", TelegramForbiddenError, "bot can't initiate conversation"),
        ("set_not_found", TelegramBadRequest, "chat not found"),
    ],
)
async def test_error_behaviours(
    fake: FakeBotAPI, bot: Bot, setter: str, exc: type[Exception], text: str
) -> None:
    getattr(fake, setter)(42)
    with pytest.raises(exc, match=text):
        await bot.send_message(42, "x")
    with pytest.raises(exc, match=text):
        await bot.send_photo(42, "P")
    await bot.send_message(43, "unaffected")
    assert [d.chat_id for d in fake.delivered] == [43]
    fake.set_ok(42)
    await bot.send_message(42, "back")
    assert [d.text for d in fake.messages_to(42)] == ["back"]


async def test_migrated_raises_migrate_to_chat(fake: FakeBotAPI, bot: Bot) -> None:
    fake.set_migrated(-500, -1000500)
    with pytest.raises(TelegramMigrateToChat) as info:
        await bot.send_message(-500, "x")
    assert info.value.migrate_to_chat_id == -1000500
    assert "upgraded to a supergroup" in info.value.message
    await bot.send_message(-1000500, "x")
    assert [d.chat_id for d in fake.delivered] == [-1000500]


async def test_flaky_5xx_recovers_after_n(fake: FakeBotAPI, bot: Bot) -> None:
    fake.set_flaky(5, 2)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(5, "x")
    await bot.send_message(5, "x")
    assert len(fake.messages_to(5)) == 1
    assert [r.status for r in fake.requests] == [502, 502, 200]


async def test_flaky_drop_raises_network_error(fake: FakeBotAPI, bot: Bot) -> None:
    fake.set_behaviour(6, ChatBehaviour.flaky(1, mode="drop"))
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(6, "x")
    assert fake.delivered == []
    await bot.send_message(6, "x")
    assert [r.status for r in fake.requests] == [0, 200]


async def test_slow_and_latency(fake: FakeBotAPI, bot: Bot) -> None:
    fake.set_slow(8, 0.3)
    t0 = time.monotonic()
    await bot.send_message(8, "x")
    assert time.monotonic() - t0 >= 0.3
    t0 = time.monotonic()
    await bot.send_message(9, "x")
    assert time.monotonic() - t0 < 0.25
    fake.latency = 0.15
    t0 = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - t0 >= 0.15


async def test_held_requests_wait_until_released(fake: FakeBotAPI, bot: Bot) -> None:
    fake.hold(8)
    held = [asyncio.create_task(bot.send_message(8, f"m{n}")) for n in range(2)]
    await fake.wait_for(lambda: fake.holding == 2)
    await bot.send_message(9, "not held")
    assert [d.chat_id for d in fake.delivered] == [9]
    assert not any(task.done() for task in held)

    fake.release()
    await asyncio.gather(*held)
    assert sorted(d.text or "" for d in fake.messages_to(8)) == ["m0", "m1"]
    assert fake.holding == 0
    await bot.send_message(8, "after")  # released: no longer held
    assert fake.messages_to(8)[-1].text == "after"


# --------------------------------------------------------------------------- flood limits


async def test_global_rate_429_escalates_and_resets() -> None:
    async with FakeBotAPI(global_rate=3, retry_after=1) as server:
        b = make_bot(server.url)
        try:
            for i in range(3):
                await b.send_message(100 + i, "x")
            with pytest.raises(TelegramRetryAfter) as first:
                await b.send_message(200, "x")
            with pytest.raises(TelegramRetryAfter) as second:
                await b.send_message(201, "x")
            assert (first.value.retry_after, second.value.retry_after) == (1, 2)
            assert "retry after 1" in first.value.message
            # non-message methods are not limited
            await b.get_me()
            await asyncio.sleep(2.05)  # second 429 extended the penalty to 2 s
            await b.send_message(202, "x")
            assert [d.chat_id for d in server.delivered] == [100, 101, 102, 202]
            assert server.count_429() == 2
        finally:
            await b.session.close()


async def test_global_rate_concurrent_burst() -> None:
    async with FakeBotAPI(global_rate=5) as server:
        b = make_bot(server.url)
        try:
            results = await asyncio.gather(
                *(b.send_message(i, "x") for i in range(1, 9)), return_exceptions=True
            )
        finally:
            await b.session.close()
        errors = [r for r in results if isinstance(r, TelegramRetryAfter)]
        assert len(errors) == 3
        assert sorted(e.retry_after for e in errors) == [1, 2, 3]
        assert len(server.delivered) == 5
        assert server.stats()["max_rate_1s"] == 5


async def test_per_chat_interval_429() -> None:
    async with FakeBotAPI(per_chat_interval=0.3) as server:
        b = make_bot(server.url)
        try:
            await b.send_message(1, "a")
            with pytest.raises(TelegramRetryAfter) as info:
                await b.send_message(1, "b")
            assert info.value.retry_after == 1
            await b.send_message(2, "other chat is fine")
            await asyncio.sleep(0.31)
            await b.send_message(1, "c")
        finally:
            await b.session.close()
        assert [d.text for d in server.messages_to(1)] == ["a", "c"]
        assert server.count_429() == 1


# --------------------------------------------------------------------------- edits & copies


async def test_edits_and_not_modified(fake: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(11, "v1", reply_markup=kb("a"))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="v1", chat_id=11, message_id=sent.message_id, reply_markup=kb("a")
        )
    edited = await bot.edit_message_text(
        text="v2", chat_id=11, message_id=sent.message_id, reply_markup=kb("a")
    )
    assert isinstance(edited, Message) and edited.text == "v2" and edited.edit_date
    await bot.edit_message_reply_markup(
        chat_id=11, message_id=sent.message_id, reply_markup=kb("b")
    )
    state = fake.current_message(11, sent.message_id)
    assert state is not None
    assert state.text == "v2"
    assert state.reply_markup == kb("b").model_dump(exclude_none=True)
    assert [(e.method, e.text) for e in fake.edits] == [
        ("editMessageText", "v2"),
        ("editMessageReplyMarkup", "v2"),
    ]
    assert fake.delivered[0].text == "v1"  # the delivery record is history, not state
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=11, message_id=999)
    photo = await bot.send_photo(11, "P", caption="c1")
    await bot.edit_message_caption(chat_id=11, message_id=photo.message_id, caption="c2")
    photo_state = fake.current_message(11, photo.message_id)
    assert photo_state is not None and photo_state.caption == "c2"
    assert await bot.delete_message(11, photo.message_id) is True
    assert fake.current_message(11, photo.message_id) is None
    assert fake.deleted == [(11, photo.message_id)]


async def test_copy_message_copies_pushed_content(fake: FakeBotAPI, bot: Bot) -> None:
    upd = fake.make_photo_update(1, "SRC_PHOTO", caption="orig")
    fake.push_update(upd)
    src_id = upd["message"]["message_id"]
    res = await bot.copy_message(
        chat_id=77, from_chat_id=1, message_id=src_id, allow_paid_broadcast=True
    )
    res2 = await bot.copy_message(chat_id=77, from_chat_id=1, message_id=src_id, caption="new")
    assert (res.message_id, res2.message_id) == (1, 2)
    d1, d2 = fake.messages_to(77)
    assert (d1.method, d1.kind, d1.file_id, d1.text) == (
        "copyMessage",
        "photo",
        "SRC_PHOTO",
        "orig",
    )
    assert d1.params["allow_paid_broadcast"] is True
    assert d2.text == "new"


async def test_commands_are_recorded(fake: FakeBotAPI, bot: Bot) -> None:
    cmds = [BotCommand(command="start", description="Start")]
    await bot.set_my_commands(cmds)
    await bot.set_my_commands(
        [BotCommand(command="admin", description="Admin")],
        scope=BotCommandScopeChat(chat_id=5),
        language_code="ru",
    )
    got = await bot.get_my_commands()
    assert [c.command for c in got] == ["start"]
    assert fake.commands_calls[1].scope == {"type": "chat", "chat_id": 5}
    assert fake.commands_calls[1].language_code == "ru"
    assert fake.get_commands({"type": "chat", "chat_id": 5}, "ru")[0]["command"] == "admin"
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []


async def test_misc_methods(fake: FakeBotAPI, bot: Bot) -> None:
    assert await bot.answer_callback_query("cb1", text="ok") is True
    assert fake.callback_answers[0]["text"] == "ok"
    assert await bot.send_chat_action(3, "typing") is True
    assert await bot.delete_webhook() is True
    chat = await bot.get_chat(-100)
    assert chat.type == "supergroup"
    fake.set_not_found(4)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat(4)
    assert fake.delivered == []  # none of these are deliveries


# --------------------------------------------------------------------------- updates


def test_builders_validate_as_aiogram_updates() -> None:
    fake = FakeBotAPI()
    builders: list[dict[str, Any]] = [
        fake.make_message_update(1, "/start payload", language_code="ru", username="kid"),
        fake.make_callback_update(1, "btn:1", 5),
        fake.make_photo_update(1, "P", caption="c", caption_entities=[]),
        fake.make_document_update(1, "D"),
        fake.make_video_update(1, "V"),
        fake.make_animation_update(1, "A"),
        fake.make_sticker_update(1, "S"),
        fake.make_my_chat_member_update(1, "kicked"),
        fake.make_my_chat_member_update(1, "member"),
    ]
    for i, raw in enumerate(builders, start=1):
        raw["update_id"] = i
        upd = Update.model_validate(raw)
        assert upd.event_type in {"message", "callback_query", "my_chat_member"}
    msg = Update.model_validate(builders[0]).message
    assert msg is not None and msg.entities is not None
    assert msg.entities[0].type == "bot_command" and msg.entities[0].length == len("/start")
    assert msg.from_user is not None and msg.from_user.language_code == "ru"
    assert Update.model_validate(builders[5]).message.content_type == "animation"  # type: ignore[union-attr]
    member = Update.model_validate(builders[7]).my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"


async def test_a_recipient_presses_a_button_of_a_delivered_message(
    fake: FakeBotAPI, bot: Bot
) -> None:
    sent = await bot.send_message(21, "Read me", reply_markup=kb("ok", "no"))
    raw = fake.make_button_press(21, 21, sent.message_id, "no", language_code="ru")
    raw["update_id"] = 1
    query = Update.model_validate(raw).callback_query
    assert query is not None and query.data == "no"
    assert query.from_user.id == 21 and query.from_user.language_code == "ru"
    assert isinstance(query.message, Message)
    assert (query.message.chat.id, query.message.message_id) == (21, sent.message_id)
    assert query.message.text == "Read me" and query.message.reply_markup == kb("ok", "no")

    # Someone else's press on it; and after an edit the new buttons are the ones pressed.
    other = fake.make_button_press(22, 21, sent.message_id, "ok")
    assert other["callback_query"]["from"]["id"] == 22
    assert other["callback_query"]["message"]["chat"]["id"] == 21
    await bot.edit_message_reply_markup(
        chat_id=21, message_id=sent.message_id, reply_markup=kb("done")
    )
    assert fake.edits[-1].method == "editMessageReplyMarkup"
    assert fake.make_button_press(21, 21, sent.message_id, "done")["callback_query"]["data"]
    with pytest.raises(ValueError, match="no button 'ok'"):
        fake.make_button_press(21, 21, sent.message_id, "ok")
    with pytest.raises(ValueError, match="no button"):
        fake.make_button_press(21, 21, 999, "done")


async def test_get_updates_offset_and_long_poll(fake: FakeBotAPI, bot: Bot) -> None:
    fake.push_update(fake.make_message_update(1, "a"))
    fake.push_update(fake.make_message_update(1, "b"))
    got = await bot.get_updates()
    assert [u.message.text for u in got if u.message] == ["a", "b"]
    assert await bot.get_updates(limit=1) == got[:1]
    last = got[-1].update_id
    assert await bot.get_updates(offset=last + 1) == []
    assert fake.pending_updates == []

    async def push_later() -> None:
        await asyncio.sleep(0.1)
        fake.push_update(fake.make_message_update(1, "c"))

    t0 = time.monotonic()
    task = asyncio.create_task(push_later())
    got = await bot.get_updates(offset=last + 1, timeout=5)
    await task
    assert time.monotonic() - t0 < 2
    assert [u.message.text for u in got if u.message] == ["c"]
    assert got[0].update_id == last + 1

    t0 = time.monotonic()
    assert await bot.get_updates(offset=last + 2, timeout=1) == []
    assert time.monotonic() - t0 >= 0.9


async def test_stop_answers_pending_long_poll() -> None:
    server = FakeBotAPI()
    await server.start()
    b = make_bot(server.url)
    try:
        poll = asyncio.create_task(b.get_updates(timeout=30))
        await server.wait_for(lambda: server._waiters, timeout=2)
        t0 = time.monotonic()
        await server.stop()
        assert await asyncio.wait_for(poll, 3) == []
        assert time.monotonic() - t0 < 2.5
    finally:
        await b.session.close()


async def test_dispatcher_polling_end_to_end(fake: FakeBotAPI, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    task = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
    )
    try:
        fake.push_update(fake.make_message_update(31, "ping"))
        await fake.wait_for(lambda: fake.messages_to(31), timeout=5)
        assert fake.messages_to(31)[0].text == "echo: ping"
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 5)


async def test_wait_for_dumps_records_on_timeout(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(1, "visible in dump")
    assert await fake.wait_for(lambda: len(fake.delivered)) == 1
    with pytest.raises(AssertionError, match="visible in dump"):
        await fake.wait_for(lambda: len(fake.delivered) > 1, timeout=0.1)


# --------------------------------------------------------------------------- subprocess


async def test_subprocess_mode_stats_and_control() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fake_bot_api",
        "--port",
        "0",
        "--rate",
        "30",
        "--latency",
        "0.01",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode().strip()
        assert line.startswith("READY http://127.0.0.1:"), line
        url = line.split()[1]
        b = make_bot(url)
        try:
            await b.send_message(1, "same")
            await b.send_message(1, "same")
            await b.send_message(2, "x", allow_paid_broadcast=True)
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"{url}/_fake/behaviour", json={"chat_ids": [3], "behaviour": "blocked"}
                ) as r:
                    assert r.status == 200
                with pytest.raises(TelegramForbiddenError):
                    await b.send_message(3, "x")
                async with http.get(f"{url}/_fake/stats") as r:
                    stats = await r.json()
                async with http.get(f"{url}/_fake/delivered?since=2") as r:
                    tail = await r.json()
                async with http.post(f"{url}/_fake/reset") as r:
                    assert r.status == 200
                async with http.get(f"{url}/_fake/stats") as r:
                    after = await r.json()
        finally:
            await b.session.close()
        assert stats["delivered"] == 3
        assert stats["requests"] == 4
        assert stats["duplicates"] == 1
        assert stats["status_counts"] == {"200": 3, "403": 1}
        assert tail == [json.loads(json.dumps(tail[0]))]
        assert tail[0]["chat_id"] == 2 and tail[0]["allow_paid_broadcast"] is True
        assert after["delivered"] == 0
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 5)
    assert rc == 0


async def test_http_control_endpoints_in_process(fake: FakeBotAPI, bot: Bot) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{fake.url}/_fake/behaviour",
            json={"chat_id": 12, "behaviour": "flaky", "failures": 1, "mode": "5xx"},
        ) as r:
            assert (await r.json())["chats"] == 1
        async with http.post(f"{fake.url}/_fake/config", json={"global_rate": 100}) as r:
            assert (await r.json())["global_rate"] == 100
        async with http.post(
            f"{fake.url}/_fake/build/message", json={"from_id": 12, "text": "/start"}
        ) as r:
            built = await r.json()
        async with http.post(f"{fake.url}/_fake/behaviour", json={"behaviour": "nope"}) as r:
            assert r.status == 400
    assert fake.global_rate == 100
    with pytest.raises(TelegramServerError):
        await bot.send_message(12, "x")
    await bot.send_message(12, "x")
    (upd,) = await bot.get_updates()
    assert upd.update_id == built["update_id"]
    assert upd.message is not None and upd.message.text == "/start"

"""The fake Bot API's edits and deletes answer as Telegram does (not modified, not found,
too old to delete for everyone), count toward the flood limits like sends, and the
engine's error classification reads those answers as the edit and delete runs need."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import MessageEntity

from fake_bot_api import FakeBotAPI
from services.delivery_errors import Disposition, ErrorCode, classify
from tests.test_fake_bot_api import make_bot

HOURS = 3600


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    server = FakeBotAPI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    client = make_bot(fake.url)
    yield client
    await client.session.close()


async def test_an_edit_keeps_its_entities_and_the_same_edit_again_is_not_modified(
    fake: FakeBotAPI, bot: Bot
) -> None:
    sent = await bot.send_message(7, "Meeting on Friday")
    bold = [MessageEntity(type="bold", offset=11, length=8)]
    await bot.edit_message_text(
        text="Meeting on Thursday", chat_id=7, message_id=sent.message_id, entities=bold
    )
    state = fake.current_message(7, sent.message_id)
    assert state is not None and state.text == "Meeting on Thursday"
    assert json.loads(state.entities_json or "null") == [
        {"type": "bold", "offset": 11, "length": 8}
    ]

    with pytest.raises(TelegramBadRequest) as again:
        await bot.edit_message_text(
            text="Meeting on Thursday", chat_id=7, message_id=sent.message_id, entities=bold
        )
    assert "message is not modified" in again.value.message
    assert classify(again.value).disposition is Disposition.DONE


async def test_a_caption_is_edited_and_a_text_edit_of_a_deleted_message_is_not_found(
    fake: FakeBotAPI, bot: Bot
) -> None:
    photo = await bot.send_photo(7, "PHOTO", caption="Trip on Monday")
    await bot.edit_message_caption(chat_id=7, message_id=photo.message_id, caption="On Tuesday")
    state = fake.current_message(7, photo.message_id)
    assert state is not None and state.caption == "On Tuesday"

    assert await bot.delete_message(7, photo.message_id) is True
    with pytest.raises(TelegramBadRequest) as gone:
        await bot.edit_message_caption(chat_id=7, message_id=photo.message_id, caption="x")
    assert gone.value.message == "Bad Request: message to edit not found"
    error = classify(gone.value)
    assert (error.disposition, error.code) == (Disposition.PERMANENT, ErrorCode.MESSAGE_GONE)


async def test_a_delete_twice_is_not_found_and_one_past_48_hours_is_refused(
    fake: FakeBotAPI, bot: Bot
) -> None:
    fresh = await bot.send_message(8, "fresh")
    old = await bot.send_message(8, "old")
    assert await bot.delete_message(8, fresh.message_id) is True
    with pytest.raises(TelegramBadRequest) as twice:
        await bot.delete_message(8, fresh.message_id)
    assert twice.value.message == "Bad Request: message to delete not found"
    assert classify(twice.value).code is ErrorCode.MESSAGE_GONE

    now = fake.clock()
    fake.clock = lambda: now + 48 * HOURS + 60
    with pytest.raises(TelegramBadRequest) as too_old:
        await bot.delete_message(8, old.message_id)
    assert too_old.value.message == "Bad Request: message can't be deleted for everyone"
    error = classify(too_old.value)
    assert (error.disposition, error.code) == (Disposition.PERMANENT, ErrorCode.TOO_OLD)
    assert fake.current_message(8, old.message_id) is not None
    assert fake.deleted == [(8, fresh.message_id)]


async def test_edits_and_deletes_count_toward_the_flood_limit_like_sends() -> None:
    async with FakeBotAPI(global_rate=2, retry_after=1) as server:
        client = make_bot(server.url)
        try:
            first = await client.send_message(9, "one")
            await client.edit_message_text(text="two", chat_id=9, message_id=first.message_id)
            with pytest.raises(TelegramRetryAfter):
                await client.delete_message(9, first.message_id)
        finally:
            await client.session.close()
        assert server.current_message(9, first.message_id) is not None
        assert [r.status for r in server.requests] == [200, 200, 429]

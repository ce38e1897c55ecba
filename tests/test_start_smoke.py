"""The assembled bot answers over real HTTP: the harness works end to end."""

from __future__ import annotations

from tests.bot_harness import ADMIN_ID, BotHarness


async def test_admin_and_stranger_get_different_start_answers(bot_harness: BotHarness) -> None:
    admin_reply = await bot_harness.send(ADMIN_ID, "/start")
    stranger_reply = await bot_harness.send(555, "/start")
    assert len(admin_reply) == 1 and len(stranger_reply) == 1
    assert admin_reply[0].text != stranger_reply[0].text
    assert "invite link" in (stranger_reply[0].text or "")


async def test_stranger_is_not_allowed_admin_commands(bot_harness: BotHarness) -> None:
    replies = await bot_harness.send(555, "/stats")
    assert [reply.text for reply in replies] == [
        "Sorry, this is only for the school's administrators."
    ]

"""A fake Telegram Bot API server for tests and benchmarks.

Why it exists: the broadcast bot must be exercised end to end -- real aiogram ``Bot``,
real HTTP, real error mapping -- without touching Telegram.  This package serves the
subset of the Bot API the bot uses on loopback, imitates Telegram's failure modes
(blocked users, deactivated accounts, migrated groups, 5xx / dropped connections,
flood limits with escalating ``retry_after``) and records everything it delivered so
tests and benchmarks can assert on it.  It lives outside ``tests/`` because the
benchmarks run it too.

In-process use (tests)::

    fake = FakeBotAPI(global_rate=30)
    url = await fake.start()
    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    fake.set_blocked(42)
    ...
    await fake.stop()

As a separate process (benchmarks)::

    python -m fake_bot_api --port 8081 --rate 30 --per-chat-interval 1 --latency 0.05

It prints ``READY http://127.0.0.1:8081`` on stdout once listening, runs until
SIGTERM/SIGINT and exposes control/inspection endpoints under ``/_fake/`` (see
:mod:`fake_bot_api.control` and the ``--help`` text).

Modules: ``records`` (what is recorded, chat behaviours), ``journal`` (the records of a
run and their statistics), ``store`` (known messages), ``wire`` (Bot API JSON shapes),
``updates`` (update queue and builders), ``messages`` and ``methods`` (the Bot API
emulation), ``control`` (``/_fake/`` endpoints), ``server`` (HTTP, routing, flood check,
``FakeBotAPI``).

Conventions:

* Requests go to ``/bot<token>/<method>``; the method name is case-insensitive.  A token
  other than ``FakeBotAPI.token`` answers 401 (pass ``token=None`` to accept any token).
* "Message" methods (``send*``, ``copyMessage``, ``forwardMessage``, ``editMessage*``)
  count toward flood limits and are subject to per-chat behaviours; other methods are not.
* A message request is *accepted* once it passed the flood check; accepted requests fill
  the global 1 s window and restart the chat's ``per_chat_interval`` clock even if the
  chat's behaviour then answers 403/400.  Flaky failures (502 / dropped connection / 429) and
  ``set_slow`` delays and ``hold`` (a request waits until ``release()``) happen *before*
  the flood check (they model the network path).
* Text is stored verbatim: ``parse_mode`` markup is not parsed.
* ``copyMessage`` copies content from a message the fake knows (one it sent, or one
  pushed through :meth:`FakeBotAPI.push_update`); an unknown source is still copied,
  with ``text`` = the ``caption`` override (or ``None``) and ``kind == "copy"``.
"""

from fake_bot_api.records import (
    BehaviourKind,
    ChatBehaviour,
    CommandsCall,
    Delivered,
    Edit,
    MessageState,
    RequestRecord,
    Upload,
)
from fake_bot_api.server import FakeBotAPI

__all__ = [
    "BehaviourKind",
    "ChatBehaviour",
    "CommandsCall",
    "Delivered",
    "Edit",
    "FakeBotAPI",
    "MessageState",
    "RequestRecord",
    "Upload",
]

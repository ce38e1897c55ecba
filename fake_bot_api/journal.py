"""The records of one run: deliveries, edits, requests, deletions, callback answers,
uploaded files and command menus, with the counters and statistics computed over them.

Why it exists: tests and benchmarks read what the fake saw; this keeps those records and
the questions asked of them in one place, apart from the HTTP and emulation code that
fills them.  :class:`Journal` is a base of ``FakeBotAPI``, so the records are its
attributes (``fake.delivered``, ``fake.edits``, ...).
"""

from __future__ import annotations

import json
import time
from typing import Any

from fake_bot_api.records import CommandsCall, Delivered, Edit, RequestRecord, Upload


def commands_key(scope: Any, language_code: str | None) -> tuple[str, str]:
    """Key of a command menu: the scope (a dict, its JSON, or None = default) and language."""
    if isinstance(scope, str):
        try:
            scope = json.loads(scope)
        except ValueError:
            scope = None
    scope = scope or {"type": "default"}
    return json.dumps(scope, sort_keys=True), language_code or ""


class Journal:
    """Records and counters; :meth:`_clear_journal` starts them afresh."""

    compact: bool  # keep only the fields tests need per delivery (see Delivered.params)
    record_requests: bool  # keep a RequestRecord per request (counters are kept anyway)

    def _clear_journal(self) -> None:
        self.delivered: list[Delivered] = []
        self.edits: list[Edit] = []
        self.requests: list[RequestRecord] = []
        self.deleted: list[tuple[int, int]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.uploads: dict[str, Upload] = {}  # file id -> the uploaded file
        self.commands_calls: list[CommandsCall] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, str] | None = None  # setWebhook's url and secret_token
        self._n_requests = 0
        self._n_429 = 0
        self._status_counts: dict[int, int] = {}
        self._method_counts: dict[str, int] = {}
        # incremental stats scan over `delivered`
        self._scan_idx = 0
        self._scan_seen: set[int] = set()
        self._scan_dup_chats: set[int] = set()
        self._scan_rate_j = 0
        self._scan_max_rate = 0

    def _record_request(self, name: str, chat_id: int | str | None, status: int) -> None:
        self._n_requests += 1
        self._status_counts[status] = self._status_counts.get(status, 0) + 1
        self._method_counts[name] = self._method_counts.get(name, 0) + 1
        if status == 429:
            self._n_429 += 1
        if self.record_requests:
            self.requests.append(RequestRecord(name, chat_id, status, time.monotonic()))

    # ------------------------------------------------------------------ queries

    def messages_to(self, chat_id: int | str) -> list[Delivered]:
        return [d for d in self.delivered if d.chat_id == chat_id]

    def edits_of(self, chat_id: int | str) -> list[Edit]:
        return [e for e in self.edits if e.chat_id == chat_id]

    def upload_of(self, message: Delivered) -> Upload:
        """The file uploaded with `message` (a document the bot sent from bytes)."""
        if message.file_id is None or message.file_id not in self.uploads:
            raise KeyError(f"no upload recorded for message {message!r}")
        return self.uploads[message.file_id]

    def count_429(self) -> int:
        return self._n_429

    def requests_for(self, method: str) -> list[RequestRecord]:
        low = method.lower()
        return [r for r in self.requests if r.method.lower() == low]

    def get_commands(
        self, scope: dict[str, Any] | None = None, language_code: str | None = None
    ) -> list[dict[str, Any]]:
        """Commands currently set for ``scope`` (default scope if None) and language."""
        return list(self.commands.get(commands_key(scope, language_code), []))

    def stats(self, per_chat: bool = False) -> dict[str, Any]:
        """Counters; ``duplicates`` = chats that got two deliveries with the same content
        (text/caption + file id); ``max_rate_1s`` = most deliveries in any 1 s window."""
        self._scan()
        out: dict[str, Any] = {
            "delivered": len(self.delivered),
            "edits": len(self.edits),
            "requests": self._n_requests,
            "count_429": self._n_429,
            "duplicates": len(self._scan_dup_chats),
            "duplicate_chat_ids": sorted(self._scan_dup_chats)[:100],
            "max_rate_1s": self._scan_max_rate,
            "status_counts": {str(k): v for k, v in sorted(self._status_counts.items())},
            "method_counts": dict(self._method_counts),
            "first_delivery_ts": self.delivered[0].timestamp if self.delivered else None,
            "last_delivery_ts": self.delivered[-1].timestamp if self.delivered else None,
            "now": time.monotonic(),
        }
        if per_chat:
            counts: dict[int, int] = {}
            for d in self.delivered:
                counts[d.chat_id] = counts.get(d.chat_id, 0) + 1
            out["chats"] = len(counts)
            out["per_chat_counts"] = {str(k): v for k, v in counts.items()}
        return out

    def _scan(self) -> None:
        delivered = self.delivered
        seen, dups = self._scan_seen, self._scan_dup_chats
        j, best = self._scan_rate_j, self._scan_max_rate
        for i in range(self._scan_idx, len(delivered)):
            d = delivered[i]
            key = hash((d.chat_id, d.text, d.file_id))
            if key in seen:
                dups.add(d.chat_id)
            else:
                seen.add(key)
            ts = d.timestamp
            while ts - delivered[j].timestamp >= 1.0:
                j += 1
            best = max(best, i - j + 1)
        self._scan_idx = len(delivered)
        self._scan_rate_j, self._scan_max_rate = j, best

    def _dump_records(self, tail: int) -> list[str]:
        lines = [f"last {tail} delivered:"]
        lines += [f"  {d!r}" for d in self.delivered[-tail:]]
        lines.append(f"last {tail} edits:")
        lines += [f"  {e!r}" for e in self.edits[-tail:]]
        lines.append(f"last {tail} requests:")
        lines += [f"  {r!r}" for r in self.requests[-tail:]]
        return lines

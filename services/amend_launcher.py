"""Edit or delete a sent announcement for everyone, in one call from the admin's
screen: the run is written (services/amend.py), then handed to the engine with its own
live progress message in the admin's chat (services/launcher.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.models import BroadcastKind
from services.amend import AmendPreview, AmendService, RunCreated
from services.launcher import Announce, BroadcastLauncher
from services.results import Started


@dataclass(frozen=True, slots=True)
class AmendStarted:
    created: RunCreated
    started: Started


class AmendLauncher:
    def __init__(self, amend: AmendService, launcher: BroadcastLauncher) -> None:
        self.service = amend
        self._launcher = launcher

    async def preview(self, broadcast_id: int, kind: BroadcastKind) -> AmendPreview:
        return await self.service.preview(broadcast_id, kind)

    async def edit(
        self,
        broadcast_id: int,
        text: str,
        entities: list[dict[str, Any]] | None,
        *,
        actor_id: int | None,
        progress_chat_id: int | None,
        language: str | None,
        announce: Announce | None = None,
    ) -> AmendStarted:
        created = await self.service.edit(broadcast_id, text, entities, actor_id)
        return await self._launch(created, progress_chat_id, language, announce)

    async def delete(
        self,
        broadcast_id: int,
        *,
        actor_id: int | None,
        progress_chat_id: int | None,
        language: str | None,
        announce: Announce | None = None,
    ) -> AmendStarted:
        created = await self.service.delete(broadcast_id, actor_id)
        return await self._launch(created, progress_chat_id, language, announce)

    async def _launch(
        self,
        created: RunCreated,
        chat_id: int | None,
        language: str | None,
        announce: Announce | None,
    ) -> AmendStarted:
        started = await self._launcher.launch_run(
            created.run_id, created.count, chat_id, language=language, announce=announce
        )
        return AmendStarted(created, started)

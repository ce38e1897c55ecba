"""The wizard's answers so far, kept in aiogram-dialog's `dialog_data`.

Everything stored is plain JSON (group codes, ids, names, the message's text, entity dicts
and file_id) so the conversation state can live in Redis and never holds Telegram or ORM
objects. `Draft` is the one place that knows the keys.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import Message, MessageEntity
from aiogram_dialog import DialogManager

from db.models import ContentKind, Role, TargetGroup
from services.content import BroadcastContent
from services.options import BroadcastOptions
from services.reminders import next_auto_remind
from services.targets import FILTER_KEYS, INCLUDE_KEY, STUDENT_GROUPS, Include, include_of

PICKED_GROUPS = (
    TargetGroup.BY_CLASS,
    TargetGroup.BY_SUBJECT,
    TargetGroup.BY_TUTOR,
    TargetGroup.BY_TEACHER,
)
"""Groups narrowed by picking one class, subject or person in a paged, searchable list."""
PICKED_ROLES: dict[TargetGroup, Role] = {
    TargetGroup.BY_TUTOR: Role.TUTOR,
    TargetGroup.BY_TEACHER: Role.TEACHER,
}
"""The picked groups whose list is of people, and their role."""
OPTION_NAMES = BroadcastOptions.names()


class Draft:
    """Typed access to `dialog_data`: the chosen audience, the group being narrowed, the
    picker's search text, a resolved custom list, the content and the delivery options."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @classmethod
    def of(cls, manager: DialogManager) -> Draft:
        return cls(manager.dialog_data)

    # --- the chosen audience ------------------------------------------------------------

    @property
    def target_group(self) -> TargetGroup | None:
        value = self._data.get("group")
        return None if value is None else TargetGroup(value)

    @property
    def target_filter(self) -> dict[str, Any]:
        return dict(self._data.get("filter", {}))

    @property
    def filter_name(self) -> str:
        return str(self._data.get("filter_name", ""))

    def set_audience(self, group: TargetGroup, item_id: int | None = None, name: str = "") -> None:
        """Choose the audience; `item_id` is the subject, tutor or teacher picked, `name`
        its name (a class is kept by its name)."""
        key = FILTER_KEYS.get(group)
        value = name if group is TargetGroup.BY_CLASS else item_id
        self._data["group"] = group.value
        self._data["filter"] = {key: value} if key and value is not None else {}
        self._data["filter_name"] = name

    @property
    def include(self) -> Include:
        return include_of(self._data.get("filter", {}))

    def set_include(self, include: Include) -> None:
        """Who of the chosen students receive it: them, their parents, or both."""
        chosen = dict(self._data.get("filter", {}))
        chosen.pop(INCLUDE_KEY, None)
        if include is not Include.STUDENTS:
            chosen[INCLUDE_KEY] = include.value
        self._data["filter"] = chosen

    def set_custom_audience(self, user_ids: list[int]) -> None:
        self._data["group"] = TargetGroup.CUSTOM.value
        self._data["filter"] = {"user_ids": user_ids}
        self._data["filter_name"] = ""

    # --- step 2 in progress -------------------------------------------------------------

    @property
    def narrowing(self) -> TargetGroup | None:
        """The group whose subject, person or list is being chosen in step 2."""
        value = self._data.get("narrowing")
        return None if value is None else TargetGroup(value)

    def start_narrowing(self, group: TargetGroup) -> None:
        self._data["narrowing"] = group.value
        self._data["query"] = ""
        self._data["custom_ids"] = []

    @property
    def query(self) -> str:
        return str(self._data.get("query", ""))

    @query.setter
    def query(self, value: str) -> None:
        self._data["query"] = value

    @property
    def custom_ids(self) -> list[int]:
        return list(self._data.get("custom_ids", []))

    @custom_ids.setter
    def custom_ids(self, value: list[int]) -> None:
        self._data["custom_ids"] = value

    # --- the content ----------------------------------------------------------------------

    @property
    def content(self) -> BroadcastContent | None:
        raw = self._data.get("content")
        if raw is None:
            return None
        return BroadcastContent(
            kind=ContentKind(raw["kind"]),
            text=raw["text"],
            entities=raw["entities"],
            file_id=raw["file_id"],
        )

    @content.setter
    def content(self, content: BroadcastContent) -> None:
        self._data["content"] = {
            "kind": content.kind.value,
            "text": content.text,
            "entities": content.entities,
            "file_id": content.file_id,
        }

    # --- the delivery options -------------------------------------------------------------

    @property
    def options(self) -> BroadcastOptions:
        """The options switched on so far (all off until the admin taps one)."""
        chosen = self._data.get("options", {})
        return BroadcastOptions(**{name: bool(chosen.get(name)) for name in OPTION_NAMES})

    def toggle_option(self, name: str) -> None:
        """Switch one option (a name of `BroadcastOptions`) on or off, and off the one it
        excludes (Urgent rings, Silent does not)."""
        self._data["options"] = self.options.toggled(name).columns()

    @property
    def auto_remind(self) -> int | None:
        """Minutes after sending starts for the automatic reminder; None: never (and
        always None unless it asks to confirm reading)."""
        if not self.options.ask_confirmation:
            return None
        value = self._data.get("auto_remind")
        return value if isinstance(value, int) else None

    def cycle_auto_remind(self) -> None:
        """The next choice: after 2 h, after 24 h, never."""
        self._data["auto_remind"] = next_auto_remind(self.auto_remind)


def step_of(draft: Draft, step: str) -> dict[str, int]:
    """`step` and `steps` for a window's header, counting only the steps of this draft's
    path: audience, the picker or list when its group needs one, who of the students
    when it is a group of students, content, options, preview. Before a group is chosen
    the total is not known (0)."""
    group = draft.narrowing if step == "narrow" else draft.target_group
    path = ["audience", "narrow", "who", "content", "options", "preview"]
    if group not in PICKED_GROUPS and group is not TargetGroup.CUSTOM:
        path.remove("narrow")
    if group not in STUDENT_GROUPS:
        path.remove("who")
    known = group is not None and step != "audience"
    return {"step": path.index(step) + 1, "steps": len(path) if known else 0}


def content_from_message(message: Message) -> BroadcastContent | None:
    """The broadcast content an admin's message carries, or None for kinds we don't send."""
    if message.text is not None:
        return BroadcastContent(ContentKind.TEXT, message.text, _entities(message.entities))
    file_id = _media_file_id(message)
    if file_id is None:
        return None
    kind, value = file_id
    return BroadcastContent(
        kind, message.caption or "", _entities(message.caption_entities), file_id=value
    )


def _media_file_id(message: Message) -> tuple[ContentKind, str] | None:
    # An animation also arrives with `document` set, so it is checked first.
    if message.animation is not None:
        return ContentKind.ANIMATION, message.animation.file_id
    if message.photo:
        return ContentKind.PHOTO, message.photo[-1].file_id  # the largest size
    if message.video is not None:
        return ContentKind.VIDEO, message.video.file_id
    if message.document is not None:
        return ContentKind.DOCUMENT, message.document.file_id
    return None


def _entities(entities: list[MessageEntity] | None) -> list[dict[str, Any]] | None:
    if not entities:
        return None
    return [entity.model_dump(exclude_none=True) for entity in entities]

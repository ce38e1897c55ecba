"""The compose wizard's steps, in the order an admin meets them."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class ComposeStates(StatesGroup):
    audience = State()  # 1: one of the target groups
    pick = State()  # 2: the class, subject, tutor or teacher, paged and searchable
    custom = State()  # 2: a typed list of user references
    who = State()  # 2 or 3: a group of students: them, their parents, or both
    content = State()  # 3: the message itself
    options = State()  # 4: confirm reading, silent, protected, urgent
    preview = State()  # 5: what recipients will see, who they are, what to do
    schedule = State()  # 6: when a scheduled broadcast goes out

"""Undo steps: each wraps changes already made through the journal and knows how to take them back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtGui import QUndoCommand

from steward.workspace.journal import ApplyResult, Change


class ChangeRunner(Protocol):
    """What an undo step needs of the session (which owns the stack): a way to apply changes again."""

    def run_changes(self, changes: Sequence[Change], *, long: bool, undoes: str | None) -> ApplyResult | None: ...

_MERGE_ID = 4242  # QUndoCommand ids only need to differ from other kinds of command


class ApplyCommand(QUndoCommand):
    """One undo step over one or more journal groups (merged typing in one field makes one step)."""

    def __init__(self, session: ChangeRunner, result: ApplyResult, text: str, *, long: bool = False,
                 merge_key: tuple[str, ...] | None = None) -> None:
        super().__init__(text)
        self.session = session
        self.forward: list[ApplyResult] = [result]  # what redo did, oldest first
        self.backward: ApplyResult | None = None  # what the last undo did
        self.long = long
        self.merge_key = merge_key
        self._first = True

    def id(self) -> int:
        return _MERGE_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, ApplyCommand) or other.merge_key != self.merge_key or self.merge_key is None:
            return False
        self.forward.extend(other.forward)
        return True

    def redo(self) -> None:
        if self._first:  # the change was made before the command was pushed
            self._first = False
            return
        if self.backward is None:
            return
        result = self.session.run_changes(self.backward.inverse(), long=self.long, undoes=self.backward.group_id)
        if result is not None:
            self.forward = [result]
        else:  # the workspace moved on (e.g. a sync); this step no longer applies
            self.setObsolete(True)

    def undo(self) -> None:
        changes: list[Change] = [c for result in reversed(self.forward) for c in result.inverse()]
        result = self.session.run_changes(changes, long=self.long, undoes=self.forward[-1].group_id)
        if result is not None:
            self.backward = result
        else:
            self.setObsolete(True)

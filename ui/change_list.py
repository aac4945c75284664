"""What the pending-changes and history views share: words for a recorded change, one-line cells, columns
fitted to their contents, and the message when reading failed."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QTableView, QTreeView

from steward.catalogue.errors import StewardError
from steward.catalogue.model import ENTRY_FIELD, ITEM_FIELD, Kind
from steward.catalogue.operations import OpKind
from steward.catalogue.vocabulary import label
from ui.session import Session

MAX_COLUMN_WIDTH = 260


def fill(template: str, *values: str) -> str:
    """Put `values` into %1, %2 … in one pass, so a value that itself contains "%2" stays as typed."""
    return re.sub(r"%(\d)", lambda m: values[int(m[1]) - 1] if 0 < int(m[1]) <= len(values) else m[0], template)


class ChangeDescriber(QObject):
    """Words for a recorded change: which field or data item, and its values with vocabulary labels.

    Shared by the pending-changes and history views. Field and vocabulary labels come from the core in
    the session's language; the words for whole-entry and data-item changes are translated here.
    """

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session

    def what(self, kind: OpKind, field: str | None, item_name: str = "") -> str:
        lang = self.session.language
        if kind in (OpKind.CREATE, OpKind.ERASE):
            return self.tr("Whole entry")
        if kind in (OpKind.ITEM_ADD, OpKind.ITEM_REMOVE):
            return self.tr("Data item “%1”").replace("%1", item_name)
        if kind is OpKind.ITEM_SET:
            spec = ITEM_FIELD.get(field or "")
            return fill(self.tr("Data item “%1”: %2"), item_name, spec.label(lang) if spec else field or "")
        spec = ENTRY_FIELD.get(field or "")
        return spec.label(lang) if spec else field or ""

    def before(self, kind: OpKind, field: str | None, value: Any) -> str:
        words = self._whole(kind)
        return words[0] if words else self.value(kind, field, value)

    def after(self, kind: OpKind, field: str | None, value: Any) -> str:
        words = self._whole(kind)
        return words[1] if words else self.value(kind, field, value)

    def _whole(self, kind: OpKind) -> tuple[str, str] | None:
        """Before and after of a change to a whole entry or data item, which has no field value to show."""
        if kind is OpKind.CREATE:
            return self.tr("(did not exist)"), self.tr("Created")
        if kind is OpKind.ERASE:
            return self.tr("Existed"), self.tr("Erased")
        if kind is OpKind.ITEM_ADD:
            return self.tr("(no such data item)"), self.tr("Added")
        if kind is OpKind.ITEM_REMOVE:
            return self.tr("Present"), self.tr("Removed")
        return None

    def value(self, kind: OpKind, field: str | None, value: Any) -> str:
        """A field's value as a person reads it: vocabulary keys as labels, lists joined, blanks named."""
        of_item = kind is OpKind.ITEM_SET
        spec = (ITEM_FIELD if of_item else ENTRY_FIELD).get(field or "")
        if value is None or value == "" or value == []:
            # A data item's own sharing or open attribute left blank follows the entry's.
            if of_item and field in ("sharing_type", "open_type"):
                return self.tr("(as the entry)")
            return self.tr("(empty)")
        if spec is not None and spec.kind is Kind.VOCAB and isinstance(value, str):
            return label(spec.vocabulary or "", value, self.session.language)
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)


def one_line(text: str, limit: int = 120) -> str:
    """Long texts (abstracts, conditions) on one line in the table; the tooltip has them whole."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def fit_columns(view: QTableView | QTreeView, columns: int) -> None:
    """Size every column but the last (it stretches) to its contents, no wider than MAX_COLUMN_WIDTH.

    Long values (an abstract) would push the last columns off screen; their tooltip has them whole.
    Measuring looks at the visible rows only (Qt samples them), so this stays quick on long lists.
    """
    for column in range(columns - 1):
        view.resizeColumnToContents(column)
        view.setColumnWidth(column, min(view.columnWidth(column), MAX_COLUMN_WIDTH))


def failure_text(template: str, error: BaseException, language: str) -> str:
    """`template` with %1 replaced by why reading failed, in the steward's language where the core says why."""
    message = error.message(language) if isinstance(error, StewardError) else str(error)
    return template.replace("%1", message)

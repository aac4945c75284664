"""Quick filters on the left: sharing, open, update frequency, has problems, changed since last sync."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QGroupBox, QVBoxLayout, QWidget

from steward.catalogue.vocabulary import Status, vocabulary
from steward.workspace.query import EntryFilter
from ui.i18n import Retranslating


class FilterPanel(Retranslating, QWidget):
    """Check boxes that make an EntryFilter (without text and classification, which come from elsewhere)."""

    changed = Signal()

    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[str, dict[str, QCheckBox]] = {}
        self.groups: dict[str, QGroupBox] = {}
        for name, columns in (("sharing_type", 1), ("open_type", 1), ("update_frequency", 2)):
            group = QGroupBox(self)
            grid = QGridLayout(group)
            self.boxes[name] = {}
            for n, term in enumerate(vocabulary(name).terms):
                box = QCheckBox(group)
                box.toggled.connect(self.changed)
                grid.addWidget(box, n // columns, n % columns)
                self.boxes[name][term.key] = box
            self.groups[name] = group
            layout.addWidget(group)
        self.state_group = QGroupBox(self)
        state_layout = QVBoxLayout(self.state_group)
        self.problems_box = QCheckBox(self.state_group)
        self.changed_box = QCheckBox(self.state_group)
        self.hide_retired_box = QCheckBox(self.state_group)
        for box in (self.problems_box, self.changed_box, self.hide_retired_box):
            box.toggled.connect(self.changed)
            state_layout.addWidget(box)
        layout.addWidget(self.state_group)
        layout.addStretch(1)
        self.retranslate()

    def retranslate(self) -> None:
        for name, boxes in self.boxes.items():
            vocab = vocabulary(name)
            self.groups[name].setTitle(vocab.label(self.language))
            for key, box in boxes.items():
                box.setText(vocab.term(key).label(self.language))
                box.setAccessibleName(f"{vocab.label(self.language)}: {box.text()}")
        self.state_group.setTitle(self.tr("State"))
        self.problems_box.setText(self.tr("Has problems"))
        self.changed_box.setText(self.tr("Changed since last sync"))
        self.hide_retired_box.setText(self.tr("Hide retired entries"))

    def set_language(self, language: str) -> None:
        self.language = language
        self.retranslate()

    def entry_filter(self, text: str = "", classification: str = "") -> EntryFilter:
        def chosen(name: str) -> frozenset[str]:
            return frozenset(k for k, box in self.boxes[name].items() if box.isChecked())

        return EntryFilter(
            text=text,
            classification=classification,
            sharing_types=chosen("sharing_type"),
            open_types=chosen("open_type"),
            update_frequencies=chosen("update_frequency"),
            has_problems=True if self.problems_box.isChecked() else None,
            changed=self.changed_box.isChecked(),
            statuses=frozenset({Status.ACTIVE}) if self.hide_retired_box.isChecked() else frozenset(),
        )

    def clear(self) -> None:
        for boxes in self.boxes.values():
            for box in boxes.values():
                box.setChecked(False)
        for box in (self.problems_box, self.changed_box, self.hide_retired_box):
            box.setChecked(False)

"""待办 (requests to this department) and 我的申请 (this department's requests): searchable lists and their steps.

The inbox is sorted by due date, the overdue in red; its steward approves (with conditions) or refuses (with a
reason). My requests say who answered and on what conditions; a refusal can be escalated, a waiting request
withdrawn. Each step is signed with the steward's key, checked by the core and sent at the next sync.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QHideEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.messages import render
from steward.sync.keys import SigningKey
from steward.sync.requests import inbox
from steward.sync.requests.inbox import Answer, Box, RequestSummary
from steward.sync.requests.state import AWAITING_ANSWER, RequestStatus
from steward.workspace.workspace import Workspace
from ui import operations
from ui.change_list import failure_text, fit_columns, one_line
from ui.department_label import department_label, signer_label
from ui.i18n import Retranslating
from ui.operations import LatestRead
from ui.request_answer import AnswerDialog, Answering
from ui.request_trail import RequestTrailDialog
from ui.session import Session

Index = QModelIndex | QPersistentModelIndex
OVERDUE = QColor("#c62828")  # red, readable on light and dark rows
SEPARATOR = "\n"  # between a row's column texts in what the filter searches: one_line leaves none in them
WITHDRAWABLE = {str(status) for status in AWAITING_ANSWER} | {inbox.UNSENT}


@dataclass(frozen=True)
class RequestRow:
    summary: RequestSummary
    answer: Answer | None  # the last review, decision or outcome


class Column:
    DUE, LEFT, STATUS, CODE, REQUESTER, PROVIDER, PURPOSE, ANSWERED_BY, CONDITIONS, UNTIL = range(10)


COLUMNS = {
    Box.INBOX: (Column.DUE, Column.LEFT, Column.STATUS, Column.CODE, Column.REQUESTER, Column.PURPOSE, Column.UNTIL),
    Box.MINE: (Column.STATUS, Column.CODE, Column.PROVIDER, Column.ANSWERED_BY, Column.CONDITIONS, Column.UNTIL,
               Column.DUE, Column.PURPOSE),
}
ANSWER_COLUMNS = {Column.ANSWERED_BY, Column.CONDITIONS}
HAYSTACK_SLICE = 500  # rows whose filter texts are made between two events (about 5 ms)
PREPARE_AFTER_MS = 100  # after the rows are shown: the slices never hold up their first paint
ONE_LINE_ALREADY = frozenset({Column.DUE, Column.LEFT, Column.STATUS, Column.UNTIL})


class Rows(Sequence[RequestRow]):
    """A box's rows, each made when first read, and the counts the status line says.

    Read from the core's lazy listing, a 10,000-request inbox opens having made the summaries of the rows in
    sight only; the filter and a sort by a column make the others when first asked.
    """

    def __init__(self, summaries: Sequence[RequestSummary], answers: dict[str, Answer]) -> None:
        self._summaries = summaries
        self._answers = answers
        self._made: list[RequestRow | None] = [None] * len(summaries)

    @classmethod
    def of(cls, rows: Sequence[RequestRow]) -> Rows:
        """Rows made already (each keeps its own answer)."""
        if isinstance(rows, Rows):
            return rows
        made = cls([row.summary for row in rows], {})
        made._made = list(rows)
        return made

    def __len__(self) -> int:
        return len(self._summaries)

    def __getitem__(self, index: int) -> RequestRow:  # type: ignore[override] - rows are read one at a time
        made = self._made[index]
        if made is None:
            summary = self._summaries[index]
            made = self._made[index] = RequestRow(summary, self._answers.get(summary.request_id))
        return made

    def request_id(self, index: int) -> str:
        summaries = self._summaries
        return summaries.request_id(index) if isinstance(summaries, inbox.Listing) else summaries[index].request_id

    def count_status(self, status: str) -> int:
        summaries = self._summaries
        if isinstance(summaries, inbox.Listing):
            return summaries.count_status(status)
        return sum(1 for summary in summaries if summary.status == status)

    def count_overdue(self) -> int:
        summaries = self._summaries
        if isinstance(summaries, inbox.Listing):
            return summaries.count_overdue()
        return sum(1 for summary in summaries if summary.overdue)


def read_requests(workspace: Workspace, box: Box) -> Rows:
    """The box's requests; with their last answers where the box shows them (the inbox does not: reading
    every answered request's steps would double the time the inbox takes to open)."""
    found = inbox.answers(workspace) if ANSWER_COLUMNS & set(COLUMNS[box]) else {}
    rows = Rows(inbox.listing(workspace, box), found)
    if box is Box.INBOX:  # the status line's counts, worked out here on the worker rather than as the list shows
        rows.count_status(RequestStatus.AWAITING_DECISION)
        rows.count_overdue()
    return rows


class RequestsModel(QAbstractTableModel):
    """The requests of one box as a table, filtered and sorted here; the overdue rows in red.

    The model filters and sorts by itself, over each row's texts worked out once: a QSortFilterProxyModel
    would call data() for every cell of every row at each keystroke (10,000 requests: p95 330 ms a key).
    """

    def __init__(self, session: Session, box: Box, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.columns = COLUMNS[box]
        self._all = Rows([], {})
        # Texts many rows share, made once per language: departments, statuses, working days left.
        self._labels: dict[tuple[str, str | None], str] = {}
        self._statuses: dict[str, str] = {}
        self._days_left: dict[tuple[int, bool], str] = {}
        self._order: list[int] = []  # positions in _all, sorted as asked (the core's order by default)
        self._shown: list[int] = []  # _order, filtered
        # Each row's texts, case-folded, for the filter: made a slice at a time between events once the rows
        # are shown (prepare_filter: the first key typed finds them ready), or at once when the filter needs them.
        self._haystacks: list[str] = []
        self._preparing = QTimer(self)
        self._preparing.setInterval(0)
        self._preparing.timeout.connect(self._prepare_slice)
        self._after_paint = QTimer(self)  # the rows are painted first: then the slices start
        self._after_paint.setSingleShot(True)
        self._after_paint.setInterval(PREPARE_AFTER_MS)
        self._after_paint.timeout.connect(self._preparing.start)
        self._needle = ""
        self._sorting: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)

    def set_rows(self, rows: Sequence[RequestRow]) -> None:
        self.beginResetModel()
        self._all = Rows.of(rows)
        self._forget_haystacks()
        self._order = self._sorted(*self._sorting)
        self._shown = self._filtered()
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        """Show only the rows with `text` in any column's text, whatever its case."""
        self.beginResetModel()
        self._needle = text.casefold()
        self._shown = self._filtered()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """By `column` (-1: the core's order, soonest due first); the selected rows stay selected."""
        self.layoutAboutToBeChanged.emit()
        kept = self.persistentIndexList()
        positions = [self._shown[index.row()] for index in kept]
        self._sorting = (column, order)
        self._order = self._sorted(column, order)
        self._shown = self._filtered()
        row_of = {position: row for row, position in enumerate(self._shown)}
        self.changePersistentIndexList(kept, [self.index(row_of[position], index.column())
                                              for position, index in zip(positions, kept, strict=True)])
        self.layoutChanged.emit()

    def _sorted(self, column: int, order: Qt.SortOrder) -> list[int]:
        positions = list(range(len(self._all)))
        if not 0 <= column < len(self.columns):
            return positions
        every = self._all
        keys = [self._sort_key(every[position].summary, self.columns[column]) for position in positions]
        return sorted(positions, key=keys.__getitem__, reverse=order == Qt.SortOrder.DescendingOrder)

    def _filtered(self) -> list[int]:
        if not self._needle:
            return list(self._order)
        if SEPARATOR in self._needle:  # no column's text (on one line) holds it: nothing matches
            return []
        self._prepare_slice(len(self._all))
        needle, haystacks = self._needle, self._haystacks
        return [position for position in self._order if needle in haystacks[position]]

    def _forget_haystacks(self) -> None:
        self._haystacks = []
        self.prepare_filter(False)

    def prepare_filter(self, start: bool = True) -> None:
        """Make the filter's texts between events from shortly after now (start false: stop making them)."""
        self._preparing.stop()
        if start and len(self._haystacks) < len(self._all):
            self._after_paint.start()
        else:
            self._after_paint.stop()

    def _prepare_slice(self, count: int = HAYSTACK_SLICE) -> None:
        """The filter's texts of the next `count` rows (a slice: a few milliseconds between events)."""
        every, haystacks = self._all, self._haystacks
        for position in range(len(haystacks), min(len(haystacks) + count, len(every))):
            haystacks.append(self._haystack(every[position]))
        if len(haystacks) == len(every):
            self._preparing.stop()
            self._after_paint.stop()

    def _haystack(self, row: RequestRow) -> str:
        texts = []
        for column in self.columns:
            text = self._text(row, column)
            # Dates, codes and the texts made here are on one line already: one_line only for the others.
            texts.append(text if column in ONE_LINE_ALREADY and "\n" not in text else one_line(text))
        return SEPARATOR.join(texts).casefold()

    def request_row(self, row: int) -> RequestRow | None:
        return self._all[self._shown[row]] if 0 <= row < len(self._shown) else None

    def row_of(self, request_id: str) -> int | None:
        """Where the request is shown; None when it is not (filtered out, or not in the box)."""
        every = self._all
        return next((row for row, position in enumerate(self._shown) if every.request_id(position) == request_id),
                    None)

    def every_row(self) -> Rows:
        """The box's rows, the filtered out included."""
        return self._all

    def retranslate(self) -> None:
        self._forget_haystacks()  # statuses, days left and departments read in the new language
        self._labels.clear()
        self._statuses.clear()
        self._days_left.clear()
        if self._needle:
            self.set_filter(self._needle)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.columns) - 1)
        if self._shown:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._shown) - 1, len(self.columns) - 1))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if not 0 <= section < len(self.columns):
            return None
        return {Column.DUE: self.tr("Due"), Column.LEFT: self.tr("Working days left"), Column.STATUS: self.tr("Status"),
                Column.CODE: self.tr("Resource code"), Column.REQUESTER: self.tr("Requesting department"),
                Column.PROVIDER: self.tr("Providing department"), Column.PURPOSE: self.tr("Purpose"),
                Column.ANSWERED_BY: self.tr("Answered by"), Column.CONDITIONS: self.tr("Conditions"),
                Column.UNTIL: self.tr("Until")}[self.columns[section]]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        found = self.request_row(index.row()) if index.isValid() else None
        if found is None or not 0 <= index.column() < len(self.columns):
            return None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return one_line(self._text(found, column))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._text(found, column) or None
        if role == Qt.ItemDataRole.ForegroundRole and found.summary.overdue:
            return OVERDUE
        return None

    def _sort_key(self, summary: RequestSummary, column: int) -> Any:
        if column in (Column.DUE, Column.LEFT):  # no due date (answered): after every date
            return summary.due or "9999-12-31"
        return self._text(RequestRow(summary, None), column)

    def _text(self, row: RequestRow, column: int) -> str:
        summary, answer = row.summary, row.answer
        if column == Column.DUE:
            return summary.due or ""
        if column == Column.LEFT:
            left = summary.working_days_left
            if left is None:
                return ""
            text = self._days_left.get((left, summary.overdue))
            if text is None:
                text = self._days_left[(left, summary.overdue)] = (
                    self.tr("overdue by %n working day(s)", "", -left) if summary.overdue
                    else self.tr("%n working day(s)", "", left))
            return text
        if column == Column.STATUS:
            text = self._statuses.get(summary.status)
            if text is None:
                text = self._statuses[summary.status] = render(f"request.status.{summary.status}", None,
                                                               self.session.language)
            return text
        if column == Column.CODE:
            return summary.entry_code
        if column == Column.REQUESTER:
            return self._department(summary.requester, summary.requester_name)
        if column == Column.PROVIDER:
            return self._department(summary.provider, summary.provider_name)
        if column == Column.PURPOSE:
            return summary.purpose
        if column == Column.ANSWERED_BY:
            if answer is None:
                return ""
            if answer.department is None:
                return self.tr("%1 (%2)").replace("%1", answer.signer).replace("%2", self.tr("the data authority"))
            return signer_label(answer.signer, answer.department, answer.department_name)
        if column == Column.CONDITIONS:
            return answer.conditions if answer is not None else ""
        return summary.until

    def _department(self, code: str, name: str | None) -> str:
        label = self._labels.get((code, name))
        if label is None:
            label = self._labels[(code, name)] = department_label(code, name)
        return label


class RequestsDialog(Retranslating, QDialog):
    """One box of requests with a filter box; the steps its department may take on the selected request."""

    loaded = Signal()  # the list was (re)read
    signed = Signal()  # a step was signed and queued: counts and lists elsewhere read again

    def __init__(self, session: Session, box: Box, unlock: Callable[[], SigningKey | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.box = box
        self.unlock = unlock
        self._reading = LatestRead(session, self._loaded, self._failed, self)
        self.model = RequestsModel(session, box, self)
        self._build()
        self.retranslate()
        session.catalogue_changed.connect(self.reload)  # a sync brings answers and new requests
        self.reload()

    def _build(self) -> None:
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.search = QLineEdit(self)
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)  # every column: code, department, purpose, status…
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the core's order (soonest due first) until asked
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        # Columns fit the rows in sight, not the first 1,000 (Qt's default): 10,000 requests opened in 140 ms more.
        self.view.horizontalHeader().setResizeContentsPrecision(0)
        self.view.activated.connect(lambda _index: self.show_trail())  # double-click, or Enter
        self.view.selectionModel().selectionChanged.connect(self._update_actions)

        self.first_button, self.second_button, self.trail_button = QPushButton(self), QPushButton(self), \
            QPushButton(self)
        first, second = (Answering.APPROVE, Answering.REFUSE) if self.box is Box.INBOX else \
            (Answering.ESCALATE, Answering.WITHDRAW)
        self.first_button.clicked.connect(lambda: self.answer(first))
        self.second_button.clicked.connect(lambda: self.answer(second))
        self.trail_button.clicked.connect(self.show_trail)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)
        for button in (self.first_button, self.second_button, self.trail_button,
                       self.buttons.button(QDialogButtonBox.StandardButton.Close)):
            button.setAutoDefault(False)  # Enter on a row shows its trail, never signs anything
        row = QHBoxLayout()
        for button in (self.first_button, self.second_button, self.trail_button):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self.resize(1000, 480)
        self._update_actions()

    def retranslate(self) -> None:
        inbox_box = self.box is Box.INBOX
        self.setWindowTitle(self.tr("Inbox: requests to my department") if inbox_box else self.tr("My requests"))
        self.search.setPlaceholderText(self.tr("Filter by code, department, purpose, status…"))
        self.search.setAccessibleName(self.tr("Filter requests"))
        self.view.setAccessibleName(self.windowTitle())
        if inbox_box:
            self.first_button.setText(self.tr("&Approve…"))
            self.second_button.setText(self.tr("&Refuse…"))
        else:
            self.first_button.setText(self.tr("&Escalate…"))
            self.second_button.setText(self.tr("&Withdraw…"))
        self.trail_button.setText(self.tr("Signed &trail"))
        self.trail_button.setToolTip(self.tr("The request and every signed step of it (Enter or double-click)"))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("&Close"))
        self.model.retranslate()
        self._show_status()

    # Loading -------------------------------------------------------------------------------------

    def reload(self) -> None:
        box = self.box
        self._reading.run(lambda workspace: read_requests(workspace, box))
        self._show_status()

    def is_loading(self) -> bool:
        return self._reading.loading

    def _loaded(self, rows: list[RequestRow]) -> None:
        chosen = self.current()
        first_rows = self.model.rowCount() == 0
        self.model.set_rows(rows)
        if first_rows and rows:
            fit_columns(self.view, self.model.columnCount())
        self.model.prepare_filter(self.isVisible())
        if chosen is not None:
            self.select(chosen.summary.request_id)
        self._update_actions()
        self._show_status()
        self.loaded.emit()

    def hideEvent(self, event: QHideEvent) -> None:
        self.model.prepare_filter(False)  # a closed list makes nothing; shown again, the filter makes what is left
        super().hideEvent(event)

    def _filter(self, text: str) -> None:
        chosen = self.current()
        self.model.set_filter(text)
        if chosen is not None:
            self.select(chosen.summary.request_id)
        self._update_actions()

    def _failed(self, error: BaseException) -> None:
        self.status.setText(failure_text(self.tr("The requests could not be read: %1"), error, self.session.language))

    def _show_status(self) -> None:
        if self._reading.loading and not self.model.rowCount():
            self.status.setText(self.tr("Reading the requests…"))
            return
        rows = self.model.every_row()
        if self.box is Box.INBOX:
            waiting = rows.count_status(RequestStatus.AWAITING_DECISION)
            overdue = rows.count_overdue()
            text = self.tr("%n request(s) wait for your answer", "", waiting)
            self.status.setText(text + self.tr("; %n overdue", "", overdue) if overdue else text)
        else:
            self.status.setText(self.tr("%n request(s) made by your department", "", len(rows)))

    # The selected request ------------------------------------------------------------------------

    def current(self) -> RequestRow | None:
        index = self.view.currentIndex()
        return self.model.request_row(index.row()) if index.isValid() else None

    def select(self, request_id: str) -> bool:
        row = self.model.row_of(request_id)
        if row is None:
            return False
        flags = QItemSelectionModel.SelectionFlag
        self.view.selectionModel().setCurrentIndex(self.model.index(row, 0), flags.ClearAndSelect | flags.Rows)
        return True

    def _update_actions(self) -> None:
        found = self.current()
        status = found.summary.status if found else ""
        if self.box is Box.INBOX:
            allowed = status == RequestStatus.AWAITING_DECISION
            self.first_button.setEnabled(allowed)
            self.second_button.setEnabled(allowed)
        else:
            self.first_button.setEnabled(status == RequestStatus.REFUSED)
            self.second_button.setEnabled(status in WITHDRAWABLE)
        self.trail_button.setEnabled(found is not None)

    def answer(self, answering: Answering) -> AnswerDialog | None:
        """Ask for the step's words in a dialog; once given, sign and queue it (sent at the next sync)."""
        found = self.current()
        if found is None:
            return None
        dialog = AnswerDialog(answering, found.summary, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._sign(answering, found.summary.request_id, dialog.words()))
        dialog.open()
        return dialog

    def _sign(self, answering: Answering, request_id: str, words: str) -> bool:
        key = self.unlock()
        if key is None:
            return False
        act, option = {Answering.APPROVE: (inbox.approve, "conditions"), Answering.REFUSE: (inbox.refuse, "reason"),
                       Answering.ESCALATE: (inbox.escalate, "reason"),
                       Answering.WITHDRAW: (inbox.withdraw, "reason")}[answering]

        def step(workspace: Workspace) -> object:
            return act(workspace, inbox.steward_of(workspace, key), request_id, **{option: words})

        ok, _outcome = operations.write(self.session, step, ())
        if ok:
            self.reload()
            self.signed.emit()
        return ok

    def show_trail(self) -> RequestTrailDialog | None:
        found = self.current()
        if found is None:
            return None
        dialog = RequestTrailDialog(self.session, found.summary.request_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

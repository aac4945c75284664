"""Preferences: the window's language and how to reach the exchange (address, certificate bundle, proxy, timeouts).

A proxy typed with its login (http://user:password@host:port) is kept as http://user@host:port;
the password goes to the OS keyring and never into the settings file.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.errors import StewardError
from steward.sync.exchange_client import forget_proxy_login, remember_proxy_login
from steward.sync.network_errors import read_ca_bundle, without_password
from ui.i18n import Retranslating, core_language, effective_language
from ui.settings import Settings

# A host name (RFC 1123 labels, internationalised names typed as they are) or an IPv4/bracketed IPv6 address.
_HOST_LABEL = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$")


def _valid_host(host: str) -> bool:
    if not host or len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    return all(_HOST_LABEL.match(part) for part in host.rstrip(".").split("."))


def _parse(text: str, login: bool = False) -> QUrl | None:
    """A strictly parsed http(s) URL with a host, and no user name or password unless `login`; or None."""
    if any(c.isspace() for c in text):
        return None
    url = QUrl(text, QUrl.ParsingMode.StrictMode)
    if not url.isValid() or url.scheme().lower() not in ("http", "https"):
        return None
    if (url.userInfo() and not (login and url.userName())) or not _valid_host(url.host()):
        return None
    if "://" not in text or not (url.port() == -1 or 0 < url.port() < 65536):
        return None
    return url


def is_valid_exchange_url(text: str) -> bool:
    """http(s)://host[:port], optionally with a path (the exchange may live under one); empty means not set."""
    text = text.strip()
    if not text:
        return True
    url = _parse(text)
    return url is not None and not url.hasQuery() and not url.hasFragment()


def is_valid_proxy(text: str) -> bool:
    """http(s)://[user[:password]@]host:port and nothing more; empty means no proxy."""
    text = text.strip()
    if not text:
        return True
    url = _parse(text, login=True)
    return url is not None and url.port() != -1 and url.path() in ("", "/") and not url.hasQuery() \
        and not url.hasFragment()


class SettingsDialog(Retranslating, QDialog):
    """Edits the preferences; OK writes them, and announces a new language so the window switches at once."""

    language_changed = Signal(str)  # 'system', 'zh_CN' or 'en'

    LANGUAGES = ("system", "zh_CN", "en")

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._build()
        self.retranslate()
        self._load()
        self._validate()

    # Building -----------------------------------------------------------------------------

    def _build(self) -> None:
        self.language_label = QLabel(self)
        self.language_combo = QComboBox(self)
        for key in self.LANGUAGES:
            self.language_combo.addItem("", key)
        self.language_label.setBuddy(self.language_combo)

        self.exchange_label = QLabel(self)
        self.exchange_edit = QLineEdit(self)
        self.exchange_label.setBuddy(self.exchange_edit)
        self.exchange_error = self._error_label()

        self.ca_label = QLabel(self)
        self.ca_edit = QLineEdit(self)
        self.ca_button = QPushButton(self)
        self.ca_button.setAutoDefault(False)
        self.ca_button.clicked.connect(self.choose_ca_bundle)
        self.ca_label.setBuddy(self.ca_edit)
        self.ca_error = self._error_label()
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit, 1)
        ca_row.addWidget(self.ca_button)

        self.proxy_label = QLabel(self)
        self.proxy_edit = QLineEdit(self)
        self.proxy_label.setBuddy(self.proxy_edit)
        self.proxy_error = self._error_label()

        self.timeout_label = QLabel(self)
        self.connect_spin = self._seconds_box(1, 600)
        self.read_spin = self._seconds_box(1, 3600)
        self.deadline_spin = self._seconds_box(5, 86400)
        self.timeout_texts = [QLabel(self) for _ in range(3)]
        timeouts = QHBoxLayout()
        for text, spin in zip(self.timeout_texts, (self.connect_spin, self.read_spin, self.deadline_spin),
                              strict=True):
            text.setBuddy(spin)
            timeouts.addWidget(text)
            timeouts.addWidget(spin)
        timeouts.addStretch(1)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow(self.language_label, self.language_combo)
        form.addRow(self.exchange_label, self.exchange_edit)
        form.addRow("", self.exchange_error)
        form.addRow(self.ca_label, ca_row)
        form.addRow("", self.ca_error)
        form.addRow(self.proxy_label, self.proxy_edit)
        form.addRow("", self.proxy_error)
        form.addRow(self.timeout_label, timeouts)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        self.setTabOrder(self.language_combo, self.exchange_edit)
        self.setTabOrder(self.exchange_edit, self.ca_edit)
        self.setTabOrder(self.ca_edit, self.ca_button)
        self.setTabOrder(self.ca_button, self.proxy_edit)
        self.setTabOrder(self.proxy_edit, self.connect_spin)
        self.setTabOrder(self.connect_spin, self.read_spin)
        self.setTabOrder(self.read_spin, self.deadline_spin)
        self.setTabOrder(self.deadline_spin, self.buttons)
        for edit in (self.exchange_edit, self.ca_edit, self.proxy_edit):
            edit.textChanged.connect(self._validate)
        self.setMinimumWidth(600)

    def _seconds_box(self, least: int, most: int) -> QSpinBox:
        box = QSpinBox(self)
        box.setRange(least, most)
        return box

    def _error_label(self) -> QLabel:
        label = QLabel(self)
        label.setStyleSheet("color: #b00020")
        label.hide()
        return label

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Settings"))
        # Each language is named in its own words, so a steward who cannot read the current one still finds theirs.
        self.language_combo.setItemText(0, self.tr("Follow system"))
        self.language_combo.setItemText(1, "中文")
        self.language_combo.setItemText(2, "English")
        self.language_label.setText(self.tr("&Language:"))
        self.language_combo.setAccessibleName(self.tr("Language"))
        self.exchange_label.setText(self.tr("&Exchange address:"))
        self.exchange_edit.setAccessibleName(self.tr("Exchange address"))
        self.exchange_edit.setPlaceholderText(self.tr("https://exchange.example.gov.cn"))
        self.ca_label.setText(self.tr("&Certificate bundle:"))
        self.ca_edit.setAccessibleName(self.tr("Certificate bundle file"))
        self.ca_edit.setPlaceholderText(self.tr("Only for a private certificate authority"))
        self.ca_button.setText(self.tr("C&hoose…"))
        self.ca_button.setAccessibleName(self.tr("Choose the certificate bundle file"))
        self.proxy_label.setText(self.tr("&Proxy:"))
        self.proxy_edit.setAccessibleName(self.tr("Proxy"))
        self.proxy_edit.setPlaceholderText(self.tr("http://proxy.example.gov.cn:8080 (empty: none)"))
        self.proxy_edit.setToolTip(self.tr("With a login: http://user:password@host:port. The password is kept in "
                                           "the system's keyring, not in the settings."))
        self.timeout_label.setText(self.tr("Waiting:"))
        self.timeout_texts[0].setText(self.tr("co&nnect"))
        self.timeout_texts[1].setText(self.tr("each &answer"))
        self.timeout_texts[2].setText(self.tr("whole s&ync"))
        self.connect_spin.setAccessibleName(self.tr("Seconds to wait for a connection"))
        self.read_spin.setAccessibleName(self.tr("Seconds to wait for each answer of the exchange"))
        self.deadline_spin.setAccessibleName(self.tr("Seconds a whole sync may take before it stops"))
        self.deadline_spin.setToolTip(self.tr("A sync that takes longer stops; what it finished is kept and the "
                                              "next sync continues."))
        for spin in (self.connect_spin, self.read_spin, self.deadline_spin):
            spin.setSuffix(self.tr(" s"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("OK"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self._validate()

    def _load(self) -> None:
        self.language_combo.setCurrentIndex(max(self.language_combo.findData(self.settings.language), 0))
        self.exchange_edit.setText(self.settings.exchange_url)
        self.ca_edit.setText(self.settings.ca_bundle)
        self.proxy_edit.setText(self.settings.proxy)
        self.connect_spin.setValue(round(self.settings.connect_timeout))
        self.read_spin.setValue(round(self.settings.read_timeout))
        self.deadline_spin.setValue(round(self.settings.sync_deadline))

    # Checking -----------------------------------------------------------------------------

    def _problems(self) -> dict[QLabel, str]:
        """The message for each field that is wrong now (empty fields are fine: the setting is then unset)."""
        problems: dict[QLabel, str] = {}
        if not is_valid_exchange_url(self.exchange_edit.text()):
            problems[self.exchange_error] = self.tr(
                "Enter the address as http://host or https://host, with :port if needed.")
        bundle = self.ca_edit.text().strip()
        if bundle:
            problem = self._bundle_problem(bundle)
            if problem:
                problems[self.ca_error] = problem
        if not is_valid_proxy(self.proxy_edit.text()):
            problems[self.proxy_error] = self.tr(
                "Enter the proxy as http://host:port (with a login: http://user:password@host:port), or leave it "
                "empty.")
        return problems

    def _bundle_problem(self, bundle: str) -> str | None:
        """What is wrong with the certificate bundle file, checked as the sync will load it; None if nothing."""
        try:
            read_ca_bundle(bundle)
        except StewardError as error:
            if error.code == "exchange.ca_bundle_missing":
                return self.tr("No such file: choose the certificate bundle (.pem or .crt) again.")
            if error.code == "exchange.ca_bundle_invalid":
                return self.tr("%1 is not a certificate file: ask the administrator for the certificate of the "
                               "authority as a .pem, .crt or .cer file.").replace("%1", Path(bundle).name)
            return self.tr("%1 cannot be read: %2").replace("%1", Path(bundle).name).replace(
                "%2", str(error.params.get("reason", "")))
        return None

    def _validate(self) -> bool:
        problems = self._problems()
        for label in (self.exchange_error, self.ca_error, self.proxy_error):
            label.setText(problems.get(label, ""))
            label.setVisible(label in problems)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problems)
        return not problems

    def is_valid(self) -> bool:
        return self._validate()

    # Acting --------------------------------------------------------------------------------

    def choose_ca_bundle(self) -> None:
        start = self.ca_edit.text().strip() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Certificate bundle"), start,
            self.tr("Certificates (*.pem *.crt *.cer);;All files (*)"),
        )
        if path:
            self.ca_edit.setText(path)

    def language(self) -> str:
        return self.language_combo.currentData() or "system"

    def accept(self) -> None:
        """Write the settings; refuse (and keep the dialog open) while a field is wrong."""
        if not self._validate():
            return
        typed = self.proxy_edit.text().strip()
        try:
            if without_password(typed) != self.settings.proxy:
                forget_proxy_login(self.settings.proxy)  # no password of a proxy no longer used stays behind
            proxy = remember_proxy_login(typed)
        except StewardError as error:  # no keyring to keep the password in: nothing is written
            self.proxy_error.setText(error.message(core_language(effective_language(self.settings.language))))
            self.proxy_error.show()
            return
        previous = self.settings.language
        self.settings.language = self.language()
        self.settings.exchange_url = self.exchange_edit.text()
        self.settings.ca_bundle = self.ca_edit.text()
        self.settings.proxy = proxy
        self.settings.connect_timeout = self.connect_spin.value()
        self.settings.read_timeout = self.read_spin.value()
        self.settings.sync_deadline = self.deadline_spin.value()
        self.settings.sync()
        super().accept()
        if self.language() != previous:
            self.language_changed.emit(self.language())

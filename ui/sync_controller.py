"""The Sync action: unlock the key, confirm the exchange on first contact, sync on a worker with progress and cancel.

Network and disk work run on workers; the GUI thread only asks the steward (passphrase,
fingerprint) and shows what happened, in entries received and sent. The signing key is unlocked
for one sync and not kept. One sync at a time: asking again meanwhile is told, not started.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox, QWidget

from steward.catalogue.errors import StewardError
from steward.catalogue.messages import render
from steward.sync import identity, joining, publish_preview, summary, syncer
from steward.sync.exchange_client import Connection, ExchangeClient, ExchangeRefused, proxy_with_login
from steward.sync.keys import SigningKey, Storage, spaced
from steward.workspace.journal import Cancelled
from ui.progress import run_with_progress
from ui.publish_preview import summary_text
from ui.session import Session
from ui.workers import Job


class SyncController(QObject):
    synced = Signal(object)  # the SyncReport
    summarised = Signal(object)  # the SyncSummary: entries received, sent, and those not sent
    conflicts_found = Signal()
    still_waiting = Signal(str)  # the exchange is slow to answer: shown in the progress dialog

    def __init__(self, session: Session, parent: QWidget) -> None:
        super().__init__(parent)
        self.session = session
        self.window = parent
        self.exchange_url_override: str | None = None  # the demo's own exchange
        self.passphrase: str | None = None  # the demo supplies its own key files' passphrase
        self.running = False

    # What the sync needs ----------------------------------------------------------------------

    def exchange_url(self) -> str:
        return (self.exchange_url_override or self.session.settings.exchange_url
                or self.session.workspace.facts().get("exchange_url", ""))

    def client(self, key: SigningKey | None) -> ExchangeClient:
        """A client with the settings' network options; the proxy's password comes from the OS keyring."""
        settings = self.session.settings
        # The settings' CA bundle, else the one a profile brought (saved beside the workspace).
        ca_bundle = settings.ca_bundle or self.session.workspace.facts().get(joining.CA_FACT) or None
        return ExchangeClient(Connection(self.exchange_url(), ca_bundle=ca_bundle,
                                         proxy=proxy_with_login(settings.proxy) if settings.proxy else None,
                                         connect_timeout=settings.connect_timeout,
                                         read_timeout=settings.read_timeout, deadline=settings.sync_deadline), key)

    def _tell_waiting(self, client: ExchangeClient, job: Job) -> None:
        """While an answer is slow, the progress dialog says the sync still waits, and how long it still may."""
        def tell(waited: float, left: float) -> None:
            text = (self.tr("Still waiting for the exchange… (%1 s so far; giving up in at most %2 s)")
                    .replace("%1", str(round(waited))).replace("%2", str(round(left))))
            job.note(text)
            self.still_waiting.emit(text)
        client.waiting = tell

    def signing_key(self) -> SigningKey | None:
        """The steward's key, unlocked as for a sync (None: none, or not unlocked), to sign a sharing request's step."""
        return self._unlock()

    def _unlock(self) -> SigningKey | None:
        info = identity.key_info(self.session.workspace)
        if info is None:
            QMessageBox.information(self.window, self.tr("Sync"), self.tr(
                "This workspace has no signing key yet. Create one (Sync ▸ Create signing key), give the "
                "exported public key to the exchange's administrator for enrollment, then sync."))
            return None
        secret: list[str] = [self.passphrase] if self.passphrase else []
        if info.storage is Storage.FILE and not secret:
            text, ok = QInputDialog.getText(self.window, self.tr("Unlock signing key"),
                                            self.tr("Passphrase of the signing key:"), QLineEdit.EchoMode.Password)
            if not ok:
                return None
            secret.append(text)
        try:
            return identity.signing_key(self.session.workspace, lambda _new: secret[0] if secret else "")
        except StewardError as error:
            QMessageBox.warning(self.window, self.tr("Sync"), error.message(self.session.language))
            return None

    def _confirm_exchange(self, client: ExchangeClient) -> str | None:
        """The fingerprint the steward confirmed on first contact ('' when one is pinned already); None: declined."""
        if self.session.workspace.facts().get("exchange_key"):
            return ""
        def ask(job: Job) -> dict:
            self._tell_waiting(client, job)
            return client.server_info()

        ok, outcome = run_with_progress(self.session.runner, self.window, self.tr("Contacting the exchange…"), ask,
                                        write=False, cancellable=False)
        if not ok:
            self._report_failure(outcome)
            return None
        try:
            fingerprint = syncer.offered_key(outcome, client.base).fingerprint
        except StewardError as error:  # a key no honest exchange has: never offered for trust
            self._report_failure(error)
            return None
        answer = QMessageBox.question(self.window, self.tr("Confirm the exchange"), self.tr(
            "First contact with the exchange at %1. Compare its key fingerprint with the one its administrator "
            "gave you:\n\n%2\n\nTrust this exchange?").replace("%1", client.base).replace("%2", spaced(fingerprint)))
        return fingerprint if answer == QMessageBox.StandardButton.Yes else None

    def _confirm_publication(self) -> bool:
        """What the public will see change; a sync that publishes or withdraws datasets is confirmed first.

        Field changes of datasets already published are not asked about: every edit of an open entry would be.
        """
        workspace = self.session.workspace
        ok, outcome = run_with_progress(self.session.runner, self.window, self.tr("Previewing what will be published…"),
                                        lambda job: publish_preview.preview(workspace, job.progress), write=False)
        if not ok:
            self._report_failure(outcome)
            return False
        if not (outcome.appearing or outcome.withdrawn):
            return True
        answer = QMessageBox.question(self.window, self.tr("Sync"), summary_text(outcome) + "\n\n" + self.tr(
            "Sync now? (Sync ▸ Publish preview lists the datasets.)"))
        return answer == QMessageBox.StandardButton.Yes

    # Syncing ------------------------------------------------------------------------------------

    def run(self) -> syncer.SyncReport | None:
        if self.running:  # Ctrl+S again before the first sync's dialog shows: say so, start nothing
            self._tell(self.tr("A sync is already running."), 5000)
            return None
        self.running = True
        try:
            return self._run()
        finally:
            self.running = False

    def _run(self) -> syncer.SyncReport | None:
        if not self.exchange_url():
            QMessageBox.information(self.window, self.tr("Sync"),
                                    self.tr("No exchange address is set: enter it in File ▸ Settings."))
            return None
        try:  # the network settings first: a certificate bundle deleted since it was chosen, before the passphrase
            client = self.client(None)
        except StewardError as error:
            self._report_failure(error)
            return None
        key = client.key = self._unlock()
        if key is None:
            client.close()
            return None
        try:
            confirmed = self._confirm_exchange(client)
            if confirmed is None or not self._confirm_publication():
                return None
            workspace = self.session.workspace

            def work(job: Job) -> tuple[syncer.SyncReport, summary.SyncSummary]:
                self._tell_waiting(client, job)
                job.on_cancel(client.cancel)  # a request the exchange is slow to answer ends at once
                before = summary.mark(workspace)
                report = syncer.sync(workspace, client, key, trust=lambda offered: offered == confirmed,
                                     progress=lambda _stage, done, total: job.progress(done, total),
                                     cancelled=lambda: job.cancelled)
                return report, summary.summarise(workspace, before, report)

            title = self.tr("Syncing with the exchange…")
            ok, outcome = run_with_progress(self.session.runner, self.window, title, work)
        finally:
            client.close()
        # Remote changes may have touched what older undo steps would overwrite: they start afresh.
        self.session.undo_stack.clear()
        self.session.catalogue_changed.emit()
        if not ok:
            self._report_failure(outcome)
            return None
        report, result = outcome
        self.synced.emit(report)
        self._summarise(report, result)
        return report

    def _tell(self, message: str, msecs: int) -> None:
        status_bar = getattr(self.window, "statusBar", None)
        if status_bar:
            status_bar().showMessage(message, msecs)

    def _summarise(self, report: syncer.SyncReport, result: summary.SyncSummary) -> None:
        """What came and went, in entries, in the status bar; the entries not sent are the window's to list."""
        self._tell(self.tr("Synced: received %1, sent %2").replace("%1", self.tr("%n update(s)", "", result.received))
                   .replace("%2", self.tr("%n change(s)", "", result.sent)), 15000)
        self.summarised.emit(result)
        if report.exchange_key_moved:
            QMessageBox.information(self.window, self.tr("Sync"), render("sync.server_key_rotated", {
                "url": self.exchange_url(), "old": spaced(report.exchange_key_moved[0]),
                "new": spaced(report.exchange_key_moved[1])}, self.session.language))
        if report.conflicts or syncer.status(self.session.workspace).conflicts:
            self.conflicts_found.emit()

    def _report_failure(self, error: object) -> None:
        if isinstance(error, Cancelled | syncer.SyncCancelled):
            text = self.tr("Sync cancelled: what was finished is kept; the next sync continues.")
        elif isinstance(error, ExchangeRefused) and error.status == 401 and \
                joining.awaiting_approval(self.session.workspace):
            info = identity.key_info(self.session.workspace)
            text = render("sync.awaiting_approval", {"key_id": info.key_id if info else "?"}, self.session.language)
        elif isinstance(error, ExchangeRefused) and error.status == 401:
            text = self.tr("The exchange does not accept this workspace's key. Give the exported public key to the "
                      "exchange's administrator for enrollment.")
        elif isinstance(error, StewardError):
            text = error.message(self.session.language)
        elif isinstance(error, ExchangeRefused):
            text = self.tr("The exchange refused: %1").replace("%1", error.message)
        else:
            raise error  # type: ignore[misc]  # a bug: the crash handler shows and logs it
        QMessageBox.warning(self.window, self.tr("Sync"), text)

    # Enrollment ----------------------------------------------------------------------------------------

    def enrollment_status(self) -> str:
        """What the exchange says of this workspace's key now (on a worker: it asks over the network)."""
        info = identity.require_key(self.session.workspace)
        client = self.client(None)
        try:
            return client.enrollment_status(info.key_id)
        finally:
            client.close()

    # Keys ----------------------------------------------------------------------------------------

    def create_key(self) -> identity.KeyInfo | None:
        workspace = self.session.workspace
        existing = identity.key_info(workspace)
        if existing is not None:
            QMessageBox.information(self.window, self.tr("Signing key"), self.tr("This workspace's key:\n%1")
                                    .replace("%1", spaced(existing.fingerprint)))
            return existing

        def ask(new: bool) -> str:
            text, ok = QInputDialog.getText(
                self.window, self.tr("Signing key"),
                self.tr("No secure keyring is available here: choose a passphrase (8 characters or more) to protect "
                   "the key."), QLineEdit.EchoMode.Password)
            if not ok:
                raise Cancelled()
            return text

        try:
            info = identity.create_key(workspace, ask)
        except Cancelled:
            return None
        except StewardError as error:
            QMessageBox.warning(self.window, self.tr("Signing key"), error.message(self.session.language))
            return None
        QMessageBox.information(self.window, self.tr("Signing key"), self.tr(
            "Created the signing key. Its fingerprint:\n%1\n\nExport the public key (Sync ▸ Export public key) "
            "and give it to the exchange's administrator for enrollment.").replace("%1", spaced(info.fingerprint)))
        return info

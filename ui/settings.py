"""The app's settings on QSettings: a steward's preferences, and window state kept between runs."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from steward.sync.exchange_client import Connection

LANGUAGES = ("system", "zh_CN", "en")


class Settings:
    """Typed access to QSettings; tests pass their own QSettings file."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or QSettings("Steward", "Steward")

    def _text(self, key: str, default: str = "") -> str:
        value = self.store.value(key, default)
        return value if isinstance(value, str) else default

    # Preferences ------------------------------------------------------------------------

    @property
    def language(self) -> str:
        value = self._text("prefs/language", "system")
        return value if value in LANGUAGES else "system"

    @language.setter
    def language(self, value: str) -> None:
        self.store.setValue("prefs/language", value if value in LANGUAGES else "system")

    @property
    def exchange_url(self) -> str:
        return self._text("prefs/exchange_url")

    @exchange_url.setter
    def exchange_url(self, value: str) -> None:
        self.store.setValue("prefs/exchange_url", value.strip())

    @property
    def ca_bundle(self) -> str:
        return self._text("prefs/ca_bundle")

    @ca_bundle.setter
    def ca_bundle(self, value: str) -> None:
        self.store.setValue("prefs/ca_bundle", value.strip())

    @property
    def proxy(self) -> str:
        """The proxy's address, with its user name but never a password (that is in the OS keyring)."""
        return self._text("prefs/proxy")

    @proxy.setter
    def proxy(self, value: str) -> None:
        self.store.setValue("prefs/proxy", value.strip())

    # How long to wait for the exchange (seconds); the defaults are the core's.

    def _seconds(self, key: str, default: float) -> float:
        try:
            value = float(self.store.value(key, default))
        except (TypeError, ValueError):
            return default
        return value if value > 0 else default

    @property
    def connect_timeout(self) -> float:
        return self._seconds("prefs/connect_timeout", Connection("").connect_timeout)

    @connect_timeout.setter
    def connect_timeout(self, value: float) -> None:
        self.store.setValue("prefs/connect_timeout", float(value))

    @property
    def read_timeout(self) -> float:
        return self._seconds("prefs/read_timeout", Connection("").read_timeout)

    @read_timeout.setter
    def read_timeout(self, value: float) -> None:
        self.store.setValue("prefs/read_timeout", float(value))

    @property
    def sync_deadline(self) -> float:
        return self._seconds("prefs/sync_deadline", Connection("").deadline)

    @sync_deadline.setter
    def sync_deadline(self, value: float) -> None:
        self.store.setValue("prefs/sync_deadline", float(value))

    @property
    def export_base_uri(self) -> str:
        """The open data portal's address the DCAT-AP and data.json exports build on (File ▸ Export)."""
        return self._text("prefs/export_base_uri")

    @export_base_uri.setter
    def export_base_uri(self, value: str) -> None:
        self.store.setValue("prefs/export_base_uri", value.strip())

    @property
    def export_license(self) -> str:
        return self._text("prefs/export_license")

    @export_license.setter
    def export_license(self, value: str) -> None:
        self.store.setValue("prefs/export_license", value.strip())

    @property
    def last_workspace(self) -> str:
        return self._text("state/last_workspace")

    @last_workspace.setter
    def last_workspace(self, value: str) -> None:
        self.store.setValue("state/last_workspace", value)

    # Window state -----------------------------------------------------------------------

    def state(self, key: str) -> QByteArray | None:
        value = self.store.value(f"state/{key}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_state(self, key: str, value: QByteArray) -> None:
        self.store.setValue(f"state/{key}", value)

    def sync(self) -> None:
        self.store.sync()

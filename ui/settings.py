"""The app's settings on QSettings: a steward's preferences, and window state kept between runs."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from steward.sync.exchange_client import Connection

LANGUAGES = ("system", "zh_CN", "en")


class _Text:
    """A text setting, kept stripped (or as given, for state)."""

    def __init__(self, key: str, strip: bool = True) -> None:
        self.key, self.strip = key, strip

    def __get__(self, settings: Settings, owner: type | None = None) -> str:
        value = settings.store.value(self.key, "")
        return value if isinstance(value, str) else ""

    def __set__(self, settings: Settings, value: str) -> None:
        settings.store.setValue(self.key, value.strip() if self.strip else value)


class _Seconds:
    """A positive number of seconds; anything else reads as the core's default."""

    def __init__(self, key: str, default: float) -> None:
        self.key, self.default = key, default

    def __get__(self, settings: Settings, owner: type | None = None) -> float:
        try:
            value = float(settings.store.value(self.key, self.default))
        except (TypeError, ValueError):
            return self.default
        return value if value > 0 else self.default

    def __set__(self, settings: Settings, value: float) -> None:
        settings.store.setValue(self.key, float(value))


_DEFAULTS = Connection("")  # the core's timeouts are the window's defaults


class Settings:
    """Typed access to QSettings; tests pass their own QSettings file."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or QSettings("Steward", "Steward")

    # Preferences ------------------------------------------------------------------------

    @property
    def language(self) -> str:
        value = self.store.value("prefs/language", "system")
        return value if value in LANGUAGES else "system"

    @language.setter
    def language(self, value: str) -> None:
        self.store.setValue("prefs/language", value if value in LANGUAGES else "system")

    exchange_url = _Text("prefs/exchange_url")
    ca_bundle = _Text("prefs/ca_bundle")
    proxy = _Text("prefs/proxy")  # with its user name but never a password (that is in the OS keyring)
    # How long to wait for the exchange.
    connect_timeout = _Seconds("prefs/connect_timeout", _DEFAULTS.connect_timeout)
    read_timeout = _Seconds("prefs/read_timeout", _DEFAULTS.read_timeout)
    sync_deadline = _Seconds("prefs/sync_deadline", _DEFAULTS.deadline)
    # The open data portal's address the DCAT-AP and data.json exports build on (File ▸ Export).
    export_base_uri = _Text("prefs/export_base_uri")
    export_license = _Text("prefs/export_license")
    last_workspace = _Text("state/last_workspace", strip=False)
    export_folder = _Text("state/export_folder", strip=False)  # where the last export went: the next is proposed there

    # Window state -----------------------------------------------------------------------

    @property
    def hidden_columns(self) -> list[str] | None:
        """The catalogue table's columns the steward chose to hide, by key; None until a choice was made."""
        if not self.store.contains("state/hidden_columns"):
            return None
        value = self.store.value("state/hidden_columns", "")
        # Kept as one comma-joined text: QSettings gives an empty list back as nothing at all.
        return [key for key in value.split(",") if key] if isinstance(value, str) else None

    @hidden_columns.setter
    def hidden_columns(self, keys: list[str]) -> None:
        self.store.setValue("state/hidden_columns", ",".join(keys))

    def state(self, key: str) -> QByteArray | None:
        value = self.store.value(f"state/{key}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_state(self, key: str, value: QByteArray) -> None:
        self.store.setValue(f"state/{key}", value)

    def sync(self) -> None:
        self.store.sync()

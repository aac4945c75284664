"""Installing the UI language: our own translations and Qt's, switchable while the app runs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QGuiApplication

from ui.resources import resource_dir


def effective_language(choice: str) -> str:
    """'zh_CN' or 'en' for a settings choice ('system', 'zh_CN', 'en')."""
    if choice in ("zh_CN", "en"):
        return choice
    return "zh_CN" if QLocale.system().language() == QLocale.Language.Chinese else "en"


def application_name() -> str:
    """The app's name in the UI's language: Steward in English, 数据资源目录管理 in Chinese."""
    return QCoreApplication.translate("app", "Steward")


def core_language(ui_language: str) -> str:
    """The core's language code ('zh' or 'en') for a UI language."""
    return "zh" if ui_language.startswith("zh") else "en"


class Retranslating:
    """Mixed into a widget ahead of its Qt class: on Qt's LanguageChange the widget's `retranslate()` runs.

    Qt sends LanguageChange to every widget when a translator is installed or removed, so a widget that
    sets its texts in `retranslate()` follows a language switch while the app runs.
    """

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()  # type: ignore[attr-defined]
        super().changeEvent(event)  # type: ignore[misc]


class Translators:
    """Keeps the installed translators so a language switch can replace them (Qt then sends LanguageChange)."""

    def __init__(self) -> None:
        self._installed: list[QTranslator] = []
        self.language = "en"

    def install(self, app: QCoreApplication, choice: str) -> str:
        """Install the catalogues of `choice`; the app's display name (window titles, About) follows."""
        for translator in self._installed:
            app.removeTranslator(translator)
        self._installed = []
        self.language = effective_language(choice)
        if self.language == "en":
            QLocale.setDefault(QLocale(QLocale.Language.English))
        else:
            QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
            qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
            ours = str(resource_dir() / "translations")
            # In this order: Qt asks the last installed first, so ours can fill the gaps in Qt's own catalogue.
            for name, folder in (
                ("qtbase_zh_CN.qm", qt_dir),
                ("qtbase_supplement_zh_CN.qm", ours),
                ("steward_zh_CN.qm", ours),
            ):
                translator = QTranslator(app)
                if translator.load(name, folder):
                    app.installTranslator(translator)
                    self._installed.append(translator)
        if isinstance(app, QGuiApplication):
            app.setApplicationDisplayName(application_name())
        return self.language

    def has_steward_catalogue(self) -> bool:
        return any(t.filePath().endswith("steward_zh_CN.qm") for t in self._installed)

    def catalogues(self) -> list[str]:
        """The file names of the installed catalogues, ours and Qt's (empty in English)."""
        return [Path(t.filePath()).name for t in self._installed]

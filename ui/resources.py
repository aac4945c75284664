"""Where the app's resources (translations, icons, templates) are, from a checkout or a bundle."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon


def resource_dir() -> Path:
    """`resources/` beside the packages, or inside the PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def icon(name: str) -> QIcon:
    """An SVG icon from resources/icons (scales cleanly on high-DPI screens)."""
    return QIcon(str(resource_dir() / "icons" / f"{name}.svg"))

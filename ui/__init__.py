"""Steward's desktop client (PySide6): windows, models, delegates and dialogs over the core in `steward`."""

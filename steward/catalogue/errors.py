"""The one exception the core raises for conditions a person must read about."""

from __future__ import annotations

from steward.catalogue.messages import render


class StewardError(Exception):
    """A failure with a stable code and named parameters, rendered in the reader's language."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(render(code, params, "en"))

    def message(self, lang: str | None = None) -> str:
        return render(self.code, self.params, lang)

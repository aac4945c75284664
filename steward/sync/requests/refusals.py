"""Why a sharing request's step is refused: a stable code and its parameters, worded in messages.py."""

from __future__ import annotations

from steward.catalogue.errors import StewardError
from steward.sync.changeset import FormatProblem


class StepRefused(StewardError):
    """A step that may not be recorded: outside the format, signed by the wrong key, or not allowed now.

    `code` is one of the `request.*` codes of steward/catalogue/messages.py (docs/protocol.md § 3a lists
    them); nothing of a refused step is applied.
    """


class StepInvalid(StepRefused):
    """A step outside the format: every problem with its path, as a changeset's (at most 100)."""

    def __init__(self, problems: list[FormatProblem]) -> None:
        self.problems = problems
        super().__init__("request.invalid", problems="; ".join(f"{p.path}: {p.reason}" for p in problems[:5]))

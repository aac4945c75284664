"""What a department that is not a party to a request receives of its steps: the sealed header, not the body.

A request's content (the entry and items, purpose, scenario, conditions, reasons, names) is for the
two departments and the data authority only. Every other department still receives each step, so
that it can check the whole log, but redacted: the body is replaced by its hash, which the signature
covers. From a redacted step a third department can check the format, the signature (by an enrolled
key of the department the header names, or by the exchange's key), the step's digest (the same as
the whole step's, which the exchange's log records) and its place in the request's chain; it learns
the step's kind, the request's id, the step's place and who signed, and nothing of the body, which a
128-bit nonce keeps from being guessed from its hash. docs/protocol.md § 3a.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from steward.sync.changeset import GENESIS
from steward.sync.requests.documents import SealedStep, Step, StepKind, parse_sealed
from steward.sync.requests.refusals import StepRefused
from steward.sync.requests.state import RequestState, Signer, check_signer


def redact(step: Step) -> dict[str, Any]:
    """The redacted form of `step`: its header, its body's hash and its signature."""
    return step.sealed.to_dict()


def shown_to(step: Step, state: RequestState, reader: str | None) -> dict[str, Any]:
    """`step` as the department `reader` receives it (None: the data authority, which reads everything).

    Whole for the using and the providing department of the request `state` is the state of, redacted
    for every other department.
    """
    if reader is None or reader in state.parties():
        return step.to_dict()
    return redact(step)


def verify_redacted(document: Any, find_key: Callable[[str], Signer | None]) -> SealedStep:
    """A redacted step, checked: in the format, signed by a key that may sign its kind for its department.

    Raises StepInvalid or StepRefused (request.key_unknown, request.bad_signature, …) otherwise.
    """
    sealed = parse_sealed(document)
    check_signer(sealed, find_key)
    return sealed


def check_chain(steps: Sequence[SealedStep]) -> None:
    """Refuse (StepRefused) steps that are not one request's chain from its request on, each naming the last.

    Works on redacted steps as on whole ones (`Step.sealed`): the digests are the same.
    """
    prev = GENESIS
    for seq, step in enumerate(steps, start=1):
        first_is_request = (seq == 1) == (step.kind is StepKind.REQUEST)
        if step.request_id != steps[0].request_id or not first_is_request or step.seq != seq or step.prev != prev:
            raise StepRefused("request.out_of_order", seq=step.seq, expected=seq)
        prev = step.digest()

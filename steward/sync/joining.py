"""Joining an exchange with a department profile: the workspace, the pinned exchange key, the steward's key,
and a signed enrollment request that waits for the administrator's approval.

Everything that can be refused is checked before anything is written: the profile's signature (by
`read_profile`), the workspace already in the folder (its department, the exchange it pinned) and
the exchange at the profile's address (it must be the exchange the profile names). Joining again
with the same profile continues where an interrupted join stopped: it reuses the workspace, the
pin and the key, and sends the request again (the exchange recognises it). A workspace that is
joined already (its request waits for approval, or it has synced) is only opened: `examine` says
which, without the network.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from steward.catalogue.errors import StewardError
from steward.sync import identity
from steward.sync.enrollment import make_request
from steward.sync.exchange_client import Connection, ExchangeClient
from steward.sync.keys import PassphraseSource, PublicKey, SigningKey, spaced, unb64
from steward.sync.network_errors import read_ca_bundle
from steward.sync.profile import Profile
from steward.sync.protocol import follow_rotations
from steward.sync.syncer import ENROLLMENT_FACT, offered_key, pin_exchange
from steward.workspace.journal import Cancelled
from steward.workspace.workspace import DB_FILE, Workspace, default_path

CA_FILE = "exchange-ca.pem"
CA_FACT = "exchange_ca_bundle"  # the workspace fact naming the profile's CA certificate, saved beside it
PENDING = "pending"
# What Windows refuses in a file name, and control characters: a department's name becomes a folder's.
_NOT_IN_FOLDER_NAMES = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


@dataclass(frozen=True)
class Joined:
    folder: Path
    key_id: str
    fingerprint: str
    status: str  # what the exchange says of the key: pending, enrolled, revoked or declined


class Found(Enum):
    """What a folder chosen for a profile's workspace holds."""

    NOTHING = "nothing"  # no workspace: joining makes one
    UNJOINED = "unjoined"  # the department's workspace, its request not sent (yet): joining continues in it
    JOINED = "joined"  # the department's workspace joined to this exchange already: it is only opened


def default_folder(profile: Profile, base: Path | None = None) -> Path:
    """Where a profile's workspace goes unless the steward says otherwise: a folder named after the department,
    beside the default workspace (in the user's data folder)."""
    name = _NOT_IN_FOLDER_NAMES.sub("_", profile.department_name).strip(" .") or profile.department_code
    return (base if base is not None else default_path().parent) / name


def check_workspace(ws: Workspace, profile: Profile) -> None:
    """Refuse a profile for another department, or for another exchange than the one the workspace pinned."""
    if ws.department_code != profile.department_code:
        raise StewardError("profile.other_department", department=f"{ws.department_name} {ws.department_code}",
                           profile=f"{profile.department_name} {profile.department_code}")
    check_pinned(ws, profile)


def check_pinned(ws: Workspace, profile: Profile) -> None:
    """Refuse a profile for another exchange than the one the workspace pinned (none pinned: any)."""
    facts = ws.facts()
    pinned_id, pinned_key = facts.get("exchange_id"), facts.get("exchange_key")
    if pinned_id and (pinned_id != profile.exchange_id or pinned_key != profile.exchange_public.to_b64()):
        raise StewardError("profile.other_exchange", url=facts.get("exchange_url", "?"),
                           pinned=spaced(PublicKey(unb64(pinned_key or "")).fingerprint) if pinned_key else "?",
                           offered=spaced(profile.exchange_public.fingerprint))


def joined_already(ws: Workspace) -> bool:
    """Whether the workspace is joined to the exchange it pinned: its request waits for approval, or it synced."""
    facts = ws.facts()
    return bool(facts.get("exchange_key") and facts.get("key_id")) and (
        awaiting_approval(ws) or bool(facts.get("last_sync")))


def examine(folder: Path, profile: Profile) -> Found:
    """What `folder` holds for `profile`; a workspace of another department or exchange is refused (no network)."""
    folder = Path(folder).expanduser()
    if not (folder / DB_FILE).exists():
        return Found.NOTHING
    with Workspace.open(folder) as ws:
        check_workspace(ws, profile)
        return Found.JOINED if joined_already(ws) else Found.UNJOINED


def connection_for(folder: Path, profile: Profile, ca_bundle: str | None = None) -> Connection:
    """How to reach the profile's exchange: through its CA certificate, saved beside the workspace, if it has one."""
    if ca_bundle is None and profile.ca_certificate:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / CA_FILE
        path.write_text(profile.ca_certificate, encoding="utf-8")
        read_ca_bundle(str(path))  # a certificate, or a clear refusal now rather than at every sync
        ca_bundle = str(path)
    return Connection(profile.exchange_url, ca_bundle=ca_bundle)


def check_exchange(client: ExchangeClient, profile: Profile) -> PublicKey:
    """The exchange's key, if the server at the profile's address is the profile's exchange (rotations followed)."""
    info = client.server_info()
    offered = offered_key(info, client.base)
    same = info.get("exchange_id") == profile.exchange_id and (
        offered == profile.exchange_public
        or follow_rotations(profile.exchange_public, offered, info.get("key_rotations"), profile.exchange_id))
    if not same:
        raise StewardError("profile.exchange_mismatch", url=client.base,
                           expected=spaced(profile.exchange_public.fingerprint), offered=spaced(offered.fingerprint))
    return offered


def join(folder: Path, profile: Profile, passphrase: PassphraseSource, steward: str | None = None,
         ca_bundle: str | None = None, *, on_client: Callable[[ExchangeClient], None] | None = None,
         cancelled: Callable[[], bool] = lambda: False) -> Joined:
    """Join with a profile: the workspace in `folder` (made, or the one there), its key (made if none), the request.

    `on_client` is given the exchange client as soon as it exists (a window cancels its requests through it);
    once `cancelled()` says so, nothing more is begun: a cancel before the exchange was checked leaves nothing
    written, one later leaves a workspace that joining again continues in.
    """
    folder = Path(folder).expanduser()
    if (folder / DB_FILE).exists():
        with Workspace.open(folder) as ws:
            check_workspace(ws, profile)
    connection = connection_for(folder, profile, ca_bundle)
    client = ExchangeClient(connection)
    if on_client is not None:
        on_client(client)
    try:
        offered = check_exchange(client, profile)
        if cancelled():
            raise Cancelled()
        ws = Workspace.open(folder, for_writing=True) if (folder / DB_FILE).exists() else \
            Workspace.create(folder, profile.department_code, profile.department_name)
        with ws:
            info = identity.key_info(ws) or identity.create_key(ws, passphrase, steward)
            if cancelled():
                raise Cancelled()
            status = _request(ws, client, profile, offered, identity.signing_key(ws, passphrase))
    finally:
        client.close()
    return Joined(folder, info.key_id, info.fingerprint, status)


def _request(ws: Workspace, client: ExchangeClient, profile: Profile, offered: PublicKey, key: SigningKey) -> str:
    """Pin the exchange (if not yet), remember its CA certificate, and send the enrollment request; its status."""
    if not ws.facts().get("exchange_key"):
        pin_exchange(ws, client.base, profile.exchange_id, offered)
    if client.connection.ca_bundle:
        ws.set_fact(CA_FACT, client.connection.ca_bundle)
    info = identity.require_key(ws)
    status = client.request_enrollment(make_request(key, profile.exchange_id, ws.department_code, info.steward))
    if status == PENDING:
        ws.set_fact(ENROLLMENT_FACT, PENDING)
    return status


def awaiting_approval(ws: Workspace) -> bool:
    """Whether this workspace sent an enrollment request the exchange has not been seen to approve yet."""
    return ws.facts().get(ENROLLMENT_FACT) == PENDING

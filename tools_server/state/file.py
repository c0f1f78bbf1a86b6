"""What `tools-server call` keeps between invocations: a JSON file next to the store, one entry per account.

Each `call` is a new process and so a new session. So that a cursor printed by one call works in the next, `undo`
reverses the previous call's write (or any kept ``write`` handle) and `resend_writes` finishes a batch an earlier
call left unconfirmed, the account's mirror (with its sync token), its cursors' views, its last write, its undo
handles, its pending batches and its recent removals are saved after each call and restored before the next, keyed
by the token's fingerprint (never the token).

Every entry is a record of the one codec (``state/records.py``), sealed with a key that needs both the account's
token and a random key kept beside the file (``<file>.key``, created readable by its owner only): someone who can
write the state file but not read the key file cannot make a call read anything into its session. The records of the
in-process store are already sealed with that key (``MemoryState(server_secret=...)``), so they are saved as they are.

An earlier version wrote this file field by field (``"version": 1``); such a file is not read, and each account it
held is told so once, on its next call.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import msgspec

from tools_server.state.memory import MemoryAccount
from tools_server.state.records import FORMAT, MIRROR, SNAPSHOT, UNDO, VIEW, Refused, Sealed
from tools_server.state.sessions import Session
from tools_server.state.views import Snapshots, joined, split
from tools_server.sync.commands import Item

logger = logging.getLogger(__name__)

MAX_SAVED_CURSORS = 8
MAX_SAVED_WRITES = 8  # undo handles; each holds the before-images of its write
KEY_BYTES = 32


def state_path(db: Path) -> Path:
    return db.with_name(db.name + ".call-state.json")


def key_path(state: Path) -> Path:
    return state.with_name(state.name + ".key")


def server_key(state: Path) -> bytes:
    """The file's half of every seal: read from ``<state>.key``, or made (random, owner-only) when there is none.

    Written under another name and linked into place, so two calls starting at once agree on one key."""
    path = key_path(state)
    try:
        key = path.read_bytes()
        if len(key) == KEY_BYTES:
            return key
        logger.warning("call state: %s is not a key this version made; a new one replaces it", path)
        path.unlink()
    except FileNotFoundError:
        pass
    # With a Todoist token nothing else makes the data directory (no local store is opened): a fresh machine has none.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
        with contextlib.suppress(FileExistsError):  # another call made one first: use that
            os.link(temporary, path)
    finally:
        temporary.unlink()
    return path.read_bytes()


class _Entry(msgspec.Struct, forbid_unknown_fields=True):
    mac: str  # hex
    body: msgspec.Raw  # the record's JSON, exactly the bytes the seal covers


class _File(msgspec.Struct, forbid_unknown_fields=True):
    format: int
    accounts: dict[str, dict[str, _Entry]]  # fingerprint -> slot -> sealed record
    # Accounts an earlier version's file held, not yet told that their state was not read.
    earlier: list[str] = []


class _Earlier(msgspec.Struct):
    """The shape an earlier version wrote: ``{"version": 1, "accounts": {...}}`` (not read beyond its account keys)."""

    version: int
    accounts: dict[str, msgspec.Raw]


EARLIER_NOTE = (
    "the `call` state ({path}) was written by an earlier version of tools-server and is not read: a cursor from "
    "before the upgrade answers with a fresh overview, and undo cannot reverse a write made before it (it held no "
    "resend batches). This call's state replaces it."
)
REFUSED_NOTE = (
    "part of the `call` state ({path}) was not read ({slots}): {why}. Its key file {key} may have been replaced; "
    "cursors start afresh, and what it held cannot be undone or resent from here."
)


def _read(path: Path) -> tuple[_File, list[str]]:
    """The file's content and the accounts of an earlier version's file; empty when there is none or it is damaged
    (the store itself is untouched by either)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return _File(FORMAT, {}), []
    try:
        data = msgspec.json.decode(raw, type=_File)
    except (msgspec.DecodeError, msgspec.ValidationError):
        try:
            earlier = msgspec.json.decode(raw, type=_Earlier)
        except (msgspec.DecodeError, msgspec.ValidationError):
            logger.warning("call state: %s cannot be read; starting afresh", path)
            return _File(FORMAT, {}), []
        return _File(FORMAT, {}), sorted(earlier.accounts)
    if data.format != FORMAT:
        logger.warning("call state: %s is in format %s, not %s; starting afresh", path, data.format, FORMAT)
        return _File(FORMAT, {}), []
    return data, list(data.earlier)


@dataclass
class Restored:
    """What restore left to say (once), and which earlier-format accounts are still to be told."""

    notes: list[str]
    earlier: list[str]


def restore(path: Path, fingerprint: str, session: Session, account: MemoryAccount) -> Restored:
    """Put this account's saved state back into a fresh session and its in-process store."""
    data, earlier = _read(path)
    notes: list[str] = []
    if fingerprint in earlier:
        notes.append(EARLIER_NOTE.format(path=path))
        earlier = [e for e in earlier if e != fingerprint]
    saved = data.accounts.get(fingerprint, {})
    entries = {slot: Sealed(bytes.fromhex(e.mac), bytes(e.body)) for slot, e in saved.items()}
    sealer = account.sealer
    refused: dict[str, Refused] = {}
    snapshots: dict[str, dict[str, Item] | None] = {}

    def snapshot(name: str) -> dict[str, Item] | None:
        if name not in snapshots:
            slot = "snap:" + name
            sealed = entries.get(slot)
            try:
                snapshots[name] = None if sealed is None else dict(sealer.open(slot, SNAPSHOT, sealed))
            except Refused as exc:
                refused[slot] = exc
                snapshots[name] = None
        return snapshots[name]

    for slot, sealed in entries.items():
        kind, _, name = slot.partition(":")
        try:
            if kind == "mirror":
                session.mirror, session.sync_token = sealer.open(slot, MIRROR, sealed)
            elif kind == "last_write":
                session.last_write = sealer.open(slot, UNDO, sealed)
            elif kind == "view":
                record = sealer.open(slot, VIEW, sealed)
                base = snapshot(record.snapshot) if record.snapshot is not None else None
                if record.snapshot is None or base is not None:
                    # The restored mirror has no change log: the view compares by value on its next diff.
                    account.views[name] = joined(record, base)
                    session.own_cursors[name] = None
            # Kept sealed, as the in-process store keeps them: each is opened (and a bad one named) when used.
            elif kind == "pending":
                account.batches[name] = sealed
            elif kind == "write":
                account.records[name] = sealed
            elif kind == "removal":
                account.removals[name] = sealed
        except Refused as exc:
            refused[slot] = exc
    if refused:
        why = "; ".join(sorted({str(e) for e in refused.values()}))
        slots = ", ".join(sorted({s.partition(":")[0] for s in refused}))
        notes.append(REFUSED_NOTE.format(path=path, slots=slots, why=why, key=key_path(path)))
    for note in notes:
        logger.warning("call state: %s", note)
    return Restored(notes, earlier)


def save(path: Path, fingerprint: str, session: Session, account: MemoryAccount, restored: Restored) -> None:
    """Write this account's entry (other accounts' entries are kept), atomically and readable by the owner only."""
    data, _ = _read(path)
    sealer = account.sealer
    entries: dict[str, Sealed] = {}
    if session.mirror.synced:
        entries["mirror"] = sealer.seal("mirror", MIRROR, (session.mirror, session.sync_token))
    if session.last_write is not None:
        entries["last_write"] = sealer.seal("last_write", UNDO, session.last_write)
    # Views that saw the same mirror version share one snapshot, saved once.
    snapshots = Snapshots(keep=MAX_SAVED_CURSORS)
    for cursor, view in list(account.views.items())[-MAX_SAVED_CURSORS:]:
        record, new = split(view, snapshots)
        if new is not None:
            name, items = new
            entries["snap:" + name] = sealer.seal("snap:" + name, SNAPSHOT, items)
        entries["view:" + cursor] = sealer.seal("view:" + cursor, VIEW, record)
    entries.update({"pending:" + batch: sealed for batch, sealed in account.batches.items()})
    entries.update({"write:" + h: sealed for h, sealed in list(account.records.items())[-MAX_SAVED_WRITES:]})
    entries.update({"removal:" + name: sealed for name, sealed in account.removals.items()})
    data.accounts[fingerprint] = {slot: _Entry(s.mac.hex(), msgspec.Raw(s.body)) for slot, s in entries.items()}
    data.earlier = restored.earlier
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(msgspec.json.encode(data))
    os.replace(temporary, path)

"""The removal window of an account shared by all its processes on this machine (stdio servers, `tools-server call`):
each unconfirmed removal is one small file, sealed by the records codec, under ``<call state>.removals/<account>/``.

A file per removal needs no lock: it is written under a temporary name and renamed into place, so a reader sees it
whole or not at all, and two processes never write the same file. Reading the window lists the account's directory
and removes what has expired. An unreadable or forged file counts for nothing (as in the other stores).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from tools_server.state.records import MAC_SIZE, REMOVAL, Refused, Sealed, Sealer
from tools_server.state.store import new_removal_id

_SUFFIX = ".removal"


def removals_path(state: Path) -> Path:
    return state.with_name(state.name + ".removals")


@dataclass(frozen=True)
class FileRemovals:
    """One account's removals in ``folder`` (created owner-only on first use)."""

    folder: Path

    async def removed_since(self, sealer: Sealer, since: float) -> int:
        try:
            names = [p for p in self.folder.iterdir() if p.name.endswith(_SUFFIX)]
        except OSError:
            return 0
        total = 0
        for path in names:
            name = path.name.removesuffix(_SUFFIX)
            try:
                raw = path.read_bytes()
                at, count = sealer.open("removal:" + name, REMOVAL, Sealed(raw[:MAC_SIZE], raw[MAC_SIZE:]))
            except (OSError, Refused):
                at, count = since, 0  # gone meanwhile, or unreadable: it counts for nothing
            if at > since:
                total += count
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
        return total

    async def add_removal(self, sealer: Sealer, at: float, count: int) -> None:
        name = new_removal_id() + secrets.token_hex(4)  # unique across processes, not only within one
        sealed = sealer.seal("removal:" + name, REMOVAL, (at, count))
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.folder / f".{name}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(sealed.mac + sealed.body)
        os.replace(temporary, self.folder / (name + _SUFFIX))


def account_removals(state: Path, fingerprint: str) -> FileRemovals:
    """The removals of the account ``fingerprint`` (a digest of its token, never the token) beside ``state``."""
    return FileRemovals(removals_path(state) / fingerprint)

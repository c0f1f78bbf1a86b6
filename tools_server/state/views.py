"""Pure: a query_changes view as a shared store keeps it. Views that saw the same mirror version share one snapshot
of the tasks (``cursors/seen_tasks``); the store keeps that snapshot once, under its own key, and each view as only
what it saw on top of it, so saving a cursor after a call writes its few changes, not the account's every task.

Snapshots never change, so a replica may keep the ones it wrote or read and trust them without asking the store.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Mapping

from tools_server.cursors import SeenItems, View
from tools_server.state.records import ViewRecord, seen_objects, seen_record
from tools_server.sync.commands import Item


class Snapshots:
    """The snapshots one account's views were saved or read with on this replica, by key both ways; few are kept
    (one read from the store is a copy of the tasks, about 1 kB each)."""

    def __init__(self, keep: int = 2) -> None:
        self._by_key: OrderedDict[str, Mapping[str, Item]] = OrderedDict()
        self._key_of: dict[int, str] = {}  # id of a kept snapshot -> its key (kept ones stay alive, ids stay theirs)
        self._keep = keep

    def key_of(self, snapshot: Mapping[str, Item]) -> str | None:
        key = self._key_of.get(id(snapshot))
        if key is not None:
            self._by_key.move_to_end(key)
        return key

    def get(self, key: str) -> Mapping[str, Item] | None:
        snapshot = self._by_key.get(key)
        if snapshot is not None:
            self._by_key.move_to_end(key)
        return snapshot

    def add(self, key: str, snapshot: Mapping[str, Item]) -> None:
        self._by_key[key] = snapshot
        self._key_of[id(snapshot)] = key
        while len(self._by_key) > self._keep:
            _, gone = self._by_key.popitem(last=False)
            del self._key_of[id(gone)]

    def clear(self) -> None:
        self._by_key.clear()
        self._key_of.clear()


def split(view: View, snapshots: Snapshots) -> tuple[ViewRecord, tuple[str, Mapping[str, Item]] | None]:
    """The record to store for ``view``, and its snapshot with a new key when the store does not have it yet."""
    seen = view.seen
    if not isinstance(seen, SeenItems):
        own: dict[str, Item | None] = dict(seen)
        return ViewRecord(snapshot=None, own=own, size=len(own), objects=seen_record(view.objects)), None
    snapshot, own, size = seen.parts()
    key = snapshots.key_of(snapshot)
    new: tuple[str, Mapping[str, Item]] | None = None
    if key is None:
        key = "s_" + secrets.token_urlsafe(9)
        new = (key, snapshot)
        snapshots.add(key, snapshot)
    return ViewRecord(snapshot=key, own=own, size=size, objects=seen_record(view.objects)), new


def joined(record: ViewRecord, snapshot: Mapping[str, Item] | None) -> View:
    """The view a record stored (``snapshot``: the one it names); its version is unknown here (-1), so its first
    refresh compares by value (``View.refresh``)."""
    base: Mapping[str, Item] = snapshot if snapshot is not None else {}
    seen = SeenItems.of(base, dict(record.own), record.size)
    return View(seen=seen, version=-1, objects=seen_objects(record.objects))

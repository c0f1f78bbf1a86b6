"""Pure: a query_changes view as a shared store keeps it. Views that saw the same mirror version share one snapshot
of the tasks (``cursors/seen_tasks``); the store keeps that snapshot once, under its own key, and each view as only
what it saw on top of it, so saving a cursor after a call writes its few changes, not the account's every task.
The file store goes one step further: after a view's record it keeps only what the view saw since (``change``), and
reads the record back with those applied (``applied``).

Snapshots never change, so a replica may keep the ones it wrote or read and trust them without asking the store.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Mapping

from tools_server.cursors import SeenItems, View
from tools_server.state.records import SeenRecord, ViewChangeRecord, ViewRecord, seen_objects, seen_record
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


def change(view: View, seen: SeenItems, objects: SeenRecord | None) -> tuple[ViewChangeRecord, SeenRecord]:
    """What ``view`` saw since its last record, whose objects were ``objects`` (``seen`` is its ``view.seen``, whose
    ``changes`` are asked); and its objects now, to compare the next change with."""
    _, own, size = seen.parts()
    ids = seen.changes()
    now = seen_record(view.objects)
    kept = {item_id: own[item_id] for item_id in ids if item_id in own}
    back = sorted(item_id for item_id in ids if item_id not in own)
    # The tables are copies whose values are the mirror's objects, replaced and never changed: mostly compared by id.
    return ViewChangeRecord(own=kept, back=back, size=size, objects=None if now == objects else now), now


def applied(record: ViewRecord, changes: list[ViewChangeRecord]) -> ViewRecord:
    """``record`` with ``changes`` applied in order."""
    if not changes:
        return record
    own = dict(record.own)
    objects = record.objects
    for step in changes:
        own.update(step.own)
        for item_id in step.back:
            own.pop(item_id, None)
        if step.objects is not None:
            objects = step.objects
    return ViewRecord(snapshot=record.snapshot, own=own, size=changes[-1].size, objects=objects)

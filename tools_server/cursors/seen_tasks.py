"""Pure: the tasks one query_changes cursor has seen, without a copy of the whole task table per cursor.

A copy of the mirror's items per cursor cost about 40 bytes a task each (every client of an account has its own
cursors over the one mirror). Instead, views that saw the same mirror version share one snapshot of it, which no one
changes, and each view keeps only what it saw since then on top. Hand-written: the standard library has no
copy-on-write mapping (``ChainMap`` cannot hide a key of its base).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar, overload

from tools_server.sync.commands import Item

_T = TypeVar("_T")


class SeenItems(Mapping[str, Item]):
    """A shared, never-changed ``snapshot`` with this view's own newer sightings on top."""

    __slots__ = ("_changed", "_own", "_size", "snapshot")

    def __init__(self, snapshot: Mapping[str, Item] | None = None) -> None:
        self.snapshot: Mapping[str, Item] = snapshot if snapshot is not None else {}
        self._own: dict[str, Item | None] = {}  # None: seen gone since the snapshot
        self._size = len(self.snapshot)
        self._changed: set[str] | None = None  # the ids put or dropped since ``changes`` was last asked, once asked

    def parts(self) -> tuple[Mapping[str, Item], dict[str, Item | None], int]:
        """The snapshot, this view's own sightings on top (None: gone) and the size: what a store keeps apart, so
        views sharing a snapshot store it once (``state/redis.py``)."""
        return self.snapshot, self._own, self._size

    @classmethod
    def of(cls, snapshot: Mapping[str, Item], own: dict[str, Item | None], size: int) -> SeenItems:
        """The inverse of ``parts``."""
        seen = cls(snapshot)
        seen._own, seen._size = own, size
        return seen

    def changes(self) -> set[str]:
        """The ids put or dropped since the last call (all of ``own`` on the first): a store that keeps a view as its
        first record and then only what changed (``state/file.py``) writes these, not the whole view. Ids are
        recorded only once this has been asked, so views no store asks keep nothing."""
        changed = self._changed
        self._changed = set()
        return set(self._own) if changed is None else changed

    @property
    def drift(self) -> int:
        """How many tasks this view saw differently from its snapshot."""
        return len(self._own)

    def put(self, item_id: str, item: Item) -> None:
        if item_id not in self:
            self._size += 1
        self._own[item_id] = item
        if self._changed is not None:
            self._changed.add(item_id)

    def drop(self, item_id: str) -> None:
        if item_id in self:
            self._size -= 1
        if self._changed is not None:
            self._changed.add(item_id)
        if item_id in self.snapshot:
            self._own[item_id] = None
        else:
            self._own.pop(item_id, None)

    def __getitem__(self, item_id: str) -> Item:
        own = self._own
        if item_id in own:
            item = own[item_id]
            if item is None:
                raise KeyError(item_id)
            return item
        return self.snapshot[item_id]

    @overload
    def get(self, item_id: str, /) -> Item | None: ...
    @overload
    def get(self, item_id: str, /, default: Item | _T) -> Item | _T: ...

    def get(self, item_id: str, /, default: Item | _T | None = None) -> Item | _T | None:
        # Mapping's own get goes through __getitem__ and a KeyError for every miss; a full diff asks once per task.
        own = self._own
        if item_id in own:
            item = own[item_id]
            return default if item is None else item
        return self.snapshot.get(item_id, default)

    def __contains__(self, item_id: object) -> bool:
        if not isinstance(item_id, str):
            return False
        own = self._own
        if item_id in own:
            return own[item_id] is not None
        return item_id in self.snapshot

    def __iter__(self) -> Iterator[str]:
        own = self._own
        yield from (item_id for item_id in self.snapshot if item_id not in own)
        yield from (item_id for item_id, item in own.items() if item is not None)

    def __len__(self) -> int:
        return self._size

"""Pure: what undo checks before it reverses a command, as the command's declaration states it (``Facts.unchanged``):
whether the objects it touched are still as the write left them, and whether anything lives in an object that the
inverse would take along. Both reversals (plans/reversal.py for task writes, plans/undo_commands.py for the others)
ask here, so a command kind cannot be reversed without its check.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, cast

from tools_server.sync.facts import SET, Unchanged
from tools_server.sync.mirror import Mirror
from tools_server.sync.resource_types import ITEMS, RESOURCE_TYPES

# How many ids a "left as it is" note names per object.
SHOWN = 3


def compared(check: Unchanged, set_fields: Iterable[str] = ()) -> tuple[str, ...]:
    """The fields to compare: those the declaration names, or (``SET``) those the command set."""
    if check.fields == SET:
        return tuple(sorted(name for name in set_fields if name != "id"))
    return check.fields


def differing(after: Any, now: Any, names: Sequence[str]) -> list[str]:
    """Which of ``names`` differ between the object as the write left it and now ("gone" when it is not there now);
    nothing when the write's response did not show it (nothing to compare with)."""
    if after is None:
        return []
    if now is None or getattr(now, "is_deleted", False):
        return ["gone"]
    if getattr(now, "is_archived", False) != getattr(after, "is_archived", False) and "is_archived" not in names:
        return ["archived" if getattr(now, "is_archived", False) else "unarchived"]
    return [name for name in names if getattr(after, name) != getattr(now, name)]


def strangers(mirror: Mirror, check: Unchanged, keys: Collection[str], ours: Collection[str]) -> list[str]:
    """The ids of what lives in the objects ``keys`` names (their ids, and for a type tasks name by name, their
    names) and is not ``ours``: open tasks, completed ones the mirror saw go, nested objects, comments."""
    folded = {key.casefold() for key in keys}
    found: list[str] = []
    for kind_name, field in check.holds:
        kind = RESOURCE_TYPES[kind_name]
        pool: list[Any] = list(getattr(mirror, kind.table).values())
        if kind is ITEMS:
            pool += [item for reason, item in mirror.gone.values() if reason == "completed"]
        for obj in pool:
            if obj.id in ours or getattr(obj, "is_deleted", False) or (kind.owns is not None and not kind.owns(obj)):
                continue
            value: Any = getattr(obj, field)
            if isinstance(value, tuple):  # a task's labels, by name
                inside = any(str(v).casefold() in folded for v in cast(tuple[Any, ...], value))
            else:
                inside = value in keys
            if inside:
                found.append(obj.id)
    return list(dict.fromkeys(found))


def shown(ids: Sequence[str]) -> str:
    more = len(ids) - SHOWN
    return ", ".join(ids[:SHOWN]) + (f" +{more} more" if more > 0 else "")

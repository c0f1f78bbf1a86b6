"""Real ids a response left out: a created object found among the new objects the same response (or a read after
it) brought, by what its command set.

Todoist may answer a command that created something without its ``temp_id_mapping`` entry (Doist's own server code
says so of full syncs). Reporting such an object as added with no id would leave the model nothing to act on and undo
nothing to revert; matching it by the command's effects gives the id back, and what cannot be matched with certainty
stays pending (sync/send.py) so that a resend, which the backend answers from its record of the uuid, brings it.

Pure: it reads responses and the mirror as it was before them; it sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tools_server.sync.commands import Command, arg_value, facts_of
from tools_server.sync.resource_types import RESOURCE_TYPES
from tools_server.sync.responses import SyncResponse

# The arguments that say which object a create made: its text and where it was put. Only those a command set are
# compared, each with the created object's field of the same name.
_IDENTIFYING = ("content", "name", "project_id", "section_id", "parent_id", "item_id")


def missing_ids(commands: Sequence[Command], response: SyncResponse, known: Mapping[str, str]) -> list[Command]:
    """The commands that created something ("ok") whose real id neither ``response`` nor ``known`` gives."""
    mapping = response.temp_id_mapping
    return [
        command
        for command in commands
        if type(command).creates_temp_id
        and command.temp_id is not None
        and response.sync_status.get(command.uuid) == "ok"
        and command.temp_id not in mapping
        and command.temp_id not in known
    ]


# Whether the object of this table and id existed before the command was sent (then the command did not make it).
Existed = Callable[[str, str], bool]


def recover_ids(
    missing: Sequence[Command], response: SyncResponse, existed: Existed, known: Mapping[str, str]
) -> dict[str, str]:
    """temp id -> real id for the ``missing`` commands whose object is the one new object in ``response`` (one that
    had not ``existed``) matching what the command set.

    An object two commands could have made, or a command that two objects could match, is left out: a wrong id
    would let a later edit or undo act on another object."""
    known = dict(known)
    recovered: dict[str, str] = {}
    claimed = set(known.values())
    for command in missing:
        kind = RESOURCE_TYPES[facts_of(command).on]
        new = [o for o in _objects(response, kind.table) if o.id not in claimed and not existed(kind.table, o.id)]
        wanted = _identity(command, known)
        matches = [o for o in new if all(getattr(o, name, None) == value for name, value in wanted.items())]
        rivals = [c for c in missing if c is not command and facts_of(c).on == kind.name]
        if len(matches) != 1 or any(_fits(matches[0], _identity(c, known)) for c in rivals):
            continue
        assert command.temp_id is not None  # missing_ids keeps only commands with one
        recovered[command.temp_id] = known[command.temp_id] = matches[0].id
        claimed.add(matches[0].id)
    return recovered


def new_ids(response: SyncResponse, existed: Existed) -> set[tuple[str, str]]:
    """(table, id) of the objects in ``response`` that had not ``existed``."""
    tables = {kind.table for kind in RESOURCE_TYPES.values()}
    return {(table, o.id) for table in tables for o in _objects(response, table) if not existed(table, o.id)}


def _objects(response: SyncResponse, table: str) -> Iterable[Any]:
    """The live objects the response brought for every resource type kept in ``table``."""
    for kind in RESOURCE_TYPES.values():
        if kind.table == table:
            for obj in getattr(response, kind.name) or ():
                if not getattr(obj, "is_deleted", False):
                    yield obj


def _identity(command: Command, known: Mapping[str, str]) -> dict[str, Any]:
    """The identifying arguments the command set, temp ids of objects made before it read as their real ids."""
    wanted: dict[str, Any] = {}
    for name in _IDENTIFYING:
        value = arg_value(command.args, name)
        if isinstance(value, str):
            wanted[name] = known.get(value, value)
    return wanted


def _fits(obj: object, wanted: Mapping[str, Any]) -> bool:
    return all(getattr(obj, name, None) == value for name, value in wanted.items())

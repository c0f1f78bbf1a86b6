"""The Sync commands the local backend executes (reference §3 and §9): the one table of command type -> handler.

A handler validates everything before it writes, so a failing command leaves no trace; the store also wraps each
command in a savepoint in case a handler fails halfway. Creating handlers return the new object's id (the store maps
the command's temp_id to it); the others return None. Arguments are read with this backend's own models (``args``
and each family's module), never the client's. A new command type is its handler (and arguments model) in its
family's module, registered there by ``table.command``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from tools_server.local.commands import (
    filters,
    items,
    labels,
    notes,
    notifications,
    projects,
    reminders,
    sections,
    sharing,
)
from tools_server.local.commands.table import TABLE
from tools_server.local.tx import Handler

__all__ = ["HANDLERS", "Handler"]

# Importing the family modules fills the table: each handler registers itself where it is defined.
FAMILIES = (items, projects, sections, labels, filters, notes, reminders, sharing, notifications)
HANDLERS: Mapping[str, Handler] = MappingProxyType(dict(TABLE))

"""The Sync commands the local backend executes (reference §3 and §9): the one table of command type -> handler.

A handler validates everything before it writes, so a failing command leaves no trace; the store also wraps each
command in a savepoint in case a handler fails halfway. Creating handlers return the new object's id (the store maps
the command's temp_id to it); the others return None. Arguments are read with this backend's own models (``args``
and each family's module), never the client's. A new command type is its handler (and arguments model) in its
family's module and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from tools_server.local.commands import filters, items, labels, notes, projects, reminders, sections
from tools_server.local.tx import Handler

__all__ = ["HANDLERS", "Handler"]

HANDLERS: Mapping[str, Handler] = MappingProxyType(
    {
        "item_add": items.item_add,
        "item_update": items.item_update,
        "item_move": items.item_move,
        "item_reorder": items.item_reorder,
        "item_update_day_orders": items.item_update_day_orders,
        "item_close": items.item_close,
        "item_complete": items.item_complete,
        "item_update_date_complete": items.item_update_date_complete,
        "item_uncomplete": items.item_uncomplete,
        "item_delete": items.item_delete,
        "project_add": projects.project_add,
        "project_update": projects.project_update,
        "project_move": projects.project_move,
        "project_reorder": projects.project_reorder,
        "project_archive": projects.project_archive,
        "project_unarchive": projects.project_unarchive,
        "project_delete": projects.project_delete,
        "section_add": sections.section_add,
        "section_update": sections.section_update,
        "section_move": sections.section_move,
        "section_reorder": sections.section_reorder,
        "section_archive": sections.section_archive,
        "section_unarchive": sections.section_unarchive,
        "section_delete": sections.section_delete,
        "label_add": labels.label_add,
        "label_update": labels.label_update,
        "label_delete": labels.label_delete,
        "label_update_orders": labels.label_update_orders,
        "filter_add": filters.filter_add,
        "filter_update": filters.filter_update,
        "filter_delete": filters.filter_delete,
        "filter_update_orders": filters.filter_update_orders,
        "note_add": notes.note_add,
        "note_update": notes.note_update,
        "note_delete": notes.note_delete,
        "reminder_add": reminders.reminder_add,
        "reminder_update": reminders.reminder_update,
        "reminder_delete": reminders.reminder_delete,
    }
)

"""The command table of issue 13's commands, merged over the core handlers (items, project_add, section_add)."""

from __future__ import annotations

from collections.abc import Mapping

from tools_server.local.cmd_items import ITEM_HANDLERS, with_dependents
from tools_server.local.cmd_labels import LABEL_HANDLERS
from tools_server.local.cmd_notes import NOTE_HANDLERS
from tools_server.local.cmd_projects import PROJECT_HANDLERS
from tools_server.local.handlers import Handler


def all_handlers(core: Mapping[str, Handler]) -> dict[str, Handler]:
    """The core table plus these commands; item_delete also deletes the comments and reminders of what it deletes."""
    handlers = {**core, **ITEM_HANDLERS, **PROJECT_HANDLERS, **LABEL_HANDLERS, **NOTE_HANDLERS}
    if "item_delete" in core:
        handlers["item_delete"] = with_dependents(core["item_delete"])
    return handlers

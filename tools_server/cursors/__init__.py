"""Pure: what a query_changes cursor has seen, what changed since, and the session's own writes.

The face other wings import from; the modules below it are this wing's own."""

from tools_server.cursors.own_writes import Ahead, OwnWrites, mark_own_writes, own_writes, own_writes_ahead
from tools_server.cursors.seen_resources import ObjectType, SeenObjects
from tools_server.cursors.seen_tasks import SeenItems
from tools_server.cursors.view import (
    ArchivedBrief,
    ChangesResult,
    TaskBrief,
    View,
    brief,
    change_line,
    diff,
    label_briefs,
    ordered_tasks,
    project_briefs,
    task_line,
)

__all__ = [
    "Ahead",
    "ArchivedBrief",
    "ChangesResult",
    "ObjectType",
    "OwnWrites",
    "SeenItems",
    "SeenObjects",
    "TaskBrief",
    "View",
    "brief",
    "change_line",
    "diff",
    "label_briefs",
    "mark_own_writes",
    "ordered_tasks",
    "own_writes",
    "own_writes_ahead",
    "project_briefs",
    "task_line",
]

"""Pure planning: tool input + the mirror -> Sync commands; what came back -> results; undo; pending batches.

The face other wings import from; the modules below it are this wing's own."""

from tools_server.plans.comments import CommentBrief, CommentsInput, list_comments, plan_comments
from tools_server.plans.pending import MAX_PENDING_COMMANDS, PendingFull, PendingWrite, check_room, unresumable_text
from tools_server.plans.plan import LocalError, Plan, PlanError, Step, not_found
from tools_server.plans.positions import place, plan_reorder
from tools_server.plans.projects import plan_projects, tasks_removed
from tools_server.plans.results import AddResult, WriteResult, build_result, combine, dry_run_result, summary_text
from tools_server.plans.reversal import plan_undo
from tools_server.plans.tasks import (
    label_of,
    plan_add,
    plan_complete,
    plan_delete,
    plan_move,
    plan_reopen,
    plan_update,
    resolve_destination,
)
from tools_server.plans.undo import UndoRecord, WriteKind, images, reversible, state_of, undo_record
from tools_server.plans.undo_commands import Image

__all__ = [
    "MAX_PENDING_COMMANDS",
    "AddResult",
    "CommentBrief",
    "CommentsInput",
    "Image",
    "LocalError",
    "PendingFull",
    "PendingWrite",
    "Plan",
    "PlanError",
    "Step",
    "UndoRecord",
    "WriteKind",
    "WriteResult",
    "build_result",
    "check_room",
    "combine",
    "dry_run_result",
    "images",
    "label_of",
    "list_comments",
    "not_found",
    "place",
    "plan_add",
    "plan_comments",
    "plan_complete",
    "plan_delete",
    "plan_move",
    "plan_projects",
    "plan_reopen",
    "plan_reorder",
    "plan_undo",
    "plan_update",
    "resolve_destination",
    "reversible",
    "state_of",
    "summary_text",
    "tasks_removed",
    "undo_record",
    "unresumable_text",
]

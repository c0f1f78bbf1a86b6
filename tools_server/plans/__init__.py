"""Pure planning: tool input + the mirror -> Sync commands; what came back -> results; undo; pending batches.

The face other wings import from: the shared values and, as modules, the planners by object family (``tasks``,
``projects``, ``comments``, ``positions``), so a new planner in a family needs no line here."""

from tools_server.plans import comments, positions, projects, tasks
from tools_server.plans.comments import CommentBrief, CommentsInput, list_comments
from tools_server.plans.pending import MAX_PENDING_COMMANDS, PendingFull, PendingWrite, check_room, unresumable_text
from tools_server.plans.plan import LocalError, Plan, PlanError, Step, not_found
from tools_server.plans.results import (
    AddResult,
    WriteResult,
    build_result,
    combine,
    dry_run_result,
    named,
    summary_text,
)
from tools_server.plans.reversal import plan_undo
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
    "comments",
    "dry_run_result",
    "images",
    "list_comments",
    "named",
    "not_found",
    "plan_undo",
    "positions",
    "projects",
    "reversible",
    "state_of",
    "summary_text",
    "tasks",
    "undo_record",
    "unresumable_text",
]

"""Task commands beyond add/update/move/complete (reference §3): order, day order, recurring completion, and the
comments and reminders a deleted task takes with it."""

from __future__ import annotations

from typing import Any

from tools_server.local.args_more import ItemDateCompleteArgs, ItemDayOrdersArgs, ItemReorderArgs
from tools_server.local.errors import invalid_argument
from tools_server.local.handlers import Handler, parse_args
from tools_server.local.lookups import delete_item_dependents, due_from_arg, following_due
from tools_server.local.tx import Obj, Tx


def item_reorder(tx: Tx, raw: dict[str, Any]) -> None:
    """Each task takes the child_order given; every id is checked before anything changes."""
    args = parse_args(ItemReorderArgs, raw)
    changed = [(tx.resolve("item", "items", entry.id), entry.child_order) for entry in args.items]
    for item, order in changed:
        item["child_order"] = order
        tx.put("item", item)


def item_update_day_orders(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(ItemDayOrdersArgs, raw)
    changed = [(tx.resolve("item", "ids_to_orders", item_id), order) for item_id, order in args.ids_to_orders.items()]
    for item, order in changed:
        item["day_order"] = order
        tx.put("item", item)


def item_update_date_complete(tx: Tx, raw: dict[str, Any]) -> None:
    """Complete (is_forward 1) or undo (0) one occurrence of a recurring task: it takes the given due and stays open.

    Without ``due``, completing moves a recurring task to its next occurrence (as item_close does); reset_subtasks
    reopens its completed subtasks, which is what Todoist does when a recurring task comes round again.
    """
    args = parse_args(ItemDateCompleteArgs, raw)
    item = tx.resolve("item", "id", args.id)
    forward = bool(args.is_forward)
    due: Obj | None
    if args.due is not None:
        due = due_from_arg(tx, args.due)
    elif forward and item.get("due") is not None:
        due = following_due(tx, item["due"])
        if due is None:
            raise invalid_argument("due", "required: the task's due date is not recurring")
    else:
        raise invalid_argument("due", "required to undo a completion or for a task without a due date")
    item["due"] = due
    tx.put("item", item)
    if forward and args.reset_subtasks:
        for child in tx.descendants(item["id"]):
            if child["checked"]:
                child.update(checked=False, completed_at=None)
                tx.put("item", child)


def with_dependents(item_delete: Handler) -> Handler:
    """item_delete as given, then the comments and reminders of the task and its subtasks are deleted too."""

    def delete(tx: Tx, raw: dict[str, Any]) -> str | None:
        target = raw.get("id")
        doomed: list[str] = []
        if isinstance(target, str):
            real = tx.temp_ids.get(target, target)
            item = tx.get("item", real)
            if item is not None and not item.get("is_deleted"):
                doomed = [real, *(child["id"] for child in tx.descendants(real))]
        result = item_delete(tx, raw)
        delete_item_dependents(tx, doomed)
        return result

    return delete


ITEM_HANDLERS: dict[str, Handler] = {
    "item_reorder": item_reorder,
    "item_update_day_orders": item_update_day_orders,
    "item_update_date_complete": item_update_date_complete,
}

"""Personal label and filter commands (reference §3, §2.5, §2.8).

A task's ``labels`` holds label names, so renaming a label renames it on every task that carries it, and deleting one
with ``cascade: "all"`` (the default) takes it off them; with ``"none"`` the tasks keep the name (Todoist then shows
it as a shared label). Names compare without case, as on tasks.
"""

from __future__ import annotations

from typing import Any

from tools_server.local.args_more import (
    FilterAddArgs,
    FilterUpdateArgs,
    IdArgs,
    LabelAddArgs,
    LabelDeleteArgs,
    LabelUpdateArgs,
    OrderMappingArgs,
)
from tools_server.local.errors import already_exists, invalid_argument
from tools_server.local.handlers import MAX_LABEL_LENGTH, Handler, new_label, parse_args
from tools_server.local.lookups import delete_all, items_with_label, nonblank
from tools_server.local.tx import Obj, Tx

# Same limit as labels created on first use by item_add/item_update.
LABEL_NAME_MAX = MAX_LABEL_LENGTH


def _label_name(tx: Tx, value: str, *, keep: Obj | None = None) -> str:
    name = value.strip()
    if not name or len(name) > LABEL_NAME_MAX:
        raise invalid_argument("name", f"label names must be 1 to {LABEL_NAME_MAX} characters")
    other = tx.labels_by_name().get(name.casefold())
    if other is not None and (keep is None or other["id"] != keep["id"]):
        raise already_exists("label", "name")
    return name


def label_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(LabelAddArgs, raw)
    name = _label_name(tx, args.name)
    order = args.item_order if args.item_order is not None else tx.next_order("label", None, None, None)
    label = new_label(tx, name, order=order, color=args.color or "charcoal", favorite=bool(args.is_favorite))
    tx.put("label", label)
    return label["id"]


def label_update(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(LabelUpdateArgs, raw)
    label = tx.resolve("label", "id", args.id)
    if args.name is not None:
        new = _label_name(tx, args.name, keep=label)
        old = str(label["name"])
        if new != old:
            for item in items_with_label(tx, old):
                item["labels"] = [new if str(n).casefold() == old.casefold() else n for n in item["labels"]]
                tx.put("item", item)
            label["name"] = new
    if args.color is not None:
        label["color"] = args.color
    if args.item_order is not None:
        label.update(item_order=args.item_order, order=args.item_order)
    if args.is_favorite is not None:
        label["is_favorite"] = args.is_favorite
    tx.put("label", label)


def label_delete(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(LabelDeleteArgs, raw)
    label = tx.resolve("label", "id", args.id)
    if args.cascade == "all":
        name = str(label["name"]).casefold()
        for item in items_with_label(tx, name):
            item["labels"] = [n for n in item["labels"] if str(n).casefold() != name]
            tx.put("item", item)
    delete_all(tx, "label", [label])


def _set_orders(tx: Tx, kind: str, raw: dict[str, Any], *, rest_name: bool) -> None:
    args = parse_args(OrderMappingArgs, raw)
    changed = [(tx.resolve(kind, "id_order_mapping", key), order) for key, order in args.id_order_mapping.items()]
    for obj, order in changed:
        obj["item_order"] = order
        if rest_name:
            obj["order"] = order
        tx.put(kind, obj)


def label_update_orders(tx: Tx, raw: dict[str, Any]) -> None:
    _set_orders(tx, "label", raw, rest_name=True)


# ---------------------------------------------------------------------------------------------------------------------
# Filters (the query is stored as given; this backend does not evaluate saved filters)


def filter_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(FilterAddArgs, raw)
    order = args.item_order if args.item_order is not None else tx.next_order("filter", None, None, None)
    saved: Obj = {
        "id": tx.fresh_id(),
        "name": nonblank("name", args.name),
        "query": nonblank("query", args.query),
        "color": args.color or "charcoal",
        "item_order": order,
        "is_favorite": bool(args.is_favorite),
        "is_frozen": False,
        "is_deleted": False,
        "description": args.description,
    }
    tx.put("filter", saved)
    return saved["id"]


def filter_update(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(FilterUpdateArgs, raw)
    saved = tx.resolve("filter", "id", args.id)
    if args.name is not None:
        saved["name"] = nonblank("name", args.name)
    if args.query is not None:
        saved["query"] = nonblank("query", args.query)
    for name in ("color", "item_order", "is_favorite"):
        value = getattr(args, name)
        if value is not None:
            saved[name] = value
    if "description" in args.model_fields_set:
        saved["description"] = args.description
    tx.put("filter", saved)


def filter_delete(tx: Tx, raw: dict[str, Any]) -> None:
    delete_all(tx, "filter", [tx.resolve("filter", "id", parse_args(IdArgs, raw).id)])


def filter_update_orders(tx: Tx, raw: dict[str, Any]) -> None:
    _set_orders(tx, "filter", raw, rest_name=False)


LABEL_HANDLERS: dict[str, Handler] = {
    "label_add": label_add,
    "label_update": label_update,
    "label_delete": label_delete,
    "label_update_orders": label_update_orders,
    "filter_add": filter_add,
    "filter_update": filter_update,
    "filter_delete": filter_delete,
    "filter_update_orders": filter_update_orders,
}

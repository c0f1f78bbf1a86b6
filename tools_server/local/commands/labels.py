"""Personal label commands (reference §3, §2.5), and the label names a task carries.

A task's ``labels`` holds label names, so renaming a label renames it on every task that carries it, and deleting one
with ``cascade: "all"`` (the default) takes it off them; with ``"none"`` the tasks keep the name (Todoist then shows
it as a shared label). Names compare without case, as on tasks; a name a task brings that no label has creates one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import StrictBool, StrictStr

from tools_server.local.args import Args, Color, Id, Order, parse_args
from tools_server.local.commands.fields import assign_given
from tools_server.local.commands.lookups import delete_all, items_with_label
from tools_server.local.commands.orders import OrderMappingArgs, reorder
from tools_server.local.commands.table import command
from tools_server.local.errors import already_exists, invalid_argument
from tools_server.local.tx import Obj, Tx

MAX_LABEL_LENGTH = 60


class LabelAddArgs(Args):
    name: StrictStr
    color: Color | None = None
    item_order: Order | None = None
    is_favorite: StrictBool | None = None


class LabelUpdateArgs(Args):
    id: Id
    name: StrictStr | None = None
    color: Color | None = None
    item_order: Order | None = None
    is_favorite: StrictBool | None = None


class LabelDeleteArgs(Args):
    id: Id
    cascade: Literal["all", "none"] = "all"


class LabelRenameArgs(Args):
    name_old: StrictStr
    name_new: StrictStr


class LabelOccurrencesArgs(Args):
    name: StrictStr


def new_label(tx: Tx, name: str, *, order: int, color: str = "charcoal", favorite: bool = False) -> Obj:
    """A personal label as stored: ``item_order`` is the docs' Sync name, ``order`` the REST one (reference §2.5)."""
    return {
        "id": tx.fresh_id(),
        "name": name,
        "color": color,
        "item_order": order,
        "order": order,
        "is_favorite": favorite,
        "is_deleted": False,
    }


def _trimmed_name(argument: str, value: str) -> str:
    """A label name without surrounding spaces: 1 to 60 characters, whether a label or a task brings it."""
    name = value.strip()
    if not name or len(name) > MAX_LABEL_LENGTH:
        raise invalid_argument(argument, f"label names must be 1 to {MAX_LABEL_LENGTH} characters")
    return name


def task_labels(tx: Tx, names: list[str]) -> list[str]:
    """Label names as stored: an existing label keeps its spelling; an unknown one is created (as Todoist does)."""
    if not names:
        return []
    existing = tx.labels_by_name()
    result: list[str] = []
    for given in names:
        name = _trimmed_name("labels", given)
        if any(n.casefold() == name.casefold() for n in result):
            continue
        label = existing.get(name.casefold())
        if label is None:
            label = new_label(tx, name, order=len(existing) + 1)
            tx.put("label", label, touch=False)
            existing[name.casefold()] = label
        result.append(str(label["name"]))
    return result


def _label_name(tx: Tx, value: str, *, keep: Obj | None = None) -> str:
    name = _trimmed_name("name", value)
    other = tx.labels_by_name().get(name.casefold())
    if other is not None and (keep is None or other["id"] != keep["id"]):
        raise already_exists("label", "name")
    return name


@command
def label_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(LabelAddArgs, raw)
    name = _label_name(tx, args.name)
    order = args.item_order if args.item_order is not None else tx.next_order("label", None, None, None)
    label = new_label(tx, name, order=order, color=args.color or "charcoal", favorite=bool(args.is_favorite))
    tx.put("label", label)
    return label["id"]


@command
def label_update(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(LabelUpdateArgs, raw)
    label = tx.resolve("label", "id", args.id)
    if args.name is not None:
        new = _label_name(tx, args.name, keep=label)
        old = str(label["name"])
        if new != old:
            _rename_on_tasks(tx, old, new)
            label["name"] = new
    if args.item_order is not None:
        label.update(item_order=args.item_order, order=args.item_order)
    assign_given(label, args, "color", "is_favorite")
    tx.put("label", label)


@command
def label_delete(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(LabelDeleteArgs, raw)
    label = tx.resolve("label", "id", args.id)
    if args.cascade == "all":
        _take_off_tasks(tx, str(label["name"]))
    delete_all(tx, "label", [label])


def _rename_on_tasks(tx: Tx, old: str, new: str) -> None:
    for item in items_with_label(tx, old):
        item["labels"] = [new if str(n).casefold() == old.casefold() else n for n in item["labels"]]
        tx.put("item", item)


def _take_off_tasks(tx: Tx, name: str) -> None:
    for item in items_with_label(tx, name):
        item["labels"] = [n for n in item["labels"] if str(n).casefold() != name.casefold()]
        tx.put("item", item)


@command
def label_rename(tx: Tx, raw: dict[str, Any]) -> None:
    """A shared label (a name tasks carry with no personal label of that name) renamed on every task carrying it
    (reference §3: name_old, name_new). A personal label is renamed with label_update, which also renames it here."""
    args = parse_args(LabelRenameArgs, raw)
    old = _trimmed_name("name_old", args.name_old)
    new = _trimmed_name("name_new", args.name_new)
    _rename_on_tasks(tx, old, new)


@command
def label_delete_occurrences(tx: Tx, raw: dict[str, Any]) -> None:
    """A shared label taken off every task that carries it (reference §3: name)."""
    args = parse_args(LabelOccurrencesArgs, raw)
    _take_off_tasks(tx, _trimmed_name("name", args.name))


# A label's position has a Sync name (item_order) and a REST one (order); both move together.
label_update_orders = command(
    reorder("label", OrderMappingArgs, argument="id_order_mapping", fields=("item_order", "order")),
    "label_update_orders",
)

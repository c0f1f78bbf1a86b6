"""Saved filter commands (reference §3, §2.8). The query is stored as given: this backend does not evaluate saved
filters."""

from __future__ import annotations

from typing import Any

from pydantic import StrictBool, StrictStr

from tools_server.local.args import Args, Color, Id, IdArgs, Order, parse_args
from tools_server.local.commands.fields import assign_given, nonblank
from tools_server.local.commands.lookups import delete_all
from tools_server.local.commands.orders import OrderMappingArgs, reorder
from tools_server.local.commands.table import command
from tools_server.local.tx import Obj, Tx


class FilterAddArgs(Args):
    name: StrictStr
    query: StrictStr
    color: Color | None = None
    item_order: Order | None = None
    is_favorite: StrictBool | None = None
    description: StrictStr | None = None


class FilterUpdateArgs(Args):
    id: Id
    name: StrictStr | None = None
    query: StrictStr | None = None
    color: Color | None = None
    item_order: Order | None = None
    is_favorite: StrictBool | None = None
    description: StrictStr | None = None


@command
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


@command
def filter_update(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(FilterUpdateArgs, raw)
    saved = tx.resolve("filter", "id", args.id)
    if args.name is not None:
        saved["name"] = nonblank("name", args.name)
    if args.query is not None:
        saved["query"] = nonblank("query", args.query)
    assign_given(saved, args, "color", "item_order", "is_favorite")
    if "description" in args.model_fields_set:
        saved["description"] = args.description
    tx.put("filter", saved)


@command
def filter_delete(tx: Tx, raw: dict[str, Any]) -> None:
    delete_all(tx, "filter", [tx.resolve("filter", "id", parse_args(IdArgs, raw).id)])


filter_update_orders = command(
    reorder("filter", OrderMappingArgs, argument="id_order_mapping", fields=("item_order",)), "filter_update_orders"
)

"""The one handler of the commands that give many objects of one kind a position each (reference §3):
item_reorder, item_update_day_orders, project_reorder, section_reorder, label_update_orders, filter_update_orders."""

from __future__ import annotations

from typing import Any

from tools_server.local.args import Args, Id, Order, parse_args
from tools_server.local.tx import Handler, Tx


class PositionArgs(Args):
    """Arguments of a position command; each model says where its (id, position) pairs are."""

    def positions(self) -> list[tuple[str, int]]:
        raise NotImplementedError


class ChildOrder(Args):
    id: Id
    child_order: Order


class OrderMappingArgs(PositionArgs):
    """label_update_orders, filter_update_orders."""

    id_order_mapping: dict[str, Order]

    def positions(self) -> list[tuple[str, int]]:
        return list(self.id_order_mapping.items())


def reorder(kind: str, model: type[PositionArgs], *, argument: str, fields: tuple[str, ...]) -> Handler:
    """The handler reading ``model``: every id (reported as ``argument`` when unknown) is checked before anything
    changes, then each object takes its position in each of ``fields``."""

    def handler(tx: Tx, raw: dict[str, Any]) -> None:
        args = parse_args(model, raw)
        changed = [(tx.resolve(kind, argument, key), order) for key, order in args.positions()]
        for obj, order in changed:
            for field in fields:
                obj[field] = order
            tx.put(kind, obj)

    return handler

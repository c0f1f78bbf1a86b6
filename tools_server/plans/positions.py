"""move_items' ``position``, pure: where the moved tasks go among their new siblings -> one item_reorder command.

The order comes from the mirror's siblings at the destination; every task there gets a fresh child_order (1..n) so
the result does not depend on gaps or ties in the old values.
"""

from __future__ import annotations

from tools_server.inputs import Beside, Position
from tools_server.plans.plan import PlanError
from tools_server.sync.batch import NewUuid, new_uuid4
from tools_server.sync.commands import ChildOrder, ItemReorder, ItemReorderArgs
from tools_server.sync.mirror import Mirror


def place(
    moved: list[str], destination: tuple[str, str] | None, position: Position, mirror: Mirror
) -> tuple[str | None, str | None, str | None]:
    """(project_id, section_id, parent_id) of the place the tasks end up in; without a destination, where the first
    task is now (a reorder in place)."""
    if destination is None:
        first = mirror.items.get(moved[0])
        if first is None:
            raise PlanError(f"ids: task {moved[0]} is not an open task; a position without a destination needs one")
        return first.project_id, first.section_id, first.parent_id
    argument, target = destination
    if argument == "parent_id":
        return None, None, target
    if argument == "section_id":
        return None, target, None
    return target, None, None


def plan_reorder(
    moved: list[str],
    where: tuple[str | None, str | None, str | None],
    position: Position,
    mirror: Mirror,
    *,
    new_uuid: NewUuid = new_uuid4,
) -> ItemReorder:
    """The destination's tasks in their new order as one item_reorder; PlanError when a before/after id is not
    there."""
    chosen = set(moved)
    others = [i.id for i in mirror.siblings(*where) if i.id not in chosen]
    if position == "top":
        order = [*moved, *others]
    elif position == "bottom":
        order = [*others, *moved]
    else:
        assert isinstance(position, Beside)
        anchor = position.before or position.after or ""
        if anchor not in others:
            side = "before" if position.before else "after"
            raise PlanError(f"position.{side}: task {anchor} is not an open task at the destination (or is moved)")
        at = others.index(anchor) + (0 if position.before else 1)
        order = [*others[:at], *moved, *others[at:]]
    entries = [ChildOrder(id=item_id, child_order=n) for n, item_id in enumerate(order, start=1)]
    return ItemReorder(uuid=new_uuid(), args=ItemReorderArgs(items=entries))

"""Pure undo of comment_items and manage_projects writes (comments, projects, sections, labels, saved filters), command
by command.

Each confirmed command is reversed, last first, by the undo recipe its declaration names (sync/facts.py), from the
images of what it touched as they were just before the write. What Todoist cannot reverse (a deletion) is said, not
attempted; an object the write added is deleted again only while nothing has been put in it since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from tools_server.plans.unchanged import compared, differing, shown, strangers
from tools_server.sync.batch import NewUuid, new_uuid4
from tools_server.sync.commands import (
    ARGS_MODELS,
    COMMAND_KINDS,
    Command,
    Filter,
    Item,
    ItemIdArgs,
    ItemUncomplete,
    Label,
    Note,
    Project,
    Section,
    arg_value,
    command,
    facts_of,
    ids_in,
    kind_of,
    target_of,
    touched_ids,
)
from tools_server.sync.facts import DeleteAdded, Inverse, MoveBack, NoUndo, ReAdd, ReorderBack, RestoreFields
from tools_server.sync.mirror import Mirror
from tools_server.sync.resource_types import RESOURCE_TYPES, ResourceType

Image = Project | Section | Label | Note | Filter
Kind = ResourceType[Any]


def command_images(mirror: Mirror, commands: Sequence[Command]) -> tuple[dict[str, Image | None], dict[str, Item]]:
    """Images of every object the commands touch, and of what an archive takes along and its undo brings back: the
    objects nested below it, the open tasks it completes."""
    images: dict[str, Image | None] = {}
    items: dict[str, Item] = {}
    for sent in commands:
        facts = facts_of(sent)
        kind = RESOURCE_TYPES[facts.on]
        for object_id in touched_ids(sent):
            images[object_id] = _find(mirror, kind, object_id)
        target, cascade = target_of(sent), facts.cascades_to
        if not isinstance(facts.undo, Inverse) or cascade is None or target is None:
            continue
        if facts.undo.nested_by is not None and kind.nested_by is not None:
            table: dict[str, Image] = getattr(mirror, kind.table)
            stack = [target]
            while stack:
                parent = stack.pop()
                for nested in table.values():
                    if getattr(nested, kind.nested_by) == parent:
                        images[nested.id] = nested
                        stack.append(nested.id)
        if cascade.effect == "completes" and kind.tasks_by is not None:
            items.update({i.id: i for i in mirror.items.values() if kind.holds(i, {target})})
    return images, items


def after_images(mirror: Mirror, sent: Sequence[Command], mapping: dict[str, str]) -> dict[str, Image | None]:
    """The objects the confirmed commands touched or made, as the mirror has them once the write's own responses
    were applied: what undo compares with the objects then."""
    images: dict[str, Image | None] = {}
    for done in sent:
        kind = RESOURCE_TYPES[facts_of(done).on]
        made = mapping.get(done.temp_id) if done.temp_id is not None else None
        for object_id in [*touched_ids(done), *([made] if made is not None else [])]:
            images[object_id] = _find(mirror, kind, object_id)
    return images


def _find(mirror: Mirror, kind: Kind, object_id: str) -> Image | None:
    found: Image | None = getattr(mirror, kind.table).get(object_id)
    if found is None and kind.archive is not None:
        found = getattr(mirror, kind.archive).get(object_id)
    return found


def plan_command_undo(
    sent: Sequence[Command],
    mapping: dict[str, str],
    images: dict[str, Image | None],
    items: dict[str, Item],
    mirror: Mirror,
    *,
    after: dict[str, Image | None],
    new_uuid: NewUuid = new_uuid4,
) -> tuple[list[tuple[str, Command]], list[str], list[str]]:
    """(label, inverse command) pairs in the order to send them, what cannot be undone, and what changed elsewhere
    since ("<id> (<what>)": left as it is)."""
    undo = _Reversal(mapping, images, items, mirror, new_uuid, after)
    for done in reversed(sent):
        undo.reverse(done)
    for (noun, why), count in undo.not_undone.items():
        undo.cannot.append(f"{count} {noun}(s): {why}")
    return undo.out, undo.cannot, undo.changed


@dataclass
class _Reversal:
    mapping: dict[str, str]
    images: dict[str, Image | None]
    items: dict[str, Item]
    mirror: Mirror
    new_uuid: NewUuid
    after: dict[str, Image | None]
    out: list[tuple[str, Command]] = field(default_factory=list[tuple[str, Command]])
    cannot: list[str] = field(default_factory=list[str])
    changed: list[str] = field(default_factory=list[str])
    not_undone: dict[tuple[str, str], int] = field(default_factory=dict[tuple[str, str], int])

    def reverse(self, done: Command) -> None:
        facts = facts_of(done)
        kind = RESOURCE_TYPES[facts.on]
        target = target_of(done) or ""
        before = self.images.get(target)
        if isinstance(facts.undo, DeleteAdded):
            created = self.mapping.get(done.temp_id) if done.temp_id is not None else None
            if created is not None and self._unchanged(done, kind, [created]):
                self._delete_added(done, kind, facts.undo.by, created)
            return
        if not isinstance(facts.undo, NoUndo):
            entries = ids_in(done, facts.undo.entries) if isinstance(facts.undo, ReorderBack) else [target]
            if not self._unchanged(done, kind, entries):
                return  # an order is put back whole or not at all: part of it would scramble theirs
        match facts.undo:
            case NoUndo(why=why, noun=noun):
                self.not_undone[(noun, why)] = self.not_undone.get((noun, why), 0) + 1
            case RestoreFields() if _is(before, kind):
                old: dict[str, Any] = before.model_dump(mode="json")
                restored = {"id": target, **{n: old.get(n) for n in done.args.model_fields_set - {"id"}}}
                self._add(_label(before, kind), kind_of(type(done)), restored)
            case MoveBack() as recipe if _is(before, kind):
                self._add(_label(before, kind), kind_of(type(done)), {"id": before.id, **_place(before, recipe.to)})
                self.out.append((_label(before, kind), self._orders(recipe.order_by, [before])))
            case ReorderBack(entries=entries):
                # Only objects that still exist: one gone since (or deleted by this write, and added again under a
                # new id with its old order) would fail the whole reorder.
                olds = [
                    o
                    for i in ids_in(done, entries)
                    if _is(o := self.images.get(i), kind) and _find(self.mirror, kind, i) is not None
                ]
                if olds:
                    self.out.append((f"{kind.word} order", self._orders(kind_of(type(done)), olds)))
            case Inverse() as recipe:
                self._inverse(done, kind, recipe, target, before)
            case ReAdd(by=by) if _is(before, kind):
                # The image's fields that the add command takes: the same object again, under a new id.
                old = before.model_dump(mode="json")
                args = {n: old[n] for n in ARGS_MODELS[by].model_fields if n != "id" and old.get(n) is not None}
                self.out.append((_label(before, kind), command(by, self.new_uuid(), args, temp_id=self.new_uuid())))
            case _:
                pass  # no other recipe is sent by these writes

    def _add(self, label: str, kind: str, args: dict[str, Any]) -> None:
        self.out.append((label, command(kind, self.new_uuid(), args)))

    def _unchanged(self, done: Command, kind: Kind, object_ids: list[str]) -> bool:
        """Whether every object is still as the write left it by the command's declared check; names the others."""
        check = facts_of(done).unchanged
        assert check is not None  # the registry requires one of every command undo reverses
        names = compared(check, done.args.model_fields_set)
        ok = True
        for object_id in object_ids:
            differ = differing(self.after.get(object_id), _find(self.mirror, kind, object_id), names)
            if differ:
                self.changed.append(f"{object_id} ({', '.join(differ)})")
                ok = False
        return ok

    def _delete_added(self, done: Command, kind: Kind, by: str, created: str) -> None:
        """Delete an object the write added, only while nothing but what the write made lives in it: the
        declaration's ``holds`` (tasks open or completed, nested objects, sections, comments)."""
        name = str(arg_value(done.args, "name") or kind.word)
        check = facts_of(done).unchanged
        assert check is not None  # the registry requires one of every command undo reverses
        current = getattr(self.mirror, kind.table).get(created)
        keys = {created, *([current.name if current is not None else name] if kind.by_name else [])}
        found = strangers(self.mirror, check, keys, set(self.mapping.values()))
        if found:
            self.changed.append(f"{created} ({kind.word} '{name}' holds what was added since: {shown(found)})")
            return
        self._add(name, by, {"id": created})

    def _orders(self, reorder: str, objects: Sequence[Image]) -> Command:
        """The ``reorder`` command that puts back the objects' orders as their images have them."""
        recipe = COMMAND_KINDS[reorder].facts.undo
        assert isinstance(recipe, ReorderBack)  # the registry checks that a MoveBack's order_by reorders
        orders = {o.id: getattr(o, recipe.order) or 0 for o in objects}
        if recipe.keyed:
            return command(reorder, self.new_uuid(), {recipe.entries: orders})
        entries = [{"id": object_id, recipe.order: order} for object_id, order in orders.items()]
        return command(reorder, self.new_uuid(), {recipe.entries: entries})

    def _inverse(self, done: Command, kind: Kind, recipe: Inverse, target: str, before: Image | None) -> None:
        cascade = facts_of(done).cascades_to
        if cascade is None:
            self._add(_label(before, kind), recipe.by, {"id": target})
            return
        if not _is(before, kind):
            return  # what it took along is known only from the image
        family = [before]
        if recipe.nested_by is not None and kind.nested_by is not None:
            family += [
                image
                for image in self.images.values()
                if _is(image, kind) and image.id != before.id and self._below(image, before.id, kind)
            ]
        for image in family:
            self._add(_label(image, kind), recipe.by, {"id": image.id})
        if recipe.nested_by is not None:
            # Unarchiving restores a project as the last root one: each goes back under its parent, then the order.
            move = COMMAND_KINDS[recipe.nested_by].facts.undo
            assert isinstance(move, MoveBack)  # the registry checks that nested_by moves
            for image in family:
                if any(getattr(image, name) is not None for name in move.to):
                    self._add(_label(image, kind), recipe.nested_by, {"id": image.id, **_place(image, move.to)})
            self.out.append((_label(before, kind), self._orders(move.order_by, family)))
        if cascade.effect == "completes" and kind.tasks_by is not None:
            for item in self.items.values():
                if kind.holds(item, {target}):
                    self.out.append((item.content, ItemUncomplete(uuid=self.new_uuid(), args=ItemIdArgs(id=item.id))))

    def _below(self, image: Image, ancestor: str, kind: Kind) -> bool:
        current: Image | None = image
        parent_field = str(kind.nested_by)
        while _is(current, kind) and getattr(current, parent_field) is not None:
            parent: str = getattr(current, parent_field)
            if parent == ancestor:
                return True
            current = self.images.get(parent)
        return False


def _is(image: Image | None, kind: Kind) -> TypeGuard[Image]:
    """Whether ``image`` is an object of ``kind`` (an image may be missing: None)."""
    return isinstance(image, kind.record)


def _label(image: Image | None, kind: Kind) -> str:
    """What a step is called: the object's name, else what its type is called; "?" when it was not known."""
    if image is None:
        return "?"
    name = getattr(image, "name", None)
    return name if isinstance(name, str) else kind.word


def _place(image: Any, to: tuple[str, ...]) -> dict[str, Any]:
    """Where an image was: the first of ``to`` set there, else the last one (null, for a project: the root)."""
    for name in to:
        value = getattr(image, name)
        if value is not None:
            return {name: value}
    return {to[-1]: getattr(image, to[-1])}

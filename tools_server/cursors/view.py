"""Pure: what the model has seen, what changed since, and compact one-line task listings for query_changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from tools_server.cursors.seen_resources import ObjectType, SeenObjects
from tools_server.cursors.seen_tasks import SeenItems
from tools_server.dues import show_due
from tools_server.sync.commands import Collaborator, Item, Reminder
from tools_server.sync.mirror import Mirror, project_rank
from tools_server.sync.resource_types import ITEMS
from tools_server.text import clip
from tools_server.user import timezone_of

ChangeKind = Literal["added", "updated", "moved", "completed", "archived", "deleted"]
_ORDER: dict[ChangeKind, int] = {"added": 0, "updated": 1, "moved": 2, "completed": 3, "archived": 4, "deleted": 5}
_CONTENT_CHARS = 80
# A view that saw this many tasks differently from its snapshot takes a fresh one (shared by views of that version).
_DRIFT_FLOOR = 256
# A task a view never saw is kept as its id alone (about 30 bytes stored against 250 for a task's state).
_UNSEEN_WEIGHT = 0.125


def _weight(own: Mapping[str, Item | None]) -> float:
    return sum(1 if item is not None else _UNSEEN_WEIGHT for item in own.values())


@dataclass
class View:
    """The tasks as the model last saw them through one query_changes cursor."""

    # A SeenItems once refreshed: a snapshot shared with other views, and what this view saw since on top.
    seen: Mapping[str, Item] = field(default_factory=SeenItems)
    # The mirror version this view has seen in full; -1 until the first refresh.
    version: int = -1
    # Comments, projects, sections and labels as last seen.
    objects: SeenObjects = field(default_factory=SeenObjects)
    # The drift when the view last moved onto a snapshot, or found that moving would not halve what it keeps apart
    # (changes made elsewhere outweighed its own writes): the next try waits until the drift doubles, so tries cost
    # O(1) per task marked. Not stored: a process that reads the view back tries once.
    _tried_at: int = field(default=0, repr=False, compare=False)
    # The mirror version of the snapshot it was last moved onto (-1: none since its last full refresh). Everything it
    # saw differently from that snapshot is in what it keeps apart, so the next move need only look at those and at
    # what changed since that version, not at everything changed since ``version``. Not stored either.
    _based_at: int = field(default=-1, repr=False, compare=False)
    # Whether its session's own writes move it onto a fresh snapshot (``_rebase``). Not for a view whose store
    # writes only what it saw since its last record (the state file): there what it keeps apart costs nothing per
    # write, and a fresh snapshot is every task written again.
    rebases: bool = field(default=True, repr=False, compare=False)

    def refresh(self, mirror: Mirror, ids: set[str] | None = None, objects: set[str] | None = None) -> None:
        """Mark the mirror's current state as seen: all of it, or only the tasks ``ids`` and the other ``objects``
        (this session's own writes)."""
        if ids is None:
            self.objects.refresh(mirror)
            changed = mirror.changed_since(self.version) if self.version >= 0 else self._differing(mirror)
            self._based_at = -1
            if changed is None or self._mark(mirror, changed) > max(_DRIFT_FLOOR, len(mirror.items) // 8):
                # Now the view has seen exactly the mirror's items: the shared snapshot of this version says so.
                self.seen = SeenItems(mirror.items_snapshot())
                self._based_at = mirror.version
            self.version = mirror.version
            self._tried_at = 0
            return
        if objects:
            self.objects.refresh(mirror, objects)
        drift = self._mark(mirror, ids)
        if self.rebases and drift > max(_DRIFT_FLOOR, len(mirror.items) // 8, 2 * self._tried_at):
            self._rebase(mirror, drift)

    def _rebase(self, mirror: Mirror, drift: int) -> None:
        """Put a view that its session's own writes drifted far from its snapshot on the mirror's current one, with
        on top only what it has not seen as it is now: the tasks changed elsewhere since its version, as it saw them.

        Without this, what a view holds apart from its snapshot grew with every write until the next full refresh,
        and the file and Redis stores wrote all of it on every call (30 adds of 100 tasks over stdio: 3,000 tasks
        encoded by the last one). Costs what changed since the snapshot it sits on and what it keeps apart from it,
        once per drift of an eighth of the tasks (it cost every change since its version, which grew with each of the
        session's writes until the next full refresh); kept only when it at least halves what is kept apart from the
        snapshot (a view left unrefreshed while others edited much is better left on its old snapshot)."""
        seen = self.seen
        if not isinstance(seen, SeenItems):
            return
        if self._based_at >= 0:
            # What it saw differently from its snapshot is all in ``own``; the rest is the snapshot, changed since
            # only where the log says.
            changed = mirror.changed_since(self._based_at)
            if changed is not None:
                changed |= seen.parts()[1].keys()
        else:
            changed = mirror.changed_since(self.version) if self.version >= 0 else None
        if changed is None:
            return  # the log no longer reaches back: the next full refresh takes a fresh snapshot
        snapshot = mirror.items_snapshot()
        own: dict[str, Item | None] = {}
        for item_id in changed:
            was, now = seen.get(item_id), snapshot.get(item_id)
            if was is not now and was != now and (was is not None or item_id in snapshot):
                own[item_id] = was  # None: in the mirror, never seen by this view
        # What a store writes for the view: a task's whole state, or a bare id for a task it never saw (None).
        # Moved only when that at least halves.
        if _weight(own) * 2 > _weight(seen.parts()[1]):
            self._tried_at = drift
            return
        self.seen = SeenItems.of(snapshot, own, len(seen))
        self._tried_at = len(own)
        self._based_at = mirror.version

    def _differing(self, mirror: Mirror) -> set[str] | None:
        """With no version to go by (a view read back from a shared store, or restored), the tasks that differ by
        value, so the view keeps its snapshot; None for a view with nothing seen yet (it takes a fresh snapshot)."""
        seen = self.seen
        if not seen:
            return None
        items = mirror.items
        changed = {i for i, item in items.items() if seen.get(i) != item}
        changed.update(i for i in seen if i not in items)
        return changed

    def _mark(self, mirror: Mirror, ids: set[str]) -> int:
        """Mark ``ids`` as seen as they are now; returns how far the view has drifted from its snapshot."""
        seen = self.seen if isinstance(self.seen, SeenItems) else SeenItems(self.seen)
        self.seen = seen
        for item_id in ids:
            item = mirror.items.get(item_id)
            if item is None:
                seen.drop(item_id)
            else:
                seen.put(item_id, item)
        return seen.drift


class TaskBrief(BaseModel):
    id: str
    content: str
    project_id: str
    section_id: str | None = None
    parent_id: str | None = None
    priority: int | None = None
    due: str | None = None
    labels: list[str] | None = None


class Change(BaseModel):
    kind: ChangeKind
    id: str
    content: str
    detail: str | None = None
    of: ObjectType | None = Field(default=None, description="Not a task: what it is")


class ProjectBrief(BaseModel):
    id: str
    name: str
    tasks: int
    inbox: bool | None = None
    shared_with: list[str] | None = None  # its collaborators but the user, "name (email)": who can be assignee


class ArchivedBrief(BaseModel):
    id: str
    name: str


class LabelBrief(BaseModel):
    name: str
    tasks: int


class ChangesResult(BaseModel):
    cursor: str
    overview: bool
    projects: list[ProjectBrief] | None = None
    labels: list[LabelBrief] | None = None
    archived: list[ArchivedBrief] | None = None  # only when asked for
    tasks: list[TaskBrief] | None = None
    changes: list[Change] | None = None
    more: int = 0
    resynced: bool | None = None


def _moved(before: Item, after: Item) -> bool:
    return (before.project_id, before.section_id, before.parent_id) != (
        after.project_id,
        after.section_id,
        after.parent_id,
    )


def _edited(before: Item, after: Item) -> bool:
    return any(getattr(before, f) != getattr(after, f) for f in ITEMS.compared)


def diff(view: View, mirror: Mirror) -> list[Change]:
    """Changes between what the view saw and the mirror now, added first, then by kind, each in listing order."""
    changes: list[Change] = []
    changed = mirror.changed_since(view.version) if view.version >= 0 else None
    if changed is not None:
        current = {i: mirror.items[i] for i in changed if i in mirror.items}
        vanished = {i: view.seen[i] for i in changed if i in view.seen and i not in mirror.items}
    else:
        current = mirror.items
        vanished = {i: view.seen[i] for i in view.seen if i not in mirror.items}
    for item_id, item in current.items():
        before = view.seen.get(item_id)
        if before is item:
            continue  # mirrored objects are replaced, never changed in place: the same object is unchanged
        if before is None:
            changes.append(
                Change(
                    kind="added", id=item_id, content=clip(item.content, _CONTENT_CHARS), detail=_where(item, mirror)
                )
            )
        elif _moved(before, item):
            changes.append(
                Change(
                    kind="moved", id=item_id, content=clip(item.content, _CONTENT_CHARS), detail=_where(item, mirror)
                )
            )
        elif _edited(before, item):
            detail = _due(item, mirror.timezone) if before.due != item.due and item.due is not None else None
            changes.append(
                Change(kind="updated", id=item_id, content=clip(item.content, _CONTENT_CHARS), detail=detail)
            )
    for item_id, before in vanished.items():
        reason, _ = mirror.gone.get(item_id, ("deleted", before))
        changes.append(Change(kind=reason, id=item_id, content=clip(before.content, _CONTENT_CHARS)))
    for kind, of, object_id, text, detail in view.objects.diff(mirror):
        changes.append(Change(kind=kind, of=of, id=object_id, content=text, detail=detail))
    changes.sort(key=lambda c: _ORDER[c.kind])
    return changes


def brief(item: Item, zone: str | None = None) -> TaskBrief:
    """``zone`` is the user's: it names the zone of a UTC due that carries none of its own."""
    return TaskBrief(
        id=item.id,
        content=clip(item.content, _CONTENT_CHARS),
        project_id=item.project_id,
        section_id=item.section_id,
        parent_id=item.parent_id,
        priority=item.priority if item.priority > 1 else None,
        due=_due(item, zone),
        labels=list(item.labels) or None,
    )


def ordered_tasks(mirror: Mirror) -> list[Item]:
    """Active tasks grouped by project (Inbox first), then by section, then in their own order, parents first."""
    rank = {pid: project_rank(p) for pid, p in mirror.projects.items()}
    return sorted(
        mirror.items.values(),
        key=lambda i: (
            rank.get(i.project_id, (True, 1 << 30, i.project_id)),
            i.section_id or "",
            i.parent_id is not None,
            i.child_order,
        ),
    )


def project_briefs(mirror: Mirror) -> list[ProjectBrief]:
    counts: dict[str, int] = {}
    for item in mirror.items.values():
        counts[item.project_id] = counts.get(item.project_id, 0) + 1
    projects = sorted(mirror.projects.values(), key=project_rank)
    me = mirror.user.id if mirror.user is not None else None
    return [
        ProjectBrief(
            id=p.id,
            name=p.name,
            tasks=counts.get(p.id, 0),
            inbox=p.inbox_project or None,
            shared_with=[_someone(c) for c in mirror.members(p.id) if c.id != me] or None,
        )
        for p in projects
    ]


def _someone(person: Collaborator) -> str:
    if person.full_name and person.email:
        return f"{person.full_name} ({person.email})"
    return person.full_name or person.email or person.id


def label_briefs(mirror: Mirror) -> list[LabelBrief]:
    """The account's labels in their order, then names open tasks carry that are no label of the account (shared
    labels), each with its open tasks; names compared case-insensitively, as Todoist does."""
    counts: dict[str, int] = {}
    spelt: dict[str, str] = {}
    for item in mirror.items.values():
        for name in item.labels:
            key = name.casefold()
            counts[key] = counts.get(key, 0) + 1
            spelt.setdefault(key, name)
    own = sorted(mirror.labels.values(), key=lambda label: (label.item_order is None, label.item_order or 0))
    briefs = [LabelBrief(name=label.name, tasks=counts.pop(label.name.casefold(), 0)) for label in own]
    briefs += [LabelBrief(name=spelt[key], tasks=count) for key, count in sorted(counts.items())]
    return briefs


# ---------------------------------------------------------------------------------------------------------------------
# Text lines


def task_line(item: Item, mirror: Mirror) -> str:
    """`<id> <content> · p1 · due … · #Project/Section · @label` with empty parts left out."""
    parts = [f"{item.id} {clip(item.content, _CONTENT_CHARS)}"]
    if item.priority > 1:
        parts.append(f"p{5 - item.priority}")
    due = _due(item, mirror.timezone)
    if due:
        parts.append(f"due {due}")
    parts.append(_where(item, mirror))
    if item.labels:
        parts.append(" ".join(f"@{label}" for label in item.labels))
    if item.responsible_uid:
        by = item.assigned_by_uid
        # Who assigned it matters when it was someone else (a collaborator handing a task over).
        who = f" by {mirror.person(by)}" if by and by != item.responsible_uid else ""
        parts.append(f"assigned to {mirror.person(item.responsible_uid)}{who}")
    if mirror.reminders:
        alarms = [_reminder(r, timezone_of(mirror)) for r in mirror.reminders_of(item.id)]
        if alarms:
            parts.append("reminders " + ", ".join(alarms))
    return " · ".join(parts)


def _reminder(reminder: Reminder, zone_name: str) -> str:
    if reminder.type == "location":
        way = "leaving" if reminder.loc_trigger == "on_leave" else "arriving at"
        return f"{way} {reminder.name or 'a place'}" + (f" ({reminder.radius} m)" if reminder.radius else "")
    if reminder.type == "relative":
        return f"{reminder.minute_offset or 0}m before"
    if reminder.due is None:
        return reminder.type
    # Todoist sends a reminder's moment in UTC (``...T07:00:00.000000Z``): shown on the user's clock, and with its
    # zone named only when the reminder is fixed to another one.
    shown = show_due(reminder.due, zone_name, rule=False)
    return shown.removesuffix(f" {zone_name}")


def change_line(change: Change) -> str:
    what = f"{change.kind} {change.of}" if change.of else change.kind
    line = f"{what} {change.id} {change.content}"
    return f"{line} · {change.detail}" if change.detail else line


def _where(item: Item, mirror: Mirror) -> str:
    where = f"#{mirror.project_name(item.project_id)}"
    if item.section_id:
        section = mirror.sections.get(item.section_id)
        where += f"/{section.name if section else item.section_id}"
    if item.parent_id:
        where += f" ↳{item.parent_id}"
    return where


def _due(item: Item, zone: str | None) -> str | None:
    return show_due(item.due, zone) if item.due is not None else None

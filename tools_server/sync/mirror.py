"""The session's copy of the account: active items, projects, sections and labels, kept current by Sync deltas.

Pure: it applies ``SyncResponse`` objects and answers look-ups; it never sends anything.
"""

from __future__ import annotations

import difflib
import weakref
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

from tools_server.sync.resource_types import ITEMS, RESOURCE_TYPES, ResourceType
from tools_server.sync.responses import (
    Collaborator,
    CollaboratorState,
    Filter,
    Item,
    Label,
    Note,
    Project,
    Reminder,
    Section,
    SyncResponse,
    User,
)

GoneReason = Literal["completed", "deleted"]
# How many completed/deleted items to remember so query_changes can say which of the two happened.
_GONE_MEMORY = 10_000
# How many changed item ids the change log may hold before its oldest entries go (views that old rescan everything).
_LOG_MEMORY = 200_000
_T = TypeVar("_T")


@dataclass
class Mirror:
    items: dict[str, Item] = field(default_factory=dict[str, Item])
    projects: dict[str, Project] = field(default_factory=dict[str, Project])
    sections: dict[str, Section] = field(default_factory=dict[str, Section])
    labels: dict[str, Label] = field(default_factory=dict[str, Label])
    # Task and project comments in one table (a note has item_id or project_id).
    notes: dict[str, Note] = field(default_factory=dict[str, Note])
    # Projects and sections seen being archived (full syncs leave archived ones out), so they can be named again.
    archived_projects: dict[str, Project] = field(default_factory=dict[str, Project])
    archived_sections: dict[str, Section] = field(default_factory=dict[str, Section])
    user: User | None = None
    reminders: dict[str, Reminder] = field(default_factory=dict[str, Reminder])
    filters: dict[str, Filter] = field(default_factory=dict[str, Filter])  # saved filters
    collaborators: dict[str, Collaborator] = field(default_factory=dict[str, Collaborator])
    collaborator_states: dict[str, CollaboratorState] = field(default_factory=dict[str, CollaboratorState])
    inbox_project_id: str | None = None
    # The user's settings (reference §2.9): IANA zone for "today" and shown times, 1 = Monday .. 7 = Sunday,
    # 0 = DD-MM-YYYY / 1 = MM-DD-YYYY, and the language Todoist reads due strings in when none is given.
    timezone: str | None = None
    start_day: int = 1
    date_format: int = 0
    lang: str | None = None
    gone: OrderedDict[str, tuple[GoneReason, Item]] = field(default_factory=OrderedDict[str, tuple[GoneReason, Item]])
    synced: bool = False
    # Change log: which item ids each apply touched, so a view's diff costs O(changes), not O(account size).
    version: int = 0
    _log: list[tuple[int, frozenset[str]]] = field(default_factory=list[tuple[int, frozenset[str]]])
    _log_size: int = 0
    _log_floor: int = 0  # changes at or below this version may be missing from the log
    # The last items_snapshot, held weakly: only the views that saw it keep it alive. Keyed by (version, table).
    _snapshot: tuple[tuple[int, int], weakref.ref[_Snapshot]] | None = field(default=None, repr=False, compare=False)
    # Parent id -> its active subtasks (a dict as an ordered set), kept as ``items`` changes: subtasks are asked for
    # on every edit of a task (own writes, undo images, deletes), and a rebuild per question walked the account.
    # Derived from ``items``, so not a constructor argument: a mirror made or restored with items indexes them.
    _children: dict[str, dict[str, None]] = field(
        default_factory=dict[str, dict[str, None]], init=False, repr=False, compare=False
    )
    # The same for the top-level tasks of each section ("s", id) and of each project outside sections ("p", id): the
    # siblings a position is computed among, which a scan of every task found before.
    _tops: dict[tuple[str, str], dict[str, None]] = field(
        default_factory=dict[tuple[str, str], dict[str, None]], init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for item in self.items.values():
            self._link(item)

    def items_snapshot(self) -> Mapping[str, Item]:
        """The active items as they are now, in a table no one changes: views that see the same version share it.

        ``items`` changes only in ``apply``, which moves ``version`` (or replaces the table), so the key tells when
        the last snapshot is still the current state."""
        key = (self.version, id(self.items))
        if self._snapshot is not None and self._snapshot[0] == key:
            kept = self._snapshot[1]()
            if kept is not None:
                return kept
        snapshot = _Snapshot(self.items)
        self._snapshot = (key, weakref.ref(snapshot))
        return snapshot

    def changed_since(self, version: int) -> set[str] | None:
        """Item ids touched after ``version``, or None when the log no longer reaches back that far."""
        if version < self._log_floor:
            return None
        changed: set[str] = set()
        for logged, ids in reversed(self._log):
            if logged <= version:
                break
            changed |= ids
        return changed

    def trim_log(self, version: int) -> None:
        """Forget changes no view needs any more (every view has seen up to ``version``)."""
        while self._log and (self._log[0][0] <= version or self._log_size > _LOG_MEMORY):
            logged, ids = self._log.pop(0)
            self._log_size -= len(ids)
            self._log_floor = max(self._log_floor, logged)

    def apply(self, response: SyncResponse) -> None:
        """Merge a Sync response: replace on full sync, else upsert active objects and drop the rest."""
        touched: set[str] = set()
        if response.full_sync and response.items is not None:
            touched.update(self.items)
        touched.update(item.id for item in response.items or ())
        self._merge_response(response)
        touched |= self._hide_archived(response)
        if touched:
            self.version += 1
            self._log.append((self.version, frozenset(touched)))
            self._log_size += len(touched)
            self.trim_log(-1)  # only enforces the size cap

    def _merge_response(self, response: SyncResponse) -> None:
        if response.user is not None:
            self.user = response.user
            self._merge_user(response.user)
        if response.full_sync:
            # Replacing (not merging) is what drops objects deleted while we were not looking (reference §6).
            for kind in RESOURCE_TYPES.values():
                if getattr(response, kind.name) is not None:
                    self._replace(kind)
            self.synced = True
        for item in response.items or ():
            if item.is_deleted or item.checked:
                self._drop_item(item.id)
                self._remember_gone(item, "deleted" if item.is_deleted else "completed")
            else:
                self._put_item(item)
                self.gone.pop(item.id, None)
        for kind in _OBJECT_TYPES:
            records = getattr(response, kind.name)
            if records:
                self._merge_objects(kind, records)
        if self.inbox_project_id is None:
            self.inbox_project_id = next((p.id for p in self.projects.values() if p.inbox_project), None)

    def _replace(self, kind: ResourceType[Any]) -> None:
        """Forget a type's objects before its full list is merged (only its own, in a table it shares)."""
        table: dict[str, Any] = getattr(self, kind.table)
        owns = kind.owns
        setattr(self, kind.table, {} if owns is None else {k: o for k, o in table.items() if not owns(o)})
        if kind is ITEMS:
            self._children, self._tops = {}, {}  # the tasks they indexed went with the table

    def _merge_objects(self, kind: ResourceType[Any], records: list[Any]) -> None:
        """Upsert the active ones, drop the deleted ones; an archived one moves to its type's archive table."""
        table: dict[str, Any] = getattr(self, kind.table)
        archive: dict[str, Any] | None = getattr(self, kind.archive) if kind.archive is not None else None
        for record in records:
            if archive is None:
                _merge(table, record.id, record, record.is_deleted)
            else:
                _merge(table, record.id, record, record.is_deleted or record.is_archived)
                _merge(archive, record.id, record, record.is_deleted or not record.is_archived)

    def _merge_user(self, user: User) -> None:
        # An incremental user object may carry only some keys: what it lacks stays as it was.
        if user.inbox_project_id:
            self.inbox_project_id = user.inbox_project_id
        zone = user.zone_name
        if zone:
            self.timezone = zone
        if user.start_day is not None and 1 <= user.start_day <= 7:
            self.start_day = user.start_day
        if user.date_format in (0, 1):
            self.date_format = user.date_format
        if user.lang:
            self.lang = user.lang

    def keep_archived(self, projects: Collection[Project]) -> None:
        """Archived projects read apart (``GET /projects/archived``): kept so they can be named, unless a Sync
        response since says they are active again (then they are in ``projects``)."""
        for project in projects:
            if project.is_archived and not project.is_deleted and project.id not in self.projects:
                self.archived_projects[project.id] = project

    def _hide_archived(self, response: SyncResponse) -> set[str]:
        """Tasks of a project archived in this response leave the mirror, as they leave a full sync; unarchiving
        sends them again."""
        archived = {p.id for p in response.projects or () if p.is_archived and not p.is_deleted}
        if not archived:
            return set()
        hidden = {i.id for i in self.items.values() if i.project_id in archived}
        for item_id in hidden:
            self._drop_item(item_id)
        for section_id in [s.id for s in self.sections.values() if s.project_id in archived]:
            del self.sections[section_id]
        return hidden

    # Every change to ``items`` goes through these two, so the place indexes never disagree with the table.

    def _put_item(self, item: Item) -> None:
        before = self.items.get(item.id)
        self.items[item.id] = item
        if before is None or _place(before) != _place(item):
            if before is not None:
                self._unlink(before)
            self._link(item)

    def _drop_item(self, item_id: str) -> None:
        before = self.items.pop(item_id, None)
        if before is not None:
            self._unlink(before)

    def _link(self, item: Item) -> None:
        if item.parent_id is not None:
            self._children.setdefault(item.parent_id, {})[item.id] = None
        else:
            self._tops.setdefault(_place(item), {})[item.id] = None

    def _unlink(self, item: Item) -> None:
        index: dict[Any, dict[str, None]] = self._children if item.parent_id is not None else self._tops
        key = item.parent_id if item.parent_id is not None else _place(item)
        siblings = index.get(key)
        if siblings is not None:
            siblings.pop(item.id, None)
            if not siblings:
                del index[key]  # no empty entries: the index equals a rebuild exactly

    def _remember_gone(self, item: Item, reason: GoneReason) -> None:
        self.gone[item.id] = (reason, item)
        self.gone.move_to_end(item.id)
        while len(self.gone) > _GONE_MEMORY:
            self.gone.popitem(last=False)

    # -- look-ups -----------------------------------------------------------------------------------------------

    def children_index(self) -> Mapping[str, Collection[str]]:
        """Parent id -> ids of its active subtasks, as kept while responses are applied (read-only to callers)."""
        return self._children

    def descendants(self, item_id: str) -> list[str]:
        """Ids of the active subtasks below an item, at any depth: costs the size of the subtree, not the account."""
        children = self._children
        found: list[str] = []
        stack = list(children.get(item_id, ()))
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(children.get(current, ()))
        return found

    def reminders_of(self, item_id: str) -> list[Reminder]:
        return [r for r in self.reminders.values() if r.item_id == item_id]

    def siblings(self, project_id: str | None, section_id: str | None, parent_id: str | None) -> list[Item]:
        """Active tasks at one place (under a parent, else in a section, else at a project's top level), in order:
        read from the place indexes, so it costs the place's size, not the account's."""
        if parent_id is not None:
            ids: Collection[str] = self._children.get(parent_id, ())
        elif section_id is not None:
            ids = self._tops.get(("s", section_id), ())
        else:
            ids = self._tops.get(("p", project_id or ""), ())
        return sorted((self.items[i] for i in ids), key=lambda i: (i.child_order, i.id))

    def places_index(self) -> Mapping[tuple[str, str], Collection[str]]:
        """("s", section id) or ("p", project id) -> ids of the active top-level tasks there (read-only to callers)."""
        return self._tops

    def find_project(self, ref: str) -> Project | None:
        """A project by id, else by exact name (case-insensitive)."""
        if ref in self.projects:
            return self.projects[ref]
        folded = ref.casefold()
        return next((p for p in self.projects.values() if p.name.casefold() == folded), None)

    def find_sections(self, ref: str, project_id: str | None) -> list[Section]:
        """Sections by id, else by exact name (case-insensitive), within a project when one is given."""
        if ref in self.sections:
            return [self.sections[ref]]
        folded = ref.casefold()
        return [
            s
            for s in self.sections.values()
            if s.name.casefold() == folded and (project_id is None or s.project_id == project_id)
        ]

    def person(self, uid: str) -> str:
        """What a user id is called: "me" for the user, else a collaborator's name (or email), else the id."""
        if self.user is not None and self.user.id == uid:
            return "me"
        found = self.collaborators.get(uid)
        return (found.full_name or found.email or uid) if found is not None else uid

    def members(self, project_id: str) -> list[Collaborator]:
        """The collaborators of a shared project (active or invited, as ``collaborator_states`` says), by name."""
        ids = {s.user_id for s in self.collaborator_states.values() if s.project_id == project_id}
        people = [self.collaborators.get(uid) or Collaborator(id=uid) for uid in ids]
        return sorted(people, key=lambda c: (c.full_name.casefold(), c.id))

    def find_filters(self, ref: str) -> list[Filter]:
        """Saved filters by id, else by exact name (case-insensitive)."""
        if ref in self.filters:
            return [self.filters[ref]]
        folded = ref.casefold()
        return [f for f in self.filters.values() if f.name.casefold() == folded]

    def project_suggestions(self, ref: str) -> list[str]:
        return _closest(ref, [p.name for p in self.projects.values()])

    def section_suggestions(self, ref: str, project_id: str | None) -> list[str]:
        names = [s.name for s in self.sections.values() if project_id is None or s.project_id == project_id]
        return _closest(ref, names)

    def project_name(self, project_id: str) -> str:
        project = self.projects.get(project_id)
        return project.name if project is not None else project_id


# Tasks are merged on their own (their change log and the memory of completed and deleted ones); the rest alike.
_OBJECT_TYPES = tuple(kind for kind in RESOURCE_TYPES.values() if kind is not ITEMS)
# The tables are typed attributes for readers of the mirror; the merges find them through the declarations.
if {t for k in RESOURCE_TYPES.values() for t in (k.table, k.archive) if t} - {f.name for f in fields(Mirror)}:
    raise TypeError("Mirror needs a table for each declared resource type")


class _Snapshot(dict[str, Item]):
    """A plain dict cannot be weakly referenced; a subclass can."""


def _merge(table: dict[str, _T], key: str, value: _T, gone: bool) -> None:
    if gone:
        table.pop(key, None)
    else:
        table[key] = value


def _closest(ref: str, names: list[str]) -> list[str]:
    """Up to three names near ``ref``: close spellings first, then names that contain it."""
    by_fold = {name.casefold(): name for name in names}
    close = difflib.get_close_matches(ref.casefold(), list(by_fold), n=3, cutoff=0.5)
    picks = [by_fold[c] for c in close]
    picks += [n for n in names if ref.casefold() in n.casefold() and n not in picks]
    return picks[:3]


def project_rank(project: Project) -> tuple[bool, int, str]:
    """The order projects are listed in: Inbox first, then Todoist's own order, then by name."""
    return (not project.inbox_project, project.child_order, project.name)


def _place(item: Item) -> tuple[str, str]:
    """Where a task sits among its siblings: under its parent, else in its section, else at its project's top."""
    if item.parent_id is not None:
        return ("t", item.parent_id)
    if item.section_id is not None:
        return ("s", item.section_id)
    return ("p", item.project_id)

"""The mirror's place indexes (parent -> subtasks; section or project -> its top-level tasks), kept as responses are
applied, always equal ones rebuilt from its tasks: through adds, moves, edits, deletes, completions, archived projects
and full resyncs, in any order; and siblings read from them equal a scan of every task."""

from __future__ import annotations

from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from tools_server.sync.commands import Item, Project, SyncResponse
from tools_server.sync.mirror import Mirror

_IDS = [f"T{i}" for i in range(8)]
_PROJECTS = ["P1", "P2"]
Op = Literal["put", "delete", "complete"]
Change = tuple[Op, str, str | None, str, str, str | None, int]

# One task as a response carries it: put (added, moved under another parent or none, or edited), deleted, completed.
_SECTIONS = ["S1", "S2"]
_change = st.tuples(
    st.sampled_from(["put", "put", "delete", "complete"]),
    st.sampled_from(_IDS),
    st.none() | st.sampled_from(_IDS),
    st.sampled_from(_PROJECTS),
    st.sampled_from(["a", "b"]),
    st.none() | st.sampled_from(_SECTIONS),
    st.integers(0, 3),
)
_response = st.tuples(
    st.sampled_from(["incremental", "incremental", "incremental", "full", "archive"]),
    st.lists(_change, max_size=6),
)


def _item(
    op: Op, item_id: str, parent: str | None, project: str, content: str, section: str | None = None, order: int = 0
) -> Item:
    return Item(
        id=item_id,
        parent_id=parent,
        project_id=project,
        section_id=section,
        child_order=order,
        content=content,
        is_deleted=op == "delete",
        checked=op == "complete",
    )


def _response_of(kind: str, changes: list[Change]) -> SyncResponse:
    items = [_item(*change) for change in changes]
    if kind == "full":
        # A full sync lists only active tasks: it replaces the table, dropping what it does not list.
        return SyncResponse("s", full_sync=True, items=[i for i in items if not (i.is_deleted or i.checked)])
    if kind == "archive":
        # Archiving a project takes its tasks out of the mirror without listing them.
        return SyncResponse("s", items=items, projects=[Project(id="P2", is_archived=True)])
    return SyncResponse("s", items=items)


def _rebuilt(mirror: Mirror) -> dict[str, set[str]]:
    children: dict[str, set[str]] = {}
    for item in mirror.items.values():
        if item.parent_id is not None:
            children.setdefault(item.parent_id, set()).add(item.id)
    return children


def _tops_rebuilt(mirror: Mirror) -> dict[tuple[str, str], set[str]]:
    tops: dict[tuple[str, str], set[str]] = {}
    for item in mirror.items.values():
        if item.parent_id is None:
            place = ("s", item.section_id) if item.section_id is not None else ("p", item.project_id)
            tops.setdefault(place, set()).add(item.id)
    return tops


def _scanned_siblings(mirror: Mirror, project: str, section: str | None, parent: str | None) -> list[Item]:
    """Mirror.siblings as it was before the place indexes: a scan of every task."""
    if parent is not None:
        found = [i for i in mirror.items.values() if i.parent_id == parent]
    elif section is not None:
        found = [i for i in mirror.items.values() if i.section_id == section and i.parent_id is None]
    else:
        found = [
            i for i in mirror.items.values() if i.project_id == project and i.section_id is None and i.parent_id is None
        ]
    return sorted(found, key=lambda i: (i.child_order, i.id))


def _kept(mirror: Mirror) -> dict[str, set[str]]:
    return {parent: set(children) for parent, children in mirror.children_index().items()}


def _below(children: dict[str, set[str]], item_id: str) -> set[str]:
    found: set[str] = set()
    stack = [item_id]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


@settings(max_examples=60)  # each example applies up to 12 responses; a broken index fails within a few
@given(st.lists(_response, max_size=12))
def test_the_kept_subtask_index_equals_a_rebuild_after_any_sequence_of_responses(
    responses: list[tuple[str, list[Change]]],
) -> None:
    mirror = Mirror()
    for kind, changes in responses:
        mirror.apply(_response_of(kind, changes))
        rebuilt = _rebuilt(mirror)
        assert _kept(mirror) == rebuilt
        assert {place: set(ids) for place, ids in mirror.places_index().items()} == _tops_rebuilt(mirror)
        for project in _PROJECTS:
            for section in (None, *_SECTIONS):
                for parent in (None, *_IDS):
                    assert mirror.siblings(project, section, parent) == _scanned_siblings(
                        mirror, project, section, parent
                    )
        for item_id in _IDS:
            # Random parents can make a cycle (a subtask's parent under itself); Todoist never sends one.
            if item_id not in _below(rebuilt, item_id):
                assert set(mirror.descendants(item_id)) == _below(rebuilt, item_id)
    restored = Mirror(items=dict(mirror.items))  # a mirror restored from its tasks too
    assert _kept(restored) == _rebuilt(mirror)
    assert {place: set(ids) for place, ids in restored.places_index().items()} == _tops_rebuilt(mirror)


def test_a_task_moved_to_another_parent_leaves_the_old_one_and_the_last_subtask_leaves_no_entry() -> None:
    mirror = Mirror()
    mirror.apply(SyncResponse("s1", full_sync=True, items=[Item(id="A"), Item(id="B"), Item(id="C", parent_id="A")]))
    mirror.apply(SyncResponse("s2", items=[Item(id="C", parent_id="B")]))
    assert _kept(mirror) == {"B": {"C"}} and mirror.descendants("A") == [] and mirror.descendants("B") == ["C"]
    mirror.apply(SyncResponse("s3", items=[Item(id="C", parent_id="B", checked=True)]))
    assert _kept(mirror) == {}

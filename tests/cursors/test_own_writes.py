"""A session's own writes count as seen in its cursors, as far as the commands' declared facts reach: the ids they
touch, their tasks' subtasks, and the tasks they cascade to; changes made elsewhere are still reported."""

from __future__ import annotations

from tools_server.cursors.own_writes import mark_own_writes, own_writes, own_writes_ahead
from tools_server.cursors.view import View, diff
from tools_server.sync.commands import (
    Command,
    Item,
    ItemClose,
    ItemIdArgs,
    Label,
    LabelUpdate,
    LabelUpdateArgs,
    Project,
    ProjectArchive,
    ProjectDelete,
    SyncResponse,
)
from tools_server.sync.mirror import Mirror
from tools_server.sync.send import Outcome


def _seen(mirror: Mirror) -> View:
    view = View()
    view.refresh(mirror)
    return view


def _own(view: View, mirror: Mirror, response: SyncResponse, *commands: Command) -> list[tuple[str, str | None, str]]:
    """The changes ``view`` still reports after the session sent ``commands`` and got ``response``."""
    before = own_writes_ahead(mirror, commands)
    mirror.apply(response)
    writes = own_writes(mirror, commands, Outcome(statuses={c.uuid: "ok" for c in commands}), before)
    mark_own_writes(view, mirror, writes)
    return [(c.kind, c.of, c.id) for c in diff(view, mirror)]


def test_tasks_an_own_label_rename_relabelled_are_not_reported_but_an_edit_from_elsewhere_is() -> None:
    mirror = Mirror()
    tasks = [Item(id="T1", labels=("Home",)), Item(id="T2", labels=("work",))]
    mirror.apply(SyncResponse("s1", full_sync=True, items=tasks, labels=[Label(id="L1", name="home")]))
    view = _seen(mirror)
    renamed = [Item(id="T1", labels=("house",)), Item(id="T2", labels=("work",), content="edited elsewhere")]
    response = SyncResponse("s2", items=renamed, labels=[Label(id="L1", name="house")])
    rename = LabelUpdate(uuid="u1", args=LabelUpdateArgs(id="L1", name="house"))
    assert _own(view, mirror, response, rename) == [("updated", None, "T2")]


def test_an_own_project_archive_takes_the_tasks_of_its_sub_projects_along() -> None:
    mirror = Mirror()
    projects = [Project(id="P1", name="Work"), Project(id="P2", name="Sub", parent_id="P1"), Project(id="P3")]
    tasks = [Item(id="T1", project_id="P1"), Item(id="T2", project_id="P2"), Item(id="T3", project_id="P3")]
    mirror.apply(SyncResponse("s1", full_sync=True, items=tasks, projects=projects))
    view = _seen(mirror)
    archived = [Project(id="P1", name="Work", is_archived=True), Project(id="P2", is_archived=True, parent_id="P1")]
    response = SyncResponse("s2", projects=archived, items=[Item(id="T3", project_id="P3", is_deleted=True)])
    archive = ProjectArchive(uuid="u1", args=ItemIdArgs(id="P1"))
    assert [c for c in _own(view, mirror, response, archive) if c[1] is None] == [("deleted", None, "T3")]


def test_an_own_completion_counts_the_subtasks_it_completed_as_seen() -> None:
    mirror = Mirror()
    tasks = [Item(id="T1"), Item(id="T2", parent_id="T1"), Item(id="T3", parent_id="T2"), Item(id="T4")]
    mirror.apply(SyncResponse("s1", full_sync=True, items=tasks))
    view = _seen(mirror)
    done = [Item(id=i, parent_id=p, checked=True) for i, p in (("T1", None), ("T2", "T1"), ("T3", "T2"), ("T4", None))]
    close = ItemClose(uuid="u1", args=ItemIdArgs(id="T1"))
    assert _own(view, mirror, SyncResponse("s2", items=done), close) == [("completed", None, "T4")]


def test_a_resent_completion_the_mirror_already_applied_still_counts_the_subtasks_the_cursor_saw() -> None:
    mirror = Mirror()
    tasks = [Item(id="T1"), Item(id="T2", parent_id="T1"), Item(id="T3")]
    mirror.apply(SyncResponse("s1", full_sync=True, items=tasks))
    view = _seen(mirror)
    # The first attempt got through, so the mirror lost T1 and T2 before the resend looks ahead.
    done = [Item(id="T1", checked=True), Item(id="T2", parent_id="T1", checked=True), Item(id="T3", checked=True)]
    mirror.apply(SyncResponse("s2", items=done))
    close = ItemClose(uuid="u1", args=ItemIdArgs(id="T1"))
    assert _own(view, mirror, SyncResponse("s3"), close) == [("completed", None, "T3")]


def test_an_own_project_delete_the_mirror_already_applied_still_counts_the_tasks_the_cursor_saw_in_it() -> None:
    mirror = Mirror()
    tasks = [Item(id="T1", project_id="P1"), Item(id="T2", project_id="P2")]
    mirror.apply(SyncResponse("s1", full_sync=True, items=tasks, projects=[Project(id="P1"), Project(id="P2")]))
    view = _seen(mirror)
    gone = [Item(id="T1", project_id="P1", is_deleted=True), Item(id="T2", project_id="P2", is_deleted=True)]
    mirror.apply(SyncResponse("s2", items=gone, projects=[Project(id="P1", is_deleted=True)]))
    delete = ProjectDelete(uuid="u1", args=ItemIdArgs(id="P1"))
    assert [c for c in _own(view, mirror, SyncResponse("s3"), delete) if c[1] is None] == [("deleted", None, "T2")]


def test_a_subtask_completed_elsewhere_before_the_session_completes_its_parent_is_still_reported() -> None:
    mirror = Mirror()
    tasks = [Item(id="T1"), Item(id="T2", parent_id="T1"), Item(id="T3", parent_id="T1")]
    mirror.apply(SyncResponse("s1", full_sync=True, items=tasks))
    view = _seen(mirror)
    mirror.apply(SyncResponse("s2", items=[Item(id="T2", parent_id="T1", checked=True)]))  # another client's call
    done = [Item(id="T1", checked=True), Item(id="T3", parent_id="T1", checked=True)]
    close = ItemClose(uuid="u1", args=ItemIdArgs(id="T1"))
    assert _own(view, mirror, SyncResponse("s3", items=done), close) == [("completed", None, "T2")]

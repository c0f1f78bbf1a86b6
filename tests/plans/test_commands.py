"""Pure planning: chunk limits, temp ids across chunks, name resolution and its one wording of a name not found."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools_server.inputs import MoveTarget, NewComment, NewItem, NewProject, NewSubtask, ProjectOp
from tools_server.plans.comments import plan_comments
from tools_server.plans.plan import PlanError
from tools_server.plans.projects import plan_projects
from tools_server.plans.tasks import plan_add, plan_complete, resolve_destination
from tools_server.sync.batch import chunk_commands, command_size, new_uuid4, rewrite_temp_ids
from tools_server.sync.commands import MAX_BODY_BYTES, ItemAdd, ItemAddArgs, Project, SyncResponse
from tools_server.sync.mirror import Mirror


def _adds(n: int, content: str = "x") -> list[ItemAdd]:
    return [ItemAdd(uuid=f"u{i}", temp_id=f"t{i}", args=ItemAddArgs(content=content)) for i in range(n)]


@given(st.integers(min_value=0, max_value=450))
def test_chunks_never_exceed_100_commands_and_keep_order(n: int) -> None:
    commands = _adds(n)
    chunks = chunk_commands(commands)
    assert all(0 < len(c) <= 100 for c in chunks)
    assert [c.uuid for chunk in chunks for c in chunk] == [c.uuid for c in commands]
    assert len(chunks) == -(-n // 100)


def test_chunks_split_by_body_size_before_the_1_mib_limit() -> None:
    big = _adds(60, content="y" * 20_000)
    chunks = chunk_commands(big)
    assert len(chunks) > 1
    for chunk in chunks:
        assert sum(command_size(c) for c in chunk) < MAX_BODY_BYTES


def test_rewrite_temp_ids_replaces_a_parent_created_in_an_earlier_request() -> None:
    child = ItemAdd(uuid="u2", temp_id="t2", args=ItemAddArgs(content="child", parent_id="t1"))
    rewritten = rewrite_temp_ids(child, {"t1": "RealParentId0001"})
    assert isinstance(rewritten, ItemAdd)
    assert rewritten.args.parent_id == "RealParentId0001"
    assert rewritten.uuid == "u2" and rewritten.temp_id == "t2"
    assert rewrite_temp_ids(child, {}) is child


def test_a_tree_split_across_chunks_keeps_parent_links_resolvable() -> None:
    items = [NewItem(content="solo")]
    items += [NewItem(content=f"p{i}", subtasks=[NewSubtask(content=f"c{i}")]) for i in range(60)]
    _, plan = plan_add(items, Mirror())
    chunks = chunk_commands(plan.commands)
    assert len(chunks) == 2
    declared = {c.temp_id for c in chunks[0]}
    crossing = [c for c in chunks[1] if isinstance(c, ItemAdd) and c.args.parent_id in declared]
    assert crossing, "the 100th/101st commands split a parent from its child"
    mapping = {t: f"real-{t}" for t in declared if t}
    for command in crossing:
        fixed = rewrite_temp_ids(command, mapping)
        assert isinstance(fixed, ItemAdd) and fixed.args.parent_id == mapping[command.args.parent_id or ""]


def test_plan_add_resolves_names_case_insensitively_and_refers_to_new_projects_by_temp_id() -> None:
    mirror = Mirror()
    mirror.apply(
        SyncResponse(sync_token="s", full_sync=True, projects=[Project(id="P1", name="Work")], items=[], sections=[])
    )
    projects, plan = plan_add(
        [NewItem(content="a", project="work"), NewItem(content="b", project="Garden")],
        mirror,
        new_projects=[NewProject(name="Garden")],
    )
    [project_step] = projects.steps
    commands = plan.commands
    assert isinstance(commands[0], ItemAdd) and commands[0].args.project_id == "P1"
    assert isinstance(commands[1], ItemAdd) and commands[1].args.project_id == project_step.command.temp_id  # type: ignore[union-attr]


def test_subtasks_of_an_item_that_could_not_be_planned_are_not_sent() -> None:
    _, plan = plan_add([NewItem(content="a", project="Nowhere", subtasks=[NewSubtask(content="b")])], Mirror())
    assert plan.commands == []
    assert [s.error.tag for s in plan.steps if s.error] == ["PROJECT_NOT_FOUND", "PARENT_NOT_CREATED"]


def test_new_uuid4_is_a_random_rfc_uuid() -> None:
    made = [new_uuid4() for _ in range(20_000)]
    assert len(set(made)) == len(made)
    for text in made[:2_000]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text  # lower-case, canonical dashes
    # Every variant digit occurs, so the two random bits of that nibble are kept.
    assert {text[19] for text in made} == set("89ab")


def test_a_forked_child_and_another_thread_make_uuids_of_their_own() -> None:
    new_uuid4()  # random digits for more uuids are now held by this thread
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next uuids, to the parent, then out at once (no test teardown in a fork)
        os.write(write, " ".join(new_uuid4() for _ in range(8)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        childs = set(pipe.read().split())
    os.waitpid(child, 0)
    threads: list[str] = []
    worker = threading.Thread(target=lambda: threads.extend(new_uuid4() for _ in range(8)))
    worker.start()
    worker.join()
    mine = {new_uuid4() for _ in range(8)}
    assert len(childs) == len(threads) == 8
    assert not childs & mine and not set(threads) & mine and not childs & set(threads)


def test_every_command_gets_a_distinct_uuid() -> None:
    plan = plan_complete([f"id{i}" for i in range(300)], Mirror())
    assert len({c.uuid for c in plan.commands}) == 300


def test_every_planner_words_an_unknown_name_alike_with_the_closest_names() -> None:
    mirror = Mirror()
    mirror.apply(SyncResponse(sync_token="s", full_sync=True, projects=[Project(id="P1", name="Work")]))
    _, added = plan_add([NewItem(content="a", project="Wrok")], mirror)
    managed = plan_projects([ProjectOp(op="archive", kind="project", id="Wrok")], mirror)
    comment = plan_comments(([NewComment(project="Wrok", content="c")], [], [], {}), mirror)
    with pytest.raises(PlanError) as moving:
        resolve_destination(MoveTarget(to_project="Wrok"), mirror)
    said = {str(moving.value)} | {s.error.message for p in (added, managed, comment) for s in p.steps if s.error}
    assert said == {"no project named 'Wrok'; closest: Work"}
    [nothing] = plan_projects([ProjectOp(op="delete", kind="label", id="zz")], mirror).steps
    assert nothing.error is not None and nothing.error.message == "no label named 'zz'"

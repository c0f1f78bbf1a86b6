"""Pure summaries and change detection: what the model reads, from statuses and mirror states."""

from __future__ import annotations

from tools_server.cursors.view import View, diff, task_line
from tools_server.plans.results import build_result, summary_text
from tools_server.plans.tasks import plan_complete
from tools_server.sync.commands import Due, Item, Project, Section, SyncError, SyncResponse
from tools_server.sync.mirror import Mirror
from tools_server.sync.send import NotConfirmed, Outcome


def _mirror(*items: Item) -> Mirror:
    mirror = Mirror()
    mirror.apply(
        SyncResponse(
            sync_token="s1",
            full_sync=True,
            items=list(items),
            projects=[Project(id="P", name="Inbox", inbox_project=True), Project(id="W", name="Work")],
            sections=[Section(id="S", name="Later", project_id="W")],
            labels=[],
        )
    )
    return mirror


def test_only_sync_status_ok_counts_as_success_and_failures_keep_input_order() -> None:
    plan = plan_complete(["a", "b", "c", "d"], Mirror())
    uuids = [c.uuid for c in plan.commands]
    outcome = Outcome(
        statuses={
            uuids[0]: "ok",
            uuids[1]: SyncError(error="Item not found", error_code=22, error_tag="ITEM_NOT_FOUND", http_code=404),
            # uuids[2] has no status at all: it must not be reported as done
            uuids[3]: NotConfirmed("UNCONFIRMED", "backend unavailable", True),
        }
    )
    result = build_result(plan, outcome, Mirror())
    assert (result.ok, result.failed) == (1, 3)
    assert [r.status for r in result.steps] == ["ok", "error", "error", "error"]
    assert [(f.index, f.error_tag, f.retryable) for f in result.failures or []] == [
        (1, "ITEM_NOT_FOUND", False),
        (2, "UNCONFIRMED", True),
        (3, "UNCONFIRMED", True),
    ]


def test_text_lists_at_most_ten_failures_then_a_count() -> None:
    plan = plan_complete([f"id{i}" for i in range(25)], Mirror())
    error = SyncError(error="Item not found", error_tag="ITEM_NOT_FOUND", http_code=404)
    outcome = Outcome(statuses={c.uuid: error for c in plan.commands})
    text = summary_text("Completed", plan, build_result(plan, outcome, Mirror()))
    lines = text.splitlines()
    assert lines[0] == "Completed 0 of 25 tasks."
    assert sum(line.startswith("- #") for line in lines) == 10
    assert lines[-1] == "+15 more"


def test_a_large_successful_batch_summary_is_one_short_line() -> None:
    plan = plan_complete([f"id{i}" for i in range(1000)], Mirror())
    outcome = Outcome(statuses={c.uuid: "ok" for c in plan.commands})
    text = summary_text("Completed", plan, build_result(plan, outcome, Mirror()))
    assert text == "Completed 1000 tasks."


def test_error_message_includes_the_argument_and_explanation() -> None:
    plan = plan_complete(["a"], Mirror())
    error = SyncError(
        error="Invalid argument value",
        error_tag="INVALID_ARGUMENT_VALUE",
        http_code=400,
        error_extra={"argument": "due", "explanation": "could not understand the date"},
    )
    result = build_result(plan, Outcome(statuses={plan.commands[0].uuid: error}), Mirror())
    assert (result.failures or [])[0].message == "Invalid argument value (due: could not understand the date)"


def test_diff_tells_added_updated_moved_completed_and_deleted_apart() -> None:
    before = [
        Item(id="1", content="stays", project_id="P"),
        Item(id="2", content="renamed", project_id="P"),
        Item(id="3", content="moves", project_id="P"),
        Item(id="4", content="done", project_id="P"),
        Item(id="5", content="gone", project_id="P"),
    ]
    mirror = _mirror(*before)
    view = View()
    view.refresh(mirror)
    mirror.apply(
        SyncResponse(
            sync_token="s2",
            items=[
                Item(id="2", content="renamed!", project_id="P"),
                Item(id="3", content="moves", project_id="W", section_id="S"),
                Item(id="4", content="done", project_id="P", checked=True),
                Item(id="5", content="gone", project_id="P", is_deleted=True),
                Item(id="6", content="new", project_id="W"),
            ],
        )
    )
    changes = diff(view, mirror)
    assert [(c.kind, c.id) for c in changes] == [
        ("added", "6"),
        ("updated", "2"),
        ("moved", "3"),
        ("completed", "4"),
        ("deleted", "5"),
    ]
    assert changes[2].detail == "#Work/Later"
    view.refresh(mirror)
    assert diff(view, mirror) == []


def test_full_sync_replaces_the_mirror_so_stale_tasks_disappear() -> None:
    mirror = _mirror(Item(id="1", content="old", project_id="P"))
    mirror.apply(SyncResponse(sync_token="s9", full_sync=True, items=[Item(id="2", content="new", project_id="P")]))
    assert list(mirror.items) == ["2"]


def test_task_line_is_compact_and_shows_todoist_priority_names() -> None:
    mirror = _mirror()
    item = Item(
        id="T1",
        content="Water   plants",
        project_id="W",
        section_id="S",
        priority=4,
        labels=("home",),
        due=Due(date="2026-11-24", string="every day", is_recurring=True),
    )
    assert task_line(item, mirror) == "T1 Water plants · p1 · due 2026-11-24 (every day) · #Work/Later · @home"


def test_a_mirrored_task_compares_dumps_and_round_trips_like_the_object_it_was_read_from() -> None:
    wire = {"id": "1", "content": "a", "project_id": "P", "labels": ["x"], "due": {"date": "2026-11-24"}, "new": 1}
    mirror = _mirror(Item.model_validate(wire), Item(id="2", content="b", project_id="P"))
    kept = mirror.items["1"]
    assert kept == Item(id="1", content="a", project_id="P", labels=("x",), due=Due(date="2026-11-24"))
    assert kept != mirror.items["2"]
    dumped = kept.model_dump(mode="json")
    assert set(dumped) == set(Item.__struct_fields__) and dumped["labels"] == ["x"]
    assert dumped["due"] == {"date": "2026-11-24", "timezone": None, "string": "", "lang": None, "is_recurring": False}
    assert Item.model_validate(dumped) == kept
    brief = kept.model_dump(exclude_none=True)
    assert "section_id" not in brief and brief["due"] == {"date": "2026-11-24", "string": "", "is_recurring": False}

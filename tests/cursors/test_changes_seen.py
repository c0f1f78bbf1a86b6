"""What a query_changes cursor has seen: views of one mirror version share one snapshot, and each still reports
exactly the changes it has not seen."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from tools_server.cursors import view as view_module
from tools_server.cursors.seen_tasks import SeenItems
from tools_server.cursors.view import View, diff
from tools_server.sync.commands import Item, SyncResponse
from tools_server.sync.mirror import Mirror


def _mirror(count: int) -> Mirror:
    mirror = Mirror()
    items = [Item(id=str(n), content=f"t{n}", project_id="P") for n in range(count)]
    mirror.apply(SyncResponse(sync_token="s1", full_sync=True, items=items))
    return mirror


def _kinds(view: View, mirror: Mirror) -> list[tuple[str, str]]:
    return [(c.kind, c.id) for c in diff(view, mirror)]


def test_seen_items_read_through_to_the_snapshot_and_never_change_it() -> None:
    snapshot = {"a": Item(id="a"), "b": Item(id="b")}
    seen = SeenItems(snapshot)
    seen.put("c", Item(id="c", content="new"))
    seen.put("a", Item(id="a", content="edited"))
    seen.drop("b")
    seen.drop("zz")
    assert dict(seen) == {"a": Item(id="a", content="edited"), "c": Item(id="c", content="new")}
    assert len(seen) == 2 and "b" not in seen and seen.get("b") is None and seen.drift == 3
    seen.put("b", Item(id="b"))
    assert len(seen) == 3 and sorted(seen) == ["a", "b", "c"]
    assert snapshot == {"a": Item(id="a"), "b": Item(id="b")}


def test_views_of_one_version_share_one_snapshot_and_each_reports_what_it_did_not_see() -> None:
    mirror = _mirror(3)
    first, second = View(), View()
    first.refresh(mirror)
    second.refresh(mirror)
    assert isinstance(first.seen, SeenItems) and isinstance(second.seen, SeenItems)
    assert first.seen.snapshot is second.seen.snapshot
    mirror.apply(SyncResponse(sync_token="s2", items=[Item(id="1", content="edited", project_id="P")]))
    first.refresh(mirror, {"1"})  # its own write
    assert _kinds(first, mirror) == [] and _kinds(second, mirror) == [("updated", "1")]
    mirror.apply(SyncResponse(sync_token="s3", items=[Item(id="2", content="x", project_id="P", checked=True)]))
    assert _kinds(first, mirror) == [("completed", "2")]
    assert _kinds(second, mirror) == [("updated", "1"), ("completed", "2")]
    first.refresh(mirror)
    assert _kinds(first, mirror) == [] and dict(first.seen) == mirror.items


def test_a_view_that_drifted_far_from_its_snapshot_takes_the_current_one() -> None:
    mirror = _mirror(600)
    view, other = View(), View()
    view.refresh(mirror)
    old = view.seen
    edits = [Item(id=str(n), content="edited", project_id="P") for n in range(300)]
    mirror.apply(SyncResponse(sync_token="s2", items=edits))
    assert len(_kinds(view, mirror)) == 300
    view.refresh(mirror)
    other.refresh(mirror)
    assert isinstance(view.seen, SeenItems) and isinstance(other.seen, SeenItems) and isinstance(old, SeenItems)
    assert view.seen.snapshot is other.seen.snapshot and view.seen.snapshot is not old.snapshot
    assert view.seen.drift == 0 and _kinds(view, mirror) == [] and dict(view.seen) == mirror.items


def test_a_view_restored_from_a_plain_table_still_reports_changes() -> None:
    mirror = _mirror(2)
    view = View(seen={"0": Item(id="0", content="old", project_id="P")}, version=-1)
    assert _kinds(view, mirror) == [("added", "1"), ("updated", "0")]
    view.refresh(mirror, {"1"})
    assert _kinds(view, mirror) == [("updated", "0")]


# Steps on one mirror: ("elsewhere", id, what) is a change made by someone else; ("own", id, what) one this session
# made and marks as seen; ("refresh",) a query_changes. what: 0 edit, 1 add or edit, 2 complete, 3 delete.
_STEP = st.one_of(
    st.tuples(st.sampled_from(["elsewhere", "own"]), st.integers(0, 40), st.integers(0, 3)),
    st.just(("refresh",)),
)


def _change(mirror: Mirror, token: list[int], item_id: int, what: int) -> None:
    token[0] += 1
    item = Item(id=str(item_id), content=f"v{token[0]}", project_id="P", checked=what == 2, is_deleted=what == 3)
    mirror.apply(SyncResponse(sync_token=f"s{token[0]}", items=[item]))


@settings(max_examples=150)
@given(st.lists(_STEP, max_size=60), st.integers(0, 2))
def test_a_view_rebased_after_its_own_writes_reports_exactly_what_a_plain_copy_would(
    steps: list[tuple[Any, ...]], floor: int
) -> None:
    """A view re-based by its own writes (``_DRIFT_FLOOR`` lowered so it happens often) holds the same tasks, counts
    them the same and reports the same changes as a plain table of what it saw, after every step."""
    mirror = _mirror(20)
    token = [1]
    view = View()
    view.refresh(mirror)
    seen: dict[str, Item] = dict(mirror.items)
    with patch.object(view_module, "_DRIFT_FLOOR", floor):
        for step in steps:
            if step[0] == "refresh":
                view.refresh(mirror)
                seen = dict(mirror.items)
            else:
                _change(mirror, token, step[1], step[2])
                if step[0] == "own":
                    view.refresh(mirror, {str(step[1])})
                    now = mirror.items.get(str(step[1]))
                    if now is None:
                        seen.pop(str(step[1]), None)
                    else:
                        seen[str(step[1])] = now
            assert dict(view.seen) == seen and len(view.seen) == len(seen)
            plain = View(seen=dict(seen), version=-1)
            assert sorted(_kinds(view, mirror)) == sorted(_kinds(plain, mirror))


def test_own_writes_past_the_drift_put_the_view_on_the_current_snapshot_keeping_what_changed_elsewhere() -> None:
    mirror = _mirror(600)
    view = View()
    view.refresh(mirror)
    first = view.seen
    mirror.apply(SyncResponse(sync_token="s2", items=[Item(id="599", content="elsewhere", project_id="P")]))
    own = [Item(id=str(n), content="mine", project_id="P") for n in range(300)]
    mirror.apply(SyncResponse(sync_token="s3", items=own))
    view.refresh(mirror, {str(n) for n in range(300)})
    assert isinstance(view.seen, SeenItems) and isinstance(first, SeenItems)
    assert view.seen.snapshot is not first.snapshot and view.seen.drift == 1  # only the change made elsewhere
    assert _kinds(view, mirror) == [("updated", "599")]


def test_a_view_left_while_others_changed_much_keeps_its_snapshot_and_waits_for_its_drift_to_double() -> None:
    mirror = _mirror(600)
    view = View()
    view.refresh(mirror)
    first = view.seen
    elsewhere = [Item(id=f"e{n}", content="theirs", project_id="P") for n in range(2000)]
    mirror.apply(SyncResponse(sync_token="s2", items=elsewhere))
    mine = [Item(id=f"m{n}", content="mine", project_id="P") for n in range(400)]
    mirror.apply(SyncResponse(sync_token="s3", items=mine))
    view.refresh(mirror, {f"m{n}" for n in range(400)})
    assert isinstance(view.seen, SeenItems) and isinstance(first, SeenItems)
    assert view.seen.snapshot is first.snapshot and view._tried_at == 400  # pyright: ignore[reportPrivateUsage]
    more = [Item(id=f"n{n}", content="mine", project_id="P") for n in range(4000)]
    mirror.apply(SyncResponse(sync_token="s4", items=more))
    view.refresh(mirror, {f"n{n}" for n in range(4000)})  # 4,400 own against 2,000 theirs: now it halves
    assert view.seen.snapshot is not first.snapshot and view.seen.drift == 2000
    assert sorted(_kinds(view, mirror)) == sorted(("added", f"e{n}") for n in range(2000))


def test_a_views_next_move_looks_only_at_what_changed_since_the_snapshot_it_moved_onto() -> None:
    """A session writing on and on with no query_changes: each move onto a fresh snapshot looked at every change since
    the view's last full refresh, so moves cost more with every write. The next move looks at what changed since the
    snapshot of the last one, and at what the view keeps apart, and reports the same changes."""
    mirror = _mirror(600)
    view = View()
    view.refresh(mirror)
    asked: list[int] = []
    changed_since = mirror.changed_since

    def recorded(version: int) -> set[str] | None:
        asked.append(version)
        return changed_since(version)

    mirror.apply(SyncResponse(sync_token="e1", items=[Item(id="599", content="elsewhere", project_id="P")]))
    for batch in range(4):  # 4 moves: each 300 own writes, past the drift of an eighth of the tasks
        own = [Item(id=f"n{batch}-{k}", content="mine", project_id="P") for k in range(300)]
        mirror.apply(SyncResponse(sync_token=f"o{batch}", items=own))
        before = mirror.version
        with patch.object(mirror, "changed_since", recorded):
            view.refresh(mirror, {i.id for i in own})
        assert isinstance(view.seen, SeenItems) and view.seen.drift == 1  # moved, keeping the change made elsewhere
        if batch:
            assert asked[-1] >= before - 1  # since the last move's snapshot, not since the refresh at the start
    assert asked[0] == 1 and _kinds(view, mirror) == [("updated", "599")]

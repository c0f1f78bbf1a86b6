"""The activity log local-api records from its own writes and serves at ``GET /api/v1/activities`` (reference §4):
the documented event shape, filters by object, project and object:event type, day ranges in the user's zone,
pages and cursors, and refusals naming the argument."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.local_sync import cmd, run
from tests.support import FixedClock
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport

TOKEN = "secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PATH = "/api/v1/activities"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 20, 14, 5, tzinfo=UTC))


@pytest.fixture
def store(clock: FixedClock) -> Iterator[SyncStore]:
    opened = SyncStore(":memory:", now=clock, user_timezone="Europe/Madrid")
    yield opened
    opened.close()


@pytest.fixture
async def http(store: SyncStore) -> AsyncIterator[httpx.AsyncClient]:
    transport = LocalTransport(store, expected_token=TOKEN)
    async with httpx.AsyncClient(transport=transport, base_url="http://local.invalid") as client:
        yield client


async def get(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await http.get(PATH, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"results", "next_cursor"}
    return body


def kinds(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["object_type"], e["event_type"], e["extra_data"].get("content") or e["extra_data"].get("name"))
            for e in body["results"]]  # fmt: skip


@pytest.mark.anyio
async def test_each_write_is_an_event_in_the_documented_shape_newest_first(
    store: SyncStore, http: httpx.AsyncClient, clock: FixedClock
) -> None:
    milk = {"content": "Buy milk", "project_id": "p", "due": {"date": "2026-11-21"}}
    ids = run(store, cmd("project_add", {"name": "Groceries"}, temp_id="p"), cmd("item_add", milk, temp_id="t"))
    clock.advance(60)
    run(store, cmd("item_update", {"id": ids["t"], "content": "Buy oat milk", "due": {"date": "2026-11-22"}}),
        cmd("note_add", {"item_id": ids["t"], "content": "2 litres"}, temp_id="n"))  # fmt: skip
    clock.advance(60)
    run(store, cmd("item_close", {"id": ids["t"]}), cmd("project_archive", {"id": ids["p"]}))
    # A failing command records nothing.
    store.sync(commands=[cmd("item_update", {"id": "6Xnotthere000000", "content": "x"})])
    body = await get(http)
    assert kinds(body) == [
        ("project", "archived", "Groceries"), ("item", "completed", "Buy oat milk"), ("note", "added", "2 litres"),
        ("item", "updated", "Buy oat milk"), ("item", "added", "Buy milk"), ("project", "added", "Groceries"),
    ]  # fmt: skip
    _, done, comment, update, _, _ = body["results"]
    assert set(done) == {"id", "object_type", "object_id", "event_type", "event_date", "parent_project_id",
                         "parent_item_id", "initiator_id", "extra_data"}  # fmt: skip
    assert done["object_id"] == ids["t"] and done["parent_project_id"] == ids["p"] and done["initiator_id"] is None
    assert done["event_date"] == "2026-11-20T14:07:00Z"
    assert update["extra_data"] == {"content": "Buy oat milk", "last_content": "Buy milk", "due_date": "2026-11-22",
                                    "last_due_date": "2026-11-21"}  # fmt: skip
    assert comment["parent_item_id"] == ids["t"] and comment["parent_project_id"] == ids["p"]
    assert body["next_cursor"] is None


@pytest.mark.anyio
async def test_commands_of_one_request_on_one_task_each_record_their_own_before_and_after(
    store: SyncStore, http: httpx.AsyncClient
) -> None:
    response = store.sync(commands=[
        cmd("item_add", {"content": "a"}, temp_id="t"),
        cmd("item_update", {"id": "t", "content": "b"}),
        cmd("item_update", {"id": "t", "content": "never", "priority": 9}),  # refused: records nothing
        cmd("item_update", {"id": "t", "content": "c", "description": "why"}),
    ])  # fmt: skip
    assert list(response["sync_status"].values())[2] != "ok"
    events = [(e["event_type"], e["extra_data"]) for e in (await get(http))["results"]]
    assert events == [
        ("updated", {"content": "c", "last_content": "b", "description": "why", "last_description": ""}),
        ("updated", {"content": "b", "last_content": "a"}),
        ("added", {"content": "a"}),
    ]


@pytest.mark.anyio
async def test_filters_by_object_project_and_object_event_types(store: SyncStore, http: httpx.AsyncClient) -> None:
    ids = run(store, cmd("project_add", {"name": "Work"}, temp_id="w"),
              cmd("item_add", {"content": "Report", "project_id": "w"}, temp_id="r"),
              cmd("item_add", {"content": "Milk"}, temp_id="m"))  # fmt: skip
    run(store, cmd("item_close", {"id": ids["r"]}), cmd("item_close", {"id": ids["m"]}),
        cmd("item_delete", {"id": ids["m"]}))  # fmt: skip
    assert kinds(await get(http, parent_project_id=ids["w"])) == [("item", "completed", "Report"),
                                                                  ("item", "added", "Report")]  # fmt: skip
    assert kinds(await get(http, object_id=ids["m"])) == [("item", "deleted", "Milk"), ("item", "completed", "Milk"),
                                                          ("item", "added", "Milk")]  # fmt: skip
    # The SDK sends a JSON array with its modern names translated ("task" -> "item"); either side may be empty.
    completed = await get(http, object_event_types=json.dumps(["item:completed"]))
    assert kinds(completed) == [("item", "completed", "Milk"), ("item", "completed", "Report")]
    assert kinds(await get(http, object_event_types='["project:", ":deleted"]')) == [
        ("item", "deleted", "Milk"), ("project", "added", "Work")]  # fmt: skip
    assert kinds(await get(http, object_type="item", event_type="deleted")) == [("item", "deleted", "Milk")]
    # Nothing is shared here, so no event has an initiator: a collaborator's id matches nothing.
    assert (await get(http, initiator_id="123"))["results"] == []
    assert (await get(http, initiator_id_null="false"))["results"] == []
    assert len((await get(http, initiator_id_null="true"))["results"]) == 6
    # A project with its children: its own event and those of the tasks in it.
    assert kinds(await get(http, object_id=ids["w"], include_child_objects="true")) == [
        ("item", "completed", "Report"), ("item", "added", "Report"), ("project", "added", "Work")]  # fmt: skip


@pytest.mark.anyio
async def test_day_range_is_inclusive_in_the_users_zone(
    store: SyncStore, http: httpx.AsyncClient, clock: FixedClock
) -> None:
    clock.now = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)  # 00:30 on the 20th in Madrid
    run(store, cmd("item_add", {"content": "late"}))
    clock.now = datetime(2026, 11, 19, 22, 30, tzinfo=UTC)  # 23:30 on the 19th in Madrid
    run(store, cmd("item_add", {"content": "early"}))
    assert kinds(await get(http, date_from="2026-11-20", date_to="2026-11-20")) == [("item", "added", "late")]
    assert kinds(await get(http, date_to="2026-11-19")) == [("item", "added", "early")]


@pytest.mark.anyio
async def test_pages_follow_the_cursor_and_a_cursor_is_bound_to_its_filters(
    store: SyncStore, http: httpx.AsyncClient
) -> None:
    run(store, *(cmd("item_add", {"content": f"t{n}"}) for n in range(5)))
    first = await get(http, limit=2)
    second = await get(http, limit=2, cursor=first["next_cursor"])
    third = await get(http, limit=2, cursor=second["next_cursor"])
    seen = [name for page in (first, second, third) for _, _, name in kinds(page)]
    assert seen == ["t4", "t3", "t2", "t1", "t0"] and third["next_cursor"] is None
    for params, argument in (({"cursor": first["next_cursor"], "limit": 2, "object_id": "x"}, "cursor"),
                             ({"limit": 101}, "limit"), ({"date_from": "20 Nov"}, "date_from"),
                             ({"object_event_types": '["completed"]'}, "object_event_types"),
                             ({"date_from": "2026-11-20", "date_to": "2026-11-19"}, "date_to")):  # fmt: skip
        response = await http.get(PATH, params=params, headers=AUTH)
        assert response.status_code == 400, response.text
        assert response.json()["error_extra"]["argument"] == argument

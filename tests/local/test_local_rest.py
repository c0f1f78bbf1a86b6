"""The REST reads of completed tasks (reference §4), through the in-process transport and the local-api server:
ranges, filters, limits, cursor pagination, Bearer auth and JSON error bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.local_sync import cmd, run
from tests.support import FixedClock, local_api
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport

TOKEN = "secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BY_COMPLETION = "/api/v1/tasks/completed/by_completion_date"
BY_DUE = "/api/v1/tasks/completed/by_due_date"
WEEK = {"since": "2026-11-16T00:00:00Z", "until": "2026-11-23T23:59:59Z"}


@pytest.fixture
def store() -> Iterator[SyncStore]:
    opened = SyncStore(":memory:", now=FixedClock())
    yield opened
    opened.close()


@pytest.fixture
async def http(store: SyncStore) -> AsyncIterator[httpx.AsyncClient]:
    transport = LocalTransport(store, expected_token=TOKEN)
    async with httpx.AsyncClient(transport=transport, base_url="http://local.invalid") as client:
        yield client


async def get(http: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await http.get(path, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"items", "next_cursor"}
    return body


async def refused(http: httpx.AsyncClient, path: str, argument: str, **params: Any) -> dict[str, Any]:
    response = await http.get(path, params=params, headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert (body["error_tag"], body["error_code"], body["http_code"]) == ("INVALID_ARGUMENT_VALUE", 20, 400)
    assert body["error_extra"]["argument"] == argument
    return body


def complete_at(store: SyncStore, moments: dict[str, str], **args: Any) -> dict[str, str]:
    """One task per name, completed at its moment; returns name -> id."""
    ids = run(store, *(cmd("item_add", {"content": name, **args}, temp_id=name) for name in moments))
    run(store, *(cmd("item_complete", {"id": ids[name], "completed_at": at}) for name, at in moments.items()))
    return ids


def contents(body: dict[str, Any]) -> list[str]:
    return [task["content"] for task in body["items"]]


@pytest.mark.anyio
async def test_by_completion_date_lists_tasks_completed_in_the_range_newest_first(
    store: SyncStore, http: httpx.AsyncClient
) -> None:
    complete_at(store, {"old": "2026-11-10T12:00:00Z", "mon": "2026-11-16T08:00:00Z", "fri": "2026-11-20T17:30:00Z",
                        "sun": "2026-11-22T23:00:00Z"})  # fmt: skip
    run(store, cmd("item_add", {"content": "open"}))
    body = await get(http, BY_COMPLETION, **WEEK)
    assert contents(body) == ["sun", "fri", "mon"] and body["next_cursor"] is None
    assert [t["completed_at"] for t in body["items"]] == [
        "2026-11-22T23:00:00.000000Z", "2026-11-20T17:30:00.000000Z", "2026-11-16T08:00:00.000000Z"]  # fmt: skip
    assert all(t["checked"] is True and t["is_deleted"] is False for t in body["items"])
    # Offsets and naive datetimes (read as UTC) bound the range too.
    body = await get(http, BY_COMPLETION, since="2026-11-20T18:00:00+01:00", until="2026-11-21T00:00:00")
    assert contents(body) == ["fri"]
    # An offset's "+" left unencoded in the query string arrives as a space, and still reads as an offset.
    raw = await http.get(BY_COMPLETION + "?since=2026-11-20T18:00:00+01:00&until=2026-11-21T00:00:00", headers=AUTH)
    assert raw.status_code == 200 and contents(raw.json()) == ["fri"]


@pytest.mark.anyio
async def test_pages_follow_the_cursor_without_repeats_even_when_tasks_complete_between_pages(
    store: SyncStore, http: httpx.AsyncClient
) -> None:
    moments = {f"t{n}": f"2026-11-{16 + n}T09:00:00Z" for n in range(5)}  # t4 is the newest
    complete_at(store, moments)
    first = await get(http, BY_COMPLETION, **WEEK, limit=2)
    assert contents(first) == ["t4", "t3"] and isinstance(first["next_cursor"], str)
    complete_at(store, {"late": "2026-11-23T09:30:00Z"})  # newer than the cursor: not on later pages
    second = await get(http, BY_COMPLETION, **WEEK, limit=2, cursor=first["next_cursor"])
    assert contents(second) == ["t2", "t1"]
    third = await get(http, BY_COMPLETION, **WEEK, limit=2, cursor=second["next_cursor"])
    assert contents(third) == ["t0"] and third["next_cursor"] is None
    assert contents(await get(http, BY_COMPLETION, **WEEK))[:2] == ["late", "t4"]
    assert len((await get(http, BY_COMPLETION, **WEEK))["items"]) == 6  # default limit 50


@pytest.mark.anyio
async def test_a_cursor_is_bound_to_its_filters_and_a_garbled_one_is_refused(
    store: SyncStore, http: httpx.AsyncClient
) -> None:
    complete_at(store, {"a": "2026-11-20T09:00:00Z", "b": "2026-11-21T09:00:00Z"})
    cursor = (await get(http, BY_COMPLETION, **WEEK, limit=1))["next_cursor"]
    assert cursor is not None
    await refused(http, BY_COMPLETION, "cursor", **WEEK, limit=1, cursor=cursor, project_id="6Other0000000000")
    await refused(http, BY_COMPLETION, "cursor", since="2026-11-17T00:00:00Z", until=WEEK["until"], cursor=cursor)
    await refused(http, BY_DUE, "cursor", **WEEK, cursor=cursor)
    await refused(http, BY_COMPLETION, "cursor", **WEEK, cursor="not-a-cursor!")
    # The limit may change between pages.
    assert contents(await get(http, BY_COMPLETION, **WEEK, limit=5, cursor=cursor)) == ["a"]


@pytest.mark.anyio
async def test_limit_and_range_are_checked_with_the_argument_named(http: httpx.AsyncClient) -> None:
    body = await refused(http, BY_COMPLETION, "limit", **WEEK, limit=201)
    assert body["error_extra"]["expected"] == "Input should be less than or equal to 200"
    await refused(http, BY_COMPLETION, "limit", **WEEK, limit=0)
    await refused(http, BY_COMPLETION, "limit", **WEEK, limit="ten")
    assert (await get(http, BY_COMPLETION, **WEEK, limit=200))["items"] == []
    await refused(http, BY_COMPLETION, "since", until=WEEK["until"])
    await refused(http, BY_COMPLETION, "until", since=WEEK["since"])
    await refused(http, BY_COMPLETION, "since", since="last week", until=WEEK["until"])
    await refused(http, BY_COMPLETION, "until", since="2026-11-23T00:00:00Z", until="2026-11-22T00:00:00Z")
    # At most 3 months by completion date, 6 weeks by due date.
    await get(http, BY_COMPLETION, since="2026-08-23T00:00:00Z", until="2026-11-23T00:00:00Z")
    await refused(http, BY_COMPLETION, "until", since="2026-08-22T00:00:00Z", until="2026-11-23T00:00:00Z")
    await get(http, BY_DUE, since="2026-10-12T00:00:00Z", until="2026-11-23T00:00:00Z")
    await refused(http, BY_DUE, "until", since="2026-10-11T23:00:00Z", until="2026-11-23T00:00:00Z")
    await refused(http, BY_COMPLETION, "filter_query", **WEEK, filter_query="#Work &")
    await refused(http, BY_COMPLETION, "filter_query", **WEEK, filter_query="p1, p2")
    await refused(http, BY_COMPLETION, "filter_lang", **WEEK, filter_query="p1", filter_lang="xx")


@pytest.mark.anyio
async def test_project_section_and_parent_filters(store: SyncStore, http: httpx.AsyncClient) -> None:
    ids = run(
        store,
        cmd("project_add", {"name": "P"}, temp_id="p"),
        cmd("section_add", {"name": "S", "project_id": "p"}, temp_id="s"),
        cmd("item_add", {"content": "in project", "project_id": "p"}, temp_id="a"),
        cmd("item_add", {"content": "in section", "section_id": "s"}, temp_id="b"),
        cmd("item_add", {"content": "sub", "parent_id": "b"}, temp_id="c"),
        cmd("item_add", {"content": "inbox"}, temp_id="d"),
    )
    run(store, *(cmd("item_complete", {"id": ids[k], "completed_at": "2026-11-20T10:00:00Z"}) for k in "abcd"))
    assert sorted(contents(await get(http, BY_COMPLETION, **WEEK, project_id=ids["p"]))) == [
        "in project", "in section", "sub"]  # fmt: skip
    assert sorted(contents(await get(http, BY_COMPLETION, **WEEK, section_id=ids["s"]))) == ["in section", "sub"]
    assert contents(await get(http, BY_COMPLETION, **WEEK, parent_id=ids["b"])) == ["sub"]
    assert (await get(http, BY_COMPLETION, **WEEK, workspace_id="1"))["items"] == []  # no workspaces here


@pytest.mark.anyio
async def test_filter_query_keeps_the_completed_tasks_it_matches_in_order_and_pages(
    store: SyncStore, http: httpx.AsyncClient
) -> None:
    ids = run(
        store,
        cmd("project_add", {"name": "Work"}, temp_id="w"),
        cmd("section_add", {"name": "Calls", "project_id": "w"}, temp_id="s"),
        cmd("item_add", {"content": "call Ann", "section_id": "s", "labels": ["phone"], "priority": 4}, temp_id="a"),
        cmd("item_add", {"content": "call Bob", "project_id": "w", "labels": ["phone"]}, temp_id="b"),
        cmd("item_add", {"content": "report", "project_id": "w", "due": {"date": "2026-11-18"}}, temp_id="c"),
        cmd("item_add", {"content": "phone mum", "labels": ["phone"], "due": {"date": "2026-11-19"}}, temp_id="d"),
    )
    moments = {"a": "2026-11-20T10:00:00Z", "b": "2026-11-19T10:00:00Z", "c": "2026-11-18T10:00:00Z",
               "d": "2026-11-17T10:00:00Z"}  # fmt: skip
    run(store, *(cmd("item_complete", {"id": ids[k], "completed_at": at}) for k, at in moments.items()))
    assert contents(await get(http, BY_COMPLETION, **WEEK, filter_query="#Work & @phone")) == ["call Ann", "call Bob"]
    assert contents(await get(http, BY_COMPLETION, **WEEK, filter_query="/Calls | p1", filter_lang="en")) == [
        "call Ann"]  # fmt: skip
    assert contents(await get(http, BY_COMPLETION, **WEEK, filter_query="!#Work")) == ["phone mum"]
    assert contents(await get(http, BY_COMPLETION, **WEEK, filter_query="search: call")) == ["call Ann", "call Bob"]
    assert contents(await get(http, BY_DUE, **WEEK, filter_query="@phone")) == ["phone mum"]
    # Pages of one through the matches only, the cursor bound to the filter.
    first = await get(http, BY_COMPLETION, **WEEK, filter_query="@phone", limit=1)
    second = await get(http, BY_COMPLETION, **WEEK, filter_query="@phone", limit=1, cursor=first["next_cursor"])
    third = await get(http, BY_COMPLETION, **WEEK, filter_query="@phone", limit=1, cursor=second["next_cursor"])
    assert contents(first) + contents(second) + contents(third) == ["call Ann", "call Bob", "phone mum"]
    assert third["next_cursor"] is None
    await refused(http, BY_COMPLETION, "cursor", **WEEK, filter_query="#Work", cursor=first["next_cursor"])


@pytest.mark.anyio
async def test_by_due_date_lists_completed_tasks_due_in_the_range_earliest_first(
    store: SyncStore, http: httpx.AsyncClient
) -> None:
    dues = {"all day mon": {"date": "2026-11-16"}, "timed wed": {"date": "2026-11-18T09:00:00"},
            "fixed tue": {"date": "2026-11-17T12:00:00Z"}, "next week": {"date": "2026-11-30"},
            "due before": {"date": "2026-11-15T23:00:00Z"}}  # fmt: skip
    ids = run(store, *(cmd("item_add", {"content": k, "due": due}, temp_id=k) for k, due in dues.items()))
    run(store, cmd("item_add", {"content": "open, due mon", "due": {"date": "2026-11-16"}}))
    run(store, *(cmd("item_complete", {"id": i, "completed_at": "2026-11-23T08:00:00Z"}) for i in ids.values()))
    body = await get(http, BY_DUE, **WEEK)
    assert contents(body) == ["all day mon", "fixed tue", "timed wed"]
    # An all-day due counts for its whole day: a range starting mid-day still includes it.
    assert contents(await get(http, BY_DUE, since="2026-11-16T12:00:00Z", until="2026-11-17T00:00:00Z")) == [
        "all day mon"]  # fmt: skip
    page = await get(http, BY_DUE, **WEEK, limit=2)
    rest = await get(http, BY_DUE, **WEEK, limit=2, cursor=page["next_cursor"])
    assert contents(page) + contents(rest) == contents(body) and rest["next_cursor"] is None


@pytest.mark.anyio
async def test_deleted_and_reopened_tasks_are_not_listed(store: SyncStore, http: httpx.AsyncClient) -> None:
    ids = complete_at(store, {"kept": "2026-11-20T09:00:00Z", "deleted": "2026-11-20T10:00:00Z",
                              "reopened": "2026-11-20T11:00:00Z"})  # fmt: skip
    run(store, cmd("item_delete", {"id": ids["deleted"]}), cmd("item_uncomplete", {"id": ids["reopened"]}))
    assert contents(await get(http, BY_COMPLETION, **WEEK)) == ["kept"]


@pytest.mark.anyio
async def test_rest_reads_need_the_bearer_token_and_get(http: httpx.AsyncClient) -> None:
    missing = await http.get(BY_COMPLETION, params=WEEK)
    assert missing.status_code == 401 and missing.json()["error_tag"] == "AUTH_INVALID_TOKEN"
    wrong = await http.get(BY_COMPLETION, params=WEEK, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    posted = await http.post(BY_DUE, params=WEEK, headers=AUTH)
    assert posted.status_code == 405 and posted.headers["allow"] == "GET"
    assert (await http.get("/api/v1/tasks/completed/by_nothing", headers=AUTH)).status_code == 404


@pytest.mark.slow
def test_local_api_serves_the_completed_reads_over_http(tmp_path: Path) -> None:
    with local_api(tmp_path / "rest.db") as server:
        sync_url = server.url
        base = sync_url.removesuffix("/api/v1/sync")
        add = cmd("item_add", {"content": "shipped"}, temp_id="s")
        response = httpx.post(sync_url, json={"commands": [add]}, headers=AUTH, timeout=30)
        task = response.json()["temp_id_mapping"]["s"]
        done = cmd("item_complete", {"id": task, "completed_at": "2026-11-20T09:00:00Z"})
        assert httpx.post(sync_url, json={"commands": [done]}, headers=AUTH, timeout=30).status_code == 200
        got = httpx.get(base + BY_COMPLETION, params=WEEK, headers=AUTH, timeout=30)
        assert got.status_code == 200 and [t["id"] for t in got.json()["items"]] == [task]
        bad = httpx.get(base + BY_COMPLETION, params={**WEEK, "limit": 500}, headers=AUTH, timeout=30)
        assert bad.status_code == 400 and bad.json()["error_extra"]["argument"] == "limit"
        assert httpx.get(base + BY_COMPLETION, params=WEEK, timeout=30).status_code == 401


@pytest.mark.anyio
async def test_comments_of_a_completed_task_and_of_a_project_are_listed_in_pages(
    store: SyncStore, http: httpx.AsyncClient
) -> None:
    ids = complete_at(store, {"Filed taxes": "2026-11-20T10:00:00Z"})
    task = ids["Filed taxes"]
    project = run(store, cmd("project_add", {"name": "Home"}, temp_id="p"))["p"]
    notes = run(store, *(cmd("note_add", {"item_id": task, "content": f"c{n}"}, temp_id=f"n{n}") for n in range(3)),
                cmd("note_add", {"project_id": project, "content": "plan"}, temp_id="pn"))  # fmt: skip
    run(store, cmd("note_delete", {"id": notes["n1"]}))
    seen: list[str] = []
    params: dict[str, Any] = {"task_id": task, "limit": 1}
    for _ in range(3):
        response = await http.get("/api/v1/comments", params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"results", "next_cursor"}
        seen += [c["content"] for c in body["results"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert sorted(seen) == ["c0", "c2"]  # the deleted one is left out
    on_project = (await http.get("/api/v1/comments", params={"project_id": project}, headers=AUTH)).json()
    assert [c["content"] for c in on_project["results"]] == ["plan"] and on_project["next_cursor"] is None
    await refused(http, "/api/v1/comments", "task_id")
    await refused(http, "/api/v1/comments", "cursor", task_id=task, cursor="garbled")
    # A cursor of one task's comments is no cursor of another's.
    first = (await http.get("/api/v1/comments", params={"task_id": task, "limit": 1}, headers=AUTH)).json()
    await refused(http, "/api/v1/comments", "cursor", project_id=project, cursor=first["next_cursor"])

"""The local Sync endpoint at the HTTP level (reference §9 "Transport"): first in process through LocalTransport, then
the real ``tools-server local-api`` server as a subprocess, spoken to with plain httpx the way curl would."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support import FixedClock, Server, command, local_api
from tools_server.local.args import MAX_BODY_BYTES, MAX_COMMANDS_PER_REQUEST
from tools_server.local.store import RateLimit, SyncStore
from tools_server.local.transport import LocalTransport

TOKEN = "secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = "http://local.invalid"
SYNC = "/api/v1/sync"
FULL_ITEMS: dict[str, Any] = {"sync_token": "*", "resource_types": ["items"]}
SCRIPT = Path(sys.executable).with_name("tools-server")


def body_of(response: httpx.Response) -> dict[str, Any]:
    data: dict[str, Any] = response.json()
    return data


def form_fields(request: dict[str, Any]) -> dict[str, str]:
    """A Sync request as form fields: ``commands`` and ``resource_types`` are JSON strings (reference §9)."""
    return {name: value if isinstance(value, str) else json.dumps(value) for name, value in request.items()}


def assert_request_error(response: httpx.Response, status: int, argument: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = body_of(response)
    assert body["error_tag"] == "INVALID_ARGUMENT_VALUE"
    assert body["error_code"] == 20
    assert body["http_code"] == status
    assert body["error_extra"]["argument"] == argument
    return body


# ---------------------------------------------------------------------------------------------------------------------
# A. In process: an httpx client over LocalTransport


@pytest.fixture
def store() -> Iterator[SyncStore]:
    opened = SyncStore(":memory:")
    try:
        yield opened
    finally:
        opened.close()


def client(store: SyncStore) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=LocalTransport(store, expected_token=TOKEN), base_url=BASE)


async def post(http: httpx.AsyncClient, request: dict[str, Any], *, path: str = SYNC) -> dict[str, Any]:
    response = await http.post(path, json=request, headers=AUTH)
    assert response.status_code == 200, response.text
    return body_of(response)


async def active_items(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await post(http, FULL_ITEMS))["items"]
    return items


async def add_one_item(http: httpx.AsyncClient, encoding: str) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """item_add with a temp_id plus a full sync in one request, sent as JSON or as a form; then a separate full sync."""
    add = command("item_add", {"content": "Buy milk + eggs & bread", "priority": 4}, temp_id="tmp-1")
    request: dict[str, Any] = {**FULL_ITEMS, "commands": [add]}
    if encoding == "json":
        response = await http.post(SYNC, json=request, headers=AUTH)
    else:
        response = await http.post(SYNC, data=form_fields(request), headers=AUTH)
        assert response.request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert response.status_code == 200, response.text
    return add, body_of(response), await active_items(http)


@pytest.mark.anyio
async def test_json_and_form_bodies_give_the_same_outcome() -> None:
    outcomes: dict[str, tuple[dict[str, Any], dict[str, Any], list[Any]]] = {}
    for encoding in ("json", "form"):
        store = SyncStore(":memory:")
        try:
            async with client(store) as http:
                outcomes[encoding] = await add_one_item(http, encoding)
        finally:
            store.close()
    shapes: list[tuple[Any, ...]] = []
    for encoding, (add, body, items) in outcomes.items():
        assert body["sync_status"] == {add["uuid"]: "ok"}, encoding
        assert list(body["temp_id_mapping"]) == ["tmp-1"], encoding
        new_id = body["temp_id_mapping"]["tmp-1"]
        assert body["full_sync"] is True
        assert [item["id"] for item in body["items"]] == [new_id], encoding
        assert [(item["id"], item["content"], item["priority"]) for item in items] == [
            (new_id, "Buy milk + eggs & bread", 4)
        ], encoding
        shapes.append((sorted(body), sorted(items[0]), items[0]["checked"], items[0]["is_deleted"]))
    assert shapes[0] == shapes[1]


@pytest.mark.anyio
async def test_example_d_partial_failure_is_http_200_with_one_status_per_command(store: SyncStore) -> None:
    async with client(store) as http:
        setup = await post(
            http,
            {
                "commands": [
                    command("project_add", {"name": "Errands"}, temp_id="p"),
                    command("section_add", {"name": "Shop", "project_id": "p"}, temp_id="s"),
                    command("item_add", {"content": "Buy milk"}, temp_id="i"),
                ],
                "sync_token": "*",
                "resource_types": ["items"],
            },
        )
        ids = setup["temp_id_mapping"]
        token = setup["sync_token"]
        close = command("item_close", {"id": ids["i"]})
        child = command("item_add", {"content": "Child", "parent_id": "t-unknown"}, temp_id="t-1")
        move = command("item_move", {"id": ids["i"], "project_id": ids["p"], "section_id": ids["s"]})
        delete = command("item_delete", {"id": "6XNOPE0000000000"})
        response = await http.post(
            SYNC,
            json={"commands": [close, child, move, delete], "sync_token": token, "resource_types": ["items"]},
            headers=AUTH,
        )
        assert response.status_code == 200, response.text
        body = body_of(response)
        statuses = body["sync_status"]
        assert list(statuses) == [close["uuid"], child["uuid"], move["uuid"], delete["uuid"]]
        assert statuses[close["uuid"]] == "ok"
        temp = statuses[child["uuid"]]
        assert (temp["error_tag"], temp["error_code"], temp["http_code"]) == ("INVALID_TEMP_ID", 15, 400)
        assert temp["error"] == "Invalid temporary id"
        assert temp["error_extra"]["argument"] == "parent_id"
        two = statuses[move["uuid"]]
        assert (two["error_tag"], two["error_code"], two["http_code"]) == ("INVALID_ARGUMENT_VALUE", 20, 400)
        assert two["error_extra"]["argument"] in ("project_id", "section_id")
        assert "Only one of" in two["error_extra"]["explanation"]
        missing = statuses[delete["uuid"]]
        assert (missing["error_tag"], missing["error_code"], missing["http_code"]) == ("ITEM_NOT_FOUND", 22, 404)
        assert body["temp_id_mapping"] == {}
        # Only the close took effect: the item comes back checked, in its Inbox, and no "Child" was created.
        assert body["full_sync"] is False
        [closed] = body["items"]
        assert closed["id"] == ids["i"] and closed["checked"] is True and closed["section_id"] is None
        assert await active_items(http) == []


@pytest.mark.anyio
async def test_missing_authorization_is_401_and_changes_nothing(store: SyncStore) -> None:
    async with client(store) as http:
        request = {**FULL_ITEMS, "commands": [command("item_add", {"content": "sneaky"})]}
        response = await http.post(SYNC, json=request)
        assert response.status_code == 401
        body = body_of(response)
        assert body["error_tag"] == "AUTH_INVALID_TOKEN" and body["http_code"] == 401
        response = await http.post(SYNC, data=form_fields(request))
        assert response.status_code == 401
        assert await active_items(http) == []
        # The uuid was not recorded either: sent again with a token, the same command runs now.
        replay = await post(http, request)
        assert replay["sync_status"] == {request["commands"][0]["uuid"]: "ok"}
        assert [item["content"] for item in replay["items"]] == ["sneaky"]


@pytest.mark.anyio
@pytest.mark.parametrize("authorization", ["Bearer wrong", "Bearer secret2", "Bearer ", "Basic c2VjcmV0", "secret"])
async def test_a_wrong_token_is_403_and_changes_nothing(store: SyncStore, authorization: str) -> None:
    async with client(store) as http:
        request = {**FULL_ITEMS, "commands": [command("item_add", {"content": "sneaky"})]}
        response = await http.post(SYNC, json=request, headers={"Authorization": authorization})
        assert response.status_code == 403
        assert body_of(response) == {
            "error": "Invalid token",
            "error_code": 401,
            "error_extra": {},
            "error_tag": "AUTH_INVALID_TOKEN",
            "http_code": 403,
        }
        assert await active_items(http) == []


@pytest.mark.anyio
async def test_the_bearer_scheme_is_case_insensitive(store: SyncStore) -> None:
    async with client(store) as http:
        response = await http.post(SYNC, json=FULL_ITEMS, headers={"Authorization": f"bearer {TOKEN}"})
        assert response.status_code == 200, response.text


@pytest.mark.anyio
async def test_routing_get_is_405_unknown_is_404_v9_sync_works_and_rest_is_410(store: SyncStore) -> None:
    async with client(store) as http:
        for method in ("GET", "PUT", "DELETE"):
            response = await http.request(method, SYNC, headers=AUTH)
            assert response.status_code == 405, method
            assert response.headers["allow"] == "POST"
        assert (await http.get("/api/v1/nothing", headers=AUTH)).status_code == 404
        assert (await http.post("/", json=FULL_ITEMS, headers=AUTH)).status_code == 404
        for path in ("/rest/v2/tasks", "/rest/v1/projects", "/sync/v9/completed/get_all"):
            gone = await http.get(path, headers=AUTH)
            assert gone.status_code == 410, path
            assert body_of(gone)["error"] == "This endpoint is deprecated."
        add = command("item_add", {"content": "through v9"}, temp_id="t")
        v9 = await post(http, {**FULL_ITEMS, "commands": [add]}, path="/sync/v9/sync")
        assert v9["sync_status"] == {add["uuid"]: "ok"}
        assert [item["id"] for item in await active_items(http)] == [v9["temp_id_mapping"]["t"]]


@pytest.mark.anyio
async def test_101_commands_are_refused_whole_and_none_runs(store: SyncStore) -> None:
    async with client(store) as http:
        commands = [command("item_add", {"content": f"task {n}"}) for n in range(MAX_COMMANDS_PER_REQUEST + 1)]
        response = await http.post(SYNC, json={**FULL_ITEMS, "commands": commands}, headers=AUTH)
        body = assert_request_error(response, 400, "commands")
        assert body["error_extra"]["max_count"] == 100
        form = await http.post(SYNC, data=form_fields({**FULL_ITEMS, "commands": commands}), headers=AUTH)
        assert_request_error(form, 400, "commands")
        assert await active_items(http) == []
        # Exactly 100 is allowed, and none of these uuids was remembered by the refused requests.
        accepted = await post(http, {"commands": commands[:100]})
        assert set(accepted["sync_status"].values()) == {"ok"}
        assert len(await active_items(http)) == 100


@pytest.mark.anyio
async def test_a_body_over_1_mib_is_413_and_nothing_runs(store: SyncStore) -> None:
    async with client(store) as http:
        add = command("item_add", {"content": "big"})
        request = {"commands": [add], "pad": ""}
        overhead = len(json.dumps(request).encode())
        request["pad"] = "x" * (MAX_BODY_BYTES + 1 - overhead)
        content = json.dumps(request).encode()
        assert len(content) == MAX_BODY_BYTES + 1
        response = await http.post(SYNC, content=content, headers={**AUTH, "content-type": "application/json"})
        assert response.status_code == 413, response.text
        assert body_of(response)["http_code"] == 413
        assert await active_items(http) == []
        # One byte less is exactly 1 MiB and is accepted; the uuid was not burnt by the refusal.
        request["pad"] = "x" * (MAX_BODY_BYTES - overhead)
        content = json.dumps(request).encode()
        assert len(content) == MAX_BODY_BYTES
        response = await http.post(SYNC, content=content, headers={**AUTH, "content-type": "application/json"})
        assert response.status_code == 200, response.text
        assert body_of(response)["sync_status"] == {add["uuid"]: "ok"}
        assert [item["content"] for item in await active_items(http)] == ["big"]


@pytest.mark.anyio
async def test_malformed_bodies_are_400_naming_the_argument(store: SyncStore) -> None:
    async with client(store) as http:
        json_headers = {**AUTH, "content-type": "application/json"}
        broken = await http.post(SYNC, content=b'{"commands": [', headers=json_headers)
        assert_request_error(broken, 400, "body")
        not_object = await http.post(SYNC, content=b"[]", headers=json_headers)
        assert_request_error(not_object, 400, "body")
        untyped = await http.post(SYNC, content=b'  {"sync_token": "*", ', headers=AUTH)
        assert_request_error(untyped, 400, "body")
        commands = await http.post(SYNC, data={"sync_token": "*", "commands": "[{not json"}, headers=AUTH)
        assert_request_error(commands, 400, "commands")
        types = await http.post(SYNC, data={"sync_token": "*", "resource_types": "items"}, headers=AUTH)
        assert_request_error(types, 400, "resource_types")
        valid_json_wrong_shape = await http.post(SYNC, data={"commands": '{"type": "item_add"}'}, headers=AUTH)
        assert_request_error(valid_json_wrong_shape, 400, "commands")
        assert await active_items(http) == []


@pytest.mark.anyio
async def test_rate_limit_answers_429_with_retry_after_until_the_window_passes() -> None:
    clock = FixedClock()
    store = SyncStore(":memory:", now=clock, rate_limit=RateLimit(partial=2, full=1, window_seconds=60))
    try:
        async with client(store) as http:
            assert (await http.post(SYNC, json=FULL_ITEMS, headers=AUTH)).status_code == 200
            clock.now += timedelta(seconds=10)
            full = await http.post(SYNC, json=FULL_ITEMS, headers=AUTH)
            assert full.status_code == 429
            assert full.headers["retry-after"] == "50"
            body = body_of(full)
            assert (body["error_tag"], body["error_code"], body["http_code"]) == ("LIMITS_REACHED", 35, 429)
            assert body["error_extra"]["retry_after"] == 50
            assert body["error"] == "Too many requests. Limits reached. Try again later"
            # The partial budget is separate: two writes pass, the third is refused and not executed.
            for n in range(2):
                write = command("item_add", {"content": f"ok {n}"})
                assert (await post(http, {"commands": [write]}))["sync_status"] == {write["uuid"]: "ok"}
            refused = command("item_add", {"content": "refused"})
            limited = await http.post(SYNC, json={"commands": [refused]}, headers=AUTH)
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) == body_of(limited)["error_extra"]["retry_after"] == 60
            # A client that honours Retry-After gets through, and the refused write runs only now.
            clock.now += timedelta(seconds=int(full.headers["retry-after"]))
            items = await active_items(http)
            assert sorted(item["content"] for item in items) == ["ok 0", "ok 1"]
            clock.now += timedelta(seconds=60)
            again = await post(http, {"commands": [refused]})
            assert again["sync_status"] == {refused["uuid"]: "ok"}
    finally:
        store.close()


@pytest.mark.anyio
async def test_each_token_has_its_own_rate_budget() -> None:
    store = SyncStore(":memory:", now=FixedClock(), rate_limit=RateLimit(partial=1, full=1, window_seconds=60))
    try:
        # Without expected_token the transport accepts any bearer token (in-process use), each with its own budget.
        async with httpx.AsyncClient(transport=LocalTransport(store), base_url=BASE) as http:
            statuses: list[tuple[str, int]] = []
            for token in ("alice", "alice", "bob", "bob"):
                response = await http.post(SYNC, json=FULL_ITEMS, headers={"Authorization": f"Bearer {token}"})
                statuses.append((token, response.status_code))
            assert statuses == [("alice", 200), ("alice", 429), ("bob", 200), ("bob", 429)]
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------------------------------
# B. The real server: `tools-server local-api` in a subprocess


def sync(url: str, request: dict[str, Any], token: str = TOKEN) -> dict[str, Any]:
    response = httpx.post(url, json=request, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    return body_of(response)


def items_at(url: str, token: str = TOKEN) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = sync(url, FULL_ITEMS, token)["items"]
    return items


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with local_api(tmp_path_factory.mktemp("local-api") / "shared.db") as running:
        yield running


@pytest.mark.slow
def test_server_takes_curl_style_form_and_json_posts(server: Server) -> None:
    # What `curl -d sync_token=* -d 'resource_types=["items"]' --data-urlencode 'commands=[...]'` sends.
    form_add = command("item_add", {"content": "from curl + form & co"}, temp_id="curl")
    raw = b'sync_token=*&resource_types=["items"]&commands=' + quote(json.dumps([form_add]), safe="").encode()
    response = httpx.post(
        server.url,
        content=raw,
        headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    form_body = body_of(response)
    assert form_body["sync_status"] == {form_add["uuid"]: "ok"}
    form_id = form_body["temp_id_mapping"]["curl"]

    json_add = command("item_add", {"content": "from json"}, temp_id="js")
    json_body = sync(server.url, {"commands": [json_add]})
    assert json_body["sync_status"] == {json_add["uuid"]: "ok"}
    json_id = json_body["temp_id_mapping"]["js"]

    contents = {item["id"]: item["content"] for item in items_at(server.url)}
    assert contents[form_id] == "from curl + form & co"
    assert contents[json_id] == "from json"


@pytest.mark.slow
def test_server_enforces_auth_and_routing(server: Server) -> None:
    before = items_at(server.url)
    sneaky = {**FULL_ITEMS, "commands": [command("item_add", {"content": "sneaky"})]}
    wrong = httpx.post(server.url, json=sneaky, headers={"Authorization": "Bearer nope"}, timeout=30)
    assert wrong.status_code == 403
    assert body_of(wrong)["error_tag"] == "AUTH_INVALID_TOKEN" and body_of(wrong)["http_code"] == 403
    missing = httpx.post(server.url, data=form_fields(sneaky), timeout=30)
    assert missing.status_code == 401
    assert items_at(server.url) == before
    got = httpx.get(server.url, headers=AUTH, timeout=30)
    assert got.status_code == 405 and got.headers["allow"] == "POST"
    base = server.url.removesuffix(SYNC)
    assert httpx.post(f"{base}/rest/v2/tasks", headers=AUTH, timeout=30).status_code == 410
    assert httpx.post(f"{base}/api/v1/tasks", headers=AUTH, timeout=30).status_code == 404


@pytest.mark.slow
def test_server_refuses_a_body_over_1_mib_with_413(server: Server) -> None:
    add = command("item_add", {"content": "too big"})
    content = json.dumps({"commands": [add], "pad": "x" * MAX_BODY_BYTES}).encode()
    response = httpx.post(server.url, content=content, headers={**AUTH, "content-type": "application/json"}, timeout=30)
    assert response.status_code == 413, response.text
    assert all(item["content"] != "too big" for item in items_at(server.url))
    assert sync(server.url, {"commands": [add]})["sync_status"] == {add["uuid"]: "ok"}


@pytest.mark.slow
def test_server_takes_an_upload_past_the_sync_bodys_1_mib_and_serves_it_back(server: Server) -> None:
    """Uploads have their own cap (100 MB) on the real server's body reader; the token is checked first."""
    uploads = server.url.removesuffix(SYNC) + "/api/v1/uploads"
    content = bytes(range(256)) * (3 * 4096)  # 3 MiB
    refused = httpx.post(uploads, files={"file": ("big.bin", content)}, headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 403
    answer = httpx.post(uploads, files={"file": ("big.bin", content)}, headers=AUTH, timeout=30)
    assert answer.status_code == 200, answer.text
    body = body_of(answer)
    assert (body["file_size"], body["file_name"]) == (len(content), "big.bin")
    assert body["file_url"].startswith(server.url.removesuffix(SYNC) + "/files/")
    served = httpx.get(body["file_url"], headers=AUTH, timeout=30)
    assert served.status_code == 200 and served.content == content
    assert httpx.get(body["file_url"], headers={"Authorization": "Bearer nope"}, timeout=30).status_code == 403


@pytest.mark.slow
def test_two_clients_writing_concurrently_get_exactly_100_unique_items(server: Server) -> None:
    setup = sync(server.url, {"commands": [command("project_add", {"name": "Concurrent"}, temp_id="p")]})
    project_id = setup["temp_id_mapping"]["p"]
    start = threading.Barrier(2)
    mapped: list[list[str]] = [[], []]
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with httpx.Client(headers=AUTH, timeout=30) as http:
                start.wait(timeout=30)
                for batch in range(5):
                    commands = [
                        command("item_add", {"content": f"w{n} b{batch} c{k}", "project_id": project_id}, f"t{k}")
                        for k in range(10)
                    ]
                    response = http.post(server.url, json={"commands": commands})
                    assert response.status_code == 200, response.text
                    body = body_of(response)
                    assert set(body["sync_status"].values()) == {"ok"}, body["sync_status"]
                    mapped[n].extend(body["temp_id_mapping"].values())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert len(mapped[0]) == len(mapped[1]) == 50
    ours = [item for item in items_at(server.url) if item["project_id"] == project_id]
    assert len(ours) == 100
    ids = [item["id"] for item in ours]
    assert len(set(ids)) == 100
    assert set(ids) == set(mapped[0]) | set(mapped[1])
    assert len({item["content"] for item in ours}) == 100


@pytest.mark.slow
def test_writes_survive_a_restart_and_an_old_token_sees_nothing_new(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    add = command("item_add", {"content": "durable"}, temp_id="d")
    with local_api(db) as first:
        done = sync(first.url, {**FULL_ITEMS, "commands": [add]})
        assert done["sync_status"] == {add["uuid"]: "ok"}
        item_id = done["temp_id_mapping"]["d"]
        token = done["sync_token"]
    with local_api(db) as second:
        assert [(item["id"], item["content"]) for item in items_at(second.url)] == [(item_id, "durable")]
        incremental = sync(second.url, {"sync_token": token, "resource_types": ["items"]})
        assert incremental["full_sync"] is False
        assert incremental["items"] == []
        # A replay of the same uuid after the restart is recognised and not run twice.
        replay = sync(second.url, {"commands": [add]})
        assert replay["sync_status"] == {add["uuid"]: "ok"}
        assert replay["temp_id_mapping"] == {"d": item_id}
        assert len(items_at(second.url)) == 1


@pytest.mark.slow
def test_a_write_answered_ok_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    add = command("item_add", {"content": "answered before the crash"}, temp_id="k")
    with local_api(db) as running:
        done = sync(running.url, {"commands": [add]})
        assert done["sync_status"] == {add["uuid"]: "ok"}
        running.kill()
        assert running.process.returncode == -signal.SIGKILL
    # Restarted with the token from the environment only (TOOLS_SERVER_LOCAL_TOKEN, no --token).
    with local_api(db, token=None, env_token=TOKEN) as restarted:
        items = items_at(restarted.url)
        assert [(item["id"], item["content"]) for item in items] == [
            (done["temp_id_mapping"]["k"], "answered before the crash")
        ]
        wrong = httpx.post(restarted.url, json=FULL_ITEMS, headers={"Authorization": "Bearer other"}, timeout=30)
        assert wrong.status_code == 403


@pytest.mark.anyio
async def test_a_body_that_is_neither_json_nor_a_form_is_refused_not_dropped() -> None:
    store = SyncStore(":memory:")
    try:
        async with httpx.AsyncClient(transport=LocalTransport(store, expected_token="secret")) as client:
            body = json.dumps({"commands": [{"type": "item_add", "uuid": "u1", "args": {"content": "x"}}]})
            response = await client.post(
                "http://local.invalid/api/v1/sync",
                content=body,
                headers={"Authorization": "Bearer secret", "Content-Type": "text/plain"},
            )
            assert response.status_code == 415 and response.json()["error_extra"]["argument"] == "body"
            assert store.sync(sync_token="*", resource_types=["items"])["items"] == []
    finally:
        store.close()

"""What `tools-server call` keeps between runs (issue 20, item 3): every write undone by the next `call undo`, read
back from the store; a batch one call left unconfirmed finished by the next; an earlier version's file refused with a
note, never guessed at."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import SCRIPT, local_env
from tools_server.cli.backends import LOCAL_SYNC_URL, backend_over
from tools_server.cli.call import run_call
from tools_server.cli.checks import EXIT_OK, EXIT_PARTIAL, EXIT_TOOL_REFUSED
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport
from tools_server.plans.pending import PendingWrite
from tools_server.plans.plan import Plan, Step
from tools_server.server.app import Backend
from tools_server.state.file import key_path, state_path
from tools_server.state.records import PENDING, Sealer
from tools_server.state.sessions import token_fingerprint, token_secret
from tools_server.sync.client import RetryPolicy
from tools_server.sync.commands import COMMAND_ADAPTER
from tools_server.sync.send import Outcome

TOKEN = "local"  # the embedded backend's token, as `call` uses it


async def _sync(db: Path, body: dict[str, Any]) -> dict[str, Any]:
    """A plain Sync request to the store, as any other client would make it."""
    store = SyncStore(str(db))
    try:
        async with httpx.AsyncClient(transport=LocalTransport(store)) as http:
            response = await http.post(LOCAL_SYNC_URL, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        store.close()
    data: dict[str, Any] = response.json()
    return data


async def _read(db: Path) -> dict[str, Any]:
    return await _sync(db, {"sync_token": "*", "resource_types": ["items", "projects", "notes"]})


# ---------------------------------------------------------------------------------------------------------------------
# Each write in one process, its undo in the next


def _call(home: Path, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [str(SCRIPT), "call", tool, json.dumps(arguments or {}), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=local_env(home),
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == EXIT_OK, (tool, done.stdout, done.stderr)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _task(home: Path, content: str, **fields: Any) -> str:
    added = _call(home, "add_item", {"items": [{"content": content, **fields}]})
    task: str = added["ids"][0]
    return task


def _projects(home: Path, *names: str) -> None:
    _call(home, "manage_projects", {"ops": [{"op": "add", "kind": "project", "name": n} for n in names]})


def _project_id(state: dict[str, Any], name: str) -> str:
    [found] = [p["id"] for p in state["projects"] if p["name"] == name and not p["is_deleted"]]
    return found


def _open_tasks(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in state["items"] if not i["is_deleted"] and not i["checked"]}


Setup = Callable[[Path], dict[str, Any]]  # seeds the store, returns what the write and the check need
Write = Callable[[Path, dict[str, Any]], None]
Check = Callable[[dict[str, Any], dict[str, Any]], None]


def _add_setup(home: Path) -> dict[str, Any]:
    return {}


def _add_write(home: Path, seeded: dict[str, Any]) -> None:
    _call(home, "add_item", {"items": [{"content": "oops", "subtasks": [{"content": "child"}]}]})


def _add_check(state: dict[str, Any], seeded: dict[str, Any]) -> None:
    assert [i["content"] for i in _open_tasks(state).values()] == []


def _complete_setup(home: Path) -> dict[str, Any]:
    return {"task": _task(home, "finish me")}


def _complete_write(home: Path, seeded: dict[str, Any]) -> None:
    _call(home, "complete_items", {"ids": [seeded["task"]]})


def _complete_check(state: dict[str, Any], seeded: dict[str, Any]) -> None:
    assert seeded["task"] in _open_tasks(state)


def _update_setup(home: Path) -> dict[str, Any]:
    return {"task": _task(home, "before", priority=2, labels=["home"])}


def _update_write(home: Path, seeded: dict[str, Any]) -> None:
    _call(home, "update_items", {"items": [{"id": seeded["task"], "content": "after", "priority": 4, "labels": []}]})


def _update_check(state: dict[str, Any], seeded: dict[str, Any]) -> None:
    task = _open_tasks(state)[seeded["task"]]
    assert (task["content"], task["priority"], task["labels"]) == ("before", 2, ["home"])


def _move_setup(home: Path) -> dict[str, Any]:
    _projects(home, "From", "To")
    return {"task": _task(home, "wanderer", project="From")}


def _move_write(home: Path, seeded: dict[str, Any]) -> None:
    _call(home, "move_items", {"ids": [seeded["task"]], "to_project": "To"})


def _move_check(state: dict[str, Any], seeded: dict[str, Any]) -> None:
    assert _open_tasks(state)[seeded["task"]]["project_id"] == _project_id(state, "From")


def _comment_setup(home: Path) -> dict[str, Any]:
    return {"task": _task(home, "discussed")}


def _comment_write(home: Path, seeded: dict[str, Any]) -> None:
    _call(home, "comment_items", {"add": [{"task": seeded["task"], "content": "a remark"}]})


def _comment_check(state: dict[str, Any], seeded: dict[str, Any]) -> None:
    assert [n["content"] for n in state["notes"] if not n["is_deleted"]] == []


def _projects_setup(home: Path) -> dict[str, Any]:
    _projects(home, "Home")
    return {}


def _projects_write(home: Path, seeded: dict[str, Any]) -> None:
    _call(home, "manage_projects", {"ops": [{"op": "update", "kind": "project", "id": "Home", "name": "House"}]})


def _projects_check(state: dict[str, Any], seeded: dict[str, Any]) -> None:
    names = sorted(p["name"] for p in state["projects"] if not p["is_deleted"])
    assert names == ["Home", "Inbox"]


WRITES: dict[str, tuple[Setup, Write, Check]] = {
    "add_item": (_add_setup, _add_write, _add_check),
    "complete_items": (_complete_setup, _complete_write, _complete_check),
    "update_items": (_update_setup, _update_write, _update_check),
    "move_items": (_move_setup, _move_write, _move_check),
    "comment_items": (_comment_setup, _comment_write, _comment_check),
    "manage_projects": (_projects_setup, _projects_write, _projects_check),
}


@pytest.mark.slow  # every step is a `tools-server call` process
@pytest.mark.anyio
@pytest.mark.parametrize("tool", list(WRITES))
async def test_a_write_made_by_one_call_is_reverted_in_the_store_by_undo_in_the_next(tmp_path: Path, tool: str) -> None:
    setup, write, check = WRITES[tool]
    seeded = setup(tmp_path)
    write(tmp_path, seeded)
    undone = _call(tmp_path, "undo")
    assert undone["ok"] >= 1 and undone["failed"] == 0, undone
    check(await _read(tmp_path / "tasks.db"), seeded)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_write_handle_printed_by_one_call_undoes_it_after_later_calls(tmp_path: Path) -> None:
    handle = _call(tmp_path, "add_item", {"items": [{"content": "undo me later"}]})["write"]
    _call(tmp_path, "add_item", {"items": [{"content": "keep me"}]})
    _call(tmp_path, "query_changes")
    _call(tmp_path, "undo", {"write": handle})
    contents = [i["content"] for i in _open_tasks(await _read(tmp_path / "tasks.db")).values()]
    assert contents == ["keep me"]


# ---------------------------------------------------------------------------------------------------------------------
# In process: run_call as `tools-server call` runs it, over a transport the test controls


@asynccontextmanager
async def _backend(transport: httpx.AsyncBaseTransport) -> AsyncGenerator[Backend]:
    async with httpx.AsyncClient(transport=transport) as http:
        policy = RetryPolicy(max_attempts=1)  # a failure is final at once: no waiting in a test
        yield backend_over(http, kind="local", url=LOCAL_SYNC_URL, token=TOKEN, policy=policy)


class _Outage(httpx.AsyncBaseTransport):
    """The store behind a switch: while ``down``, every request that carries commands gets a 503 (nothing runs)."""

    def __init__(self, db: Path) -> None:
        self.store = SyncStore(str(db))
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(await request.aread())
        if self.down and body.get("commands"):
            return httpx.Response(503, json={"error": "unavailable", "http_code": 503})
        return await LocalTransport(self.store).handle_async_request(request)


async def _run(transport: httpx.AsyncBaseTransport, db: Path, tool: str, arguments: dict[str, Any]) -> int:
    return await run_call(_backend(transport), db, tool, arguments, True, 5.0)


@pytest.mark.anyio
async def test_a_batch_one_call_left_unconfirmed_is_finished_by_resend_writes_in_the_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "tasks.db"
    outage = _Outage(db)
    try:
        await _run(outage, db, "query_changes", {})
        capsys.readouterr()
        outage.down = True
        assert await _run(outage, db, "add_item", {"items": [{"content": "late"}]}) == EXIT_PARTIAL
        batch = json.loads(capsys.readouterr().out)["resend"]
        assert batch and "late" not in json.dumps(await _read(db))
        outage.down = False
        assert await _run(outage, db, "resend_writes", {"batch": batch}) == EXIT_OK
        resent = json.loads(capsys.readouterr().out)
        assert resent["ok"] == 1 and not resent.get("resend"), resent
        assert [i["content"] for i in _open_tasks(await _read(db)).values()] == ["late"]
        assert await _run(outage, db, "resend_writes", {}) == EXIT_TOOL_REFUSED  # nothing is left pending
    finally:
        outage.store.close()


# The shape the earlier version wrote (git show 0810c6f:tools_server/state/file.py), with an undo record in it.
def _earlier_file(fingerprint: str) -> dict[str, Any]:
    undo: dict[str, Any] = {
        "kind": "add",
        "before": {},
        "after": {},
        "done": [],
        "created": ["t1"],
        "created_all": ["t1"],
        "fields": {},
        "projects_created": 0,
        "reminders_added": [],
        "reminders_removed": [],
        "orders": {},
    }
    entry: dict[str, Any] = {"sync_token": "abc", "mirror": None, "cursors": {}, "cursor_objects": {}, "undo": undo}
    return {"version": 1, "accounts": {fingerprint: entry, "0123456789abcdef": entry}}


@pytest.mark.anyio
async def test_an_earlier_versions_call_state_is_not_read_and_is_told_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "tasks.db"
    path = tmp_path / "tasks.db.call-state.json"  # where the version before the file store kept `call` state
    path.write_text(json.dumps(_earlier_file(token_fingerprint(TOKEN))))
    transport = _Outage(db)
    try:
        # Its undo record is not taken for this version's: undo has nothing to reverse, and says why first.
        assert await _run(transport, db, "undo", {}) == EXIT_TOOL_REFUSED
        told = capsys.readouterr().err
        assert "written by an earlier version of tools-server and is not read" in told and str(path) in told
        assert "nothing to undo" in told
        assert await _run(transport, db, "query_changes", {}) == EXIT_OK
        assert "earlier version" not in capsys.readouterr().err
        assert not path.exists() and state_path(db).exists()
    finally:
        transport.store.close()


@pytest.mark.anyio
async def test_a_call_state_sealed_with_another_key_is_not_read_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "tasks.db"
    transport = _Outage(db)
    try:
        assert await _run(transport, db, "add_item", {"items": [{"content": "x"}]}) == EXIT_OK
        key = key_path(state_path(db))
        assert key.stat().st_mode & 0o777 == 0o600
        key.write_bytes(os.urandom(32))  # whoever wrote this file did not have the key it is read with
        capsys.readouterr()
        assert await _run(transport, db, "undo", {}) == EXIT_TOOL_REFUSED
        told = capsys.readouterr().err + caplog.text  # the refusal is logged (stderr, for the console script)
        assert "was not read" in told and "seal does not check" in told and "nothing to undo" in told
        assert [i["content"] for i in _open_tasks(await _read(db)).values()] == ["x"]
    finally:
        transport.store.close()


@pytest.mark.anyio
async def test_a_batch_the_previous_versions_json_file_kept_is_moved_into_the_store_and_finished(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "tasks.db"
    earlier = tmp_path / "tasks.db.call-state.json"
    key = os.urandom(32)
    key_path(earlier).write_bytes(key)
    uuid = "0b8c6a7e-1111-4222-8333-944455556666"
    add = COMMAND_ADAPTER.validate_python(
        {"type": "item_add", "uuid": uuid, "temp_id": "t1", "args": {"content": "moved"}}
    )
    plan = Plan((Step(0, "moved", command=add),))
    write = PendingWrite("Added", plan, None, [add], Outcome(), batch="w_0123456789ab")
    sealed = Sealer(key, token_secret(TOKEN)).seal("pending:" + write.batch, PENDING, write)
    # The shape that version wrote: each entry's seal in hex and the record's JSON as it is.
    entry = f'{{"mac": "{sealed.mac.hex()}", "body": {sealed.body.decode()}}}'
    fingerprint = token_fingerprint(TOKEN)
    earlier.write_text(f'{{"format": 2, "accounts": {{"{fingerprint}": {{"pending:{write.batch}": {entry}}}}}}}')
    transport = _Outage(db)
    try:
        assert await _run(transport, db, "resend_writes", {}) == EXIT_OK
        resent = json.loads(capsys.readouterr().out)
        assert resent["ok"] == 1 and not resent.get("resend"), resent
        assert [i["content"] for i in _open_tasks(await _read(db)).values()] == ["moved"]
        assert not earlier.exists()
    finally:
        transport.store.close()

"""Todoist v9 batch examples from a captured document, replayed against the local backend.

Each example gets a fresh store holding a real object for every numeric id it names, except the ids it expects to
be unknown. Its commands are sent with the seed's ids mapped to the real ones, and each command's outcome must fall
in the class the seed shows: ok, not found (404) or invalid argument (400). Where the seed's ``outcome`` states an
effect ("marked as complete", "moved to project …"), the store's state must show it. The rate-limited example runs
against a store whose budget is spent, and must get 429 with ``Retry-After`` and a LIMITS_REACHED body.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from tests.support import FIXED_NOW, FixedClock
from tools_server.local.store import RateLimit, SyncStore

Obj = dict[str, Any]

# A copy of the project seed document (its examples are replayed against the local backend).
SEED = Path(__file__).resolve().parents[1] / "data" / "001_2b6bb4f05a7880ed.txt"
ID_ARGS = {"id": "item", "parent_id": "item", "project_id": "project", "section_id": "section"}
RESOURCES = ["items", "projects", "sections"]
TOKEN = "t"
TOMORROW = (FIXED_NOW.date() + timedelta(days=1)).isoformat()


def load_seed() -> Obj:
    """The JSON object that starts at the first line that is exactly ``{`` (text may follow it)."""
    text = SEED.read_text(encoding="utf-8")
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.rstrip("\r\n") == "{":
            break
        offset += len(line)
    else:
        raise ValueError("no line that is exactly '{'")
    decoded: Any
    decoded, _end = json.JSONDecoder().raw_decode(text, offset)
    if not isinstance(decoded, dict):
        raise ValueError("the JSON document is not an object")
    document = cast(Obj, decoded)
    examples: Any = document.get("examples")
    if not isinstance(examples, list):
        raise ValueError("the JSON object has no 'examples' array")
    for position, item in enumerate(cast(list[Any], examples)):
        if not isinstance(item, dict):
            raise ValueError(f"example {position} is not an object")
        example = cast(Obj, item)
        if not isinstance(example.get("name"), str):
            raise ValueError(f"example {position} has no name")
        request: Any = example.get("request")
        if not isinstance(request, dict) or not isinstance(cast(Obj, request).get("commands"), list):
            raise ValueError(f"example {example['name']!r} has no request.commands")
    return document


def _examples() -> tuple[list[Obj], str | None]:
    try:
        examples: list[Obj] = load_seed()["examples"]
    except (OSError, ValueError) as exc:
        return [], f"seed document {SEED} is missing or unusable: {exc}"
    return examples, None


EXAMPLES, LOAD_ERROR = _examples()
PARAMS = [pytest.param(e, id=e["name"]) for e in EXAMPLES] or [pytest.param(None, id="seed-unavailable")]


# ---------------------------------------------------------------------------------------------------------------------
# Outcome classes


def seed_class(status: Any) -> str:
    """The seed's v9 status: "ok", or an error whose ``error`` names the kind and ``error_code`` is an HTTP code."""
    if status == "ok":
        return "ok"
    if isinstance(status, dict):
        error_object = cast(Obj, status)
        error = str(error_object.get("error", ""))
        code: Any = error_object.get("error_code", error_object.get("http_code"))
        if code == 404 or error.endswith("NOT_FOUND"):
            return "not_found"
        if code == 400 or error.startswith("INVALID_ARGUMENT"):
            return "invalid_argument"
    raise AssertionError(f"the seed has a status this test cannot classify: {status!r}")


def store_class(status: Any) -> str:
    if status == "ok":
        return "ok"
    if isinstance(status, dict):
        error_object = cast(Obj, status)
        tag: Any = error_object.get("error_tag")
        http_code: Any = error_object.get("http_code")
        if isinstance(tag, str) and tag.endswith("NOT_FOUND") and http_code == 404:
            return "not_found"
        if tag == "INVALID_ARGUMENT_VALUE" and http_code == 400:
            return "invalid_argument"
    return f"other: {status!r}"


# ---------------------------------------------------------------------------------------------------------------------
# Setting up a store with the objects an example names


def expected_statuses(example: Obj) -> dict[str, str]:
    response: Obj = example["response"]
    sync_status: dict[str, Any] = response["sync_status"]
    return {uuid: seed_class(status) for uuid, status in sync_status.items()}


def referenced_ids(example: Obj) -> dict[str, str]:
    """Every numeric id the commands name -> the kind of object it names."""
    kinds: dict[str, str] = {}
    for command in example["request"]["commands"]:
        for argument, kind in ID_ARGS.items():
            value = command["args"].get(argument)
            if isinstance(value, str) and value.isdigit():
                assert kinds.setdefault(value, kind) == kind, f"seed id {value} names a {kind} and a {kinds[value]}"
    return kinds


def missing_ids(example: Obj, expected: dict[str, str]) -> set[str]:
    """Ids of commands the seed expects to be not found, unless a command that works also names them."""
    missing: set[str] = set()
    used: set[str] = set()
    for command in example["request"]["commands"]:
        target = missing if expected.get(command["uuid"]) == "not_found" else used
        target.update(v for a in ID_ARGS if isinstance(v := command["args"].get(a), str) and v.isdigit())
    return missing - used


def populate(store: SyncStore, kinds: dict[str, str], missing: set[str]) -> dict[str, str]:
    """Create a project, section or task for every seed id not in ``missing``; return seed id -> real id."""
    wanted = {seed_id: kind for seed_id, kind in kinds.items() if seed_id not in missing}
    commands: list[Obj] = []
    holder = "seed-holder-project"
    if any(kind == "section" for kind in wanted.values()):
        commands.append({"type": "project_add", "uuid": "setup-holder", "temp_id": holder, "args": {"name": "Holder"}})
    for seed_id, kind in sorted(wanted.items(), key=lambda pair: ("project", "section", "item").index(pair[1])):
        args: Obj = {"name": f"Seed {kind} {seed_id}"}
        if kind == "item":
            args = {"content": f"Seed task {seed_id}"}
        elif kind == "section":
            args["project_id"] = holder
        commands.append({"type": f"{kind}_add", "uuid": f"setup-{seed_id}", "temp_id": f"seed-{seed_id}", "args": args})
    if not commands:
        return {}
    body = store.sync(commands=commands)
    assert all(s == "ok" for s in body["sync_status"].values()), body["sync_status"]
    mapping: dict[str, str] = body["temp_id_mapping"]
    return {seed_id: mapping[f"seed-{seed_id}"] for seed_id in wanted}


def rewrite(commands: list[Obj], id_map: dict[str, str]) -> list[Obj]:
    rewritten = copy.deepcopy(commands)
    for command in rewritten:
        args: Obj = command["args"]
        for argument in ID_ARGS:
            value = args.get(argument)
            if isinstance(value, str) and value in id_map:
                args[argument] = id_map[value]
    return rewritten


def by_id(objects: list[Obj]) -> dict[str, Obj]:
    return {o["id"]: o for o in objects}


# ---------------------------------------------------------------------------------------------------------------------
# Effects


def check_command_effect(
    command: Obj,
    status: str,
    id_map: dict[str, str],
    before: dict[str, Obj],
    changed: dict[str, Obj],
    now: dict[str, Obj],
) -> None:
    """What one command did to its task, read from an incremental sync (``changed``) and a full one (``now``)."""
    args: Obj = command["args"]
    item_id = args.get("id")
    if status != "ok":
        if item_id in before:  # a refused command leaves its task as it was
            assert item_id not in changed, f"{command['uuid']} failed but changed its task: {changed[item_id]}"
            assert now[item_id] == before[item_id]
        return
    assert isinstance(item_id, str)
    kind = command["type"]
    assert item_id in changed, f"{command['uuid']} is ok, but an incremental sync does not show its task changed"
    if kind == "item_complete":
        item = changed[item_id]
        assert item["checked"] is True and item["completed_at"] is not None, item
        assert item_id not in now, "a completed task must leave the full sync"
    elif kind == "item_move":
        item = changed[item_id]
        assert item["project_id"] == id_map.get(args["project_id"], args["project_id"]), f"not moved: {item}"
        assert item["section_id"] is None and item["parent_id"] is None, item
        assert item == now[item_id]
    elif kind == "item_update":
        item = changed[item_id]
        if "priority" in args:
            assert item["priority"] == args["priority"]
        if "content" in args:
            assert item["content"] == args["content"]
        if "labels" in args:
            assert item["labels"] == args["labels"]
        if "due" in args:
            due: Obj = args["due"]
            assert item["due"] is not None and item["due"]["string"] == due.get("string", item["due"]["string"])
            if due.get("string") == "tomorrow":
                assert item["due"]["date"] == TOMORROW
            elif due.get("string") == "next Monday":
                due_date = date.fromisoformat(item["due"]["date"])
                assert due_date.weekday() == 0 and due_date > FIXED_NOW.date(), item["due"]
            elif "date" in due:
                assert item["due"]["date"] == due["date"]
        assert item == now[item_id]
    else:
        raise AssertionError(f"no effect check for {kind}; extend this test for the new seed command")


def check_outcome_text(example: Obj, statuses: dict[str, Any], id_map: dict[str, str], now: dict[str, Obj]) -> None:
    """The effects the seed's ``outcome`` sentence states."""
    outcome: str = example.get("outcome", "")
    commands: list[Obj] = example["request"]["commands"]
    truncated = "_comment" in example["request"]  # "Showing only 1 of 15 commands for brevity"
    oks = [c for c in commands if statuses[c["uuid"]] == "ok"]
    if match := re.search(r"\bAll (\d+) tasks\b", outcome):
        assert len(oks) == len(commands), f"{outcome!r}, but not every command succeeded: {statuses}"
        if not truncated:
            assert len(commands) == int(match.group(1)), outcome
    if match := re.search(r"(\d+) successful, (\d+) failed", outcome):
        assert (len(oks), len(commands) - len(oks)) == (int(match.group(1)), int(match.group(2))), statuses
    if outcome.startswith("Failed"):
        assert not oks, f"{outcome!r}, but some commands succeeded: {statuses}"
    if "marked as complete" in outcome:
        targets = [id_map[c["args"]["id"]] for c in commands]
        assert not any(t in now for t in targets), "completed tasks are still in the full sync"
    if match := re.search(r"moved to project (\d+)", outcome):
        project = id_map[match.group(1)]
        assert all(now[id_map[c["args"]["id"]]]["project_id"] == project for c in commands), outcome


# ---------------------------------------------------------------------------------------------------------------------
# The tests


def test_seed_document_is_readable() -> None:
    assert LOAD_ERROR is None, LOAD_ERROR
    names = [e["name"] for e in EXAMPLES]
    assert len(names) == len(set(names)), f"example names must be unique to be test ids: {names}"
    assert any(e.get("response_http_code") == 429 for e in EXAMPLES), "the seed should have a rate-limited example"
    classes = {c for e in EXAMPLES if "sync_status" in e["response"] for c in expected_statuses(e).values()}
    assert classes == {"ok", "not_found", "invalid_argument"}, classes


@pytest.mark.parametrize("example", PARAMS)
def test_seed_example(example: Obj | None) -> None:
    if example is None:
        pytest.fail(LOAD_ERROR or "the seed document has no examples")
    if example.get("response_http_code") == 429:
        replay_rate_limited(example)
    else:
        replay_batch(example)


def replay_batch(example: Obj) -> None:
    expected = expected_statuses(example)
    commands: list[Obj] = example["request"]["commands"]
    assert set(expected) == {c["uuid"] for c in commands}, "the seed's sync_status must name every command"
    store = SyncStore(":memory:", now=FixedClock())
    try:
        id_map = populate(store, referenced_ids(example), missing_ids(example, expected))
        start = store.sync(sync_token="*", resource_types=RESOURCES)
        before = by_id(start["items"])

        request = example["request"] | {"commands": rewrite(commands, id_map)}
        reply = store.handle(request, token=TOKEN)

        assert reply.status == 200, reply.body
        statuses: dict[str, Any] = reply.body["sync_status"]
        assert set(statuses) == set(expected)
        got = {uuid: store_class(status) for uuid, status in statuses.items()}
        assert got == expected, f"per-command outcome differs from the seed: {statuses}"
        seed_mapping = example["response"].get("temp_id_mapping")
        if seed_mapping is not None:
            assert reply.body["temp_id_mapping"] == seed_mapping

        changed = by_id(store.sync(sync_token=start["sync_token"], resource_types=RESOURCES)["items"])
        now = by_id(store.sync(sync_token="*", resource_types=RESOURCES)["items"])
        for command in rewrite(commands, id_map):
            check_command_effect(command, got[command["uuid"]], id_map, before, changed, now)
        check_outcome_text(example, statuses, id_map, now)
    finally:
        store.close()


def replay_rate_limited(example: Obj) -> None:
    """The token's budget is spent: the request is refused whole, with a wait that is enough."""
    clock = FixedClock()
    store = SyncStore(":memory:", now=clock, rate_limit=RateLimit(partial=1, full=1))
    try:
        id_map = populate(store, referenced_ids(example), set())  # store.sync does not count against the budget
        request = example["request"] | {"commands": rewrite(example["request"]["commands"], id_map)}
        assert store.handle({}, token=TOKEN).status == 200  # spends the one partial sync
        before = store.sync(sync_token="*", resource_types=RESOURCES)

        reply = store.handle(request, token=TOKEN)

        assert reply.status == example["response_http_code"] == 429
        assert "Retry-After" in example.get("response_headers", {})
        retry_after = int(reply.headers["Retry-After"])
        assert retry_after >= 1
        assert reply.body["error_tag"] == "LIMITS_REACHED"
        assert reply.body["error_code"] == 35
        assert reply.body["http_code"] == 429
        assert reply.body["error_extra"]["retry_after"] == retry_after
        assert "sync_status" not in reply.body
        after = store.sync(sync_token="*", resource_types=RESOURCES)
        assert after["items"] == before["items"], "a refused request must not run its commands"

        # The client does what the seed says: waits Retry-After seconds and sends the same request again.
        clock.now += timedelta(seconds=retry_after)
        again = store.handle(request, token=TOKEN)
        assert again.status == 200, again.body
        assert set(again.body["sync_status"]) == {c["uuid"] for c in request["commands"]}
        assert all(s == "ok" for s in again.body["sync_status"].values()), again.body["sync_status"]
    finally:
        store.close()


def test_zero_budget_rate_limit_refuses_with_429() -> None:
    """``RateLimit(partial=0, full=0)`` is the simplest way to make every request of a token over the limit."""
    store = SyncStore(":memory:", now=FixedClock(), rate_limit=RateLimit(partial=0, full=0))
    request: Obj = {"commands": [{"type": "item_add", "uuid": "u-1", "args": {"content": "x"}}]}
    try:
        try:
            reply = store.handle(request, token=TOKEN)
        except IndexError as exc:
            raise AssertionError(
                f"STORE BUG: SyncStore.handle raised IndexError({exc}) for a token with a zero budget "
                "(_check_rate reads same_kind[0] of an empty list) instead of returning 429 LIMITS_REACHED"
            ) from None
        assert reply.status == 429
        assert int(reply.headers["Retry-After"]) >= 1
        assert reply.body["error_tag"] == "LIMITS_REACHED"
        assert store.sync(sync_token="*", resource_types=["items"])["items"] == []
    finally:
        store.close()

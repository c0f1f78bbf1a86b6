"""A write's commands are serialised once: its kept batch and its request share the JSON, which is safe because a
command, arguments included, cannot change once built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import tools_server.sync.commands as commands_module
from tests.support import command, connected, harness, structured, text_of
from tools_server.state.file import FileState, state_path
from tools_server.sync.commands import COMMAND_ADAPTER, commands_json


def test_a_command_and_its_arguments_cannot_be_changed_once_built() -> None:
    built = COMMAND_ADAPTER.validate_python(command("item_add", {"content": "milk", "labels": ["shop"]}))
    with pytest.raises(ValidationError, match="frozen"):
        built.uuid = "another"
    with pytest.raises(ValidationError, match="frozen"):
        built.args.content = "oat milk"  # pyright: ignore[reportAttributeAccessIssue]


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every list the command adapter serialises from now on."""
    adapter = commands_module._COMMAND_LIST_ADAPTER  # pyright: ignore[reportPrivateUsage]
    serialised: list[int] = []

    class Counting:
        def dump_json(self, value: list[Any], **options: Any) -> bytes:
            serialised.append(len(value))
            return adapter.dump_json(value, **options)

    monkeypatch.setattr(commands_module, "_COMMAND_LIST_ADAPTER", Counting())
    return serialised


def _fresh(built: list[Any]) -> bytes:
    adapter = commands_module._COMMAND_LIST_ADAPTER  # pyright: ignore[reportPrivateUsage]
    return adapter.dump_json(built, exclude_unset=True)


def _adds(count: int, name: str = "t") -> list[Any]:
    return [COMMAND_ADAPTER.validate_python(command("item_add", {"content": f"{name}{n}"})) for n in range(count)]


def test_the_same_commands_give_the_same_json_and_other_commands_their_own() -> None:
    first, other = _adds(3), _adds(3)
    once = commands_json(first)
    assert commands_json(list(first)) is once  # the same objects: not serialised again
    assert commands_json(other) == _fresh(other) != once  # equal commands, other uuids
    assert commands_json(first[:2]) == _fresh(first[:2])
    assert commands_json([]) == b"[]"
    for n in range(16):  # sixteen runs since: the first is no longer kept, and is serialised again
        commands_json(_adds(1, f"o{n}"))
    assert commands_json(first) == once and commands_json(first) is not once


def test_a_long_batch_is_serialised_in_the_runs_its_requests_find_again(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _adds(250)
    whole = _fresh(batch)
    serialised = _counting(monkeypatch)
    assert commands_json(batch) == whole  # byte for byte what one pass over all of them gives
    assert serialised == [100, 100, 50]
    requests = [commands_json(batch[at : at + 100]) for at in (0, 100, 200)]
    assert b"[" + b",".join(r[1:-1] for r in requests) + b"]" == whole
    assert serialised == [100, 100, 50]  # each request found its run


@pytest.mark.anyio
@pytest.mark.parametrize("tasks", [100, 250])
async def test_a_write_kept_in_the_state_file_serialises_each_command_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tasks: int
) -> None:
    serialised = _counting(monkeypatch)
    async with harness() as h:
        store = FileState(state_path(tmp_path / "tasks.db"), clock=h.clock.as_clock())
        try:
            async with connected(h, h.server(state=store)) as client:
                reply = await client.call_tool("add_item", {"items": [{"content": f"t{n}"} for n in range(tasks)]})
                assert not reply.is_error and structured(reply)["ok"] == tasks, text_of(reply)
            assert len(await h.active_items()) == tasks
        finally:
            store.close()
    # The batch kept before the first request, and the requests (100 commands each): each command serialised once.
    assert sorted(serialised, reverse=True) == [100] * (tasks // 100) + ([tasks % 100] if tasks % 100 else [])

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


def test_the_same_commands_give_the_same_json_and_other_commands_their_own() -> None:
    adapter = commands_module._COMMAND_LIST_ADAPTER  # pyright: ignore[reportPrivateUsage]

    def fresh(built: list[Any]) -> bytes:
        return adapter.dump_json(built, exclude_unset=True)

    first = [COMMAND_ADAPTER.validate_python(command("item_add", {"content": f"t{n}"})) for n in range(3)]
    other = [COMMAND_ADAPTER.validate_python(command("item_add", {"content": f"t{n}"})) for n in range(3)]
    once = commands_json(first)
    assert commands_json(list(first)) is once  # the same objects: not serialised again
    assert commands_json(other) == fresh(other) != once  # equal commands, other uuids
    assert commands_json(first[:2]) == fresh(first[:2])
    assert commands_json([]) == b"[]"
    assert commands_json(first) == once and commands_json(first) is not once  # pushed out by first[:2]: again


@pytest.mark.anyio
async def test_a_100_task_add_kept_in_the_state_file_serialises_its_commands_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = commands_module._COMMAND_LIST_ADAPTER  # pyright: ignore[reportPrivateUsage]
    serialised: list[int] = []

    class Counting:
        def dump_json(self, value: list[Any], **options: Any) -> bytes:
            serialised.append(len(value))
            return adapter.dump_json(value, **options)

    monkeypatch.setattr(commands_module, "_COMMAND_LIST_ADAPTER", Counting())
    async with harness() as h:
        store = FileState(state_path(tmp_path / "tasks.db"), clock=h.clock.as_clock())
        try:
            async with connected(h, h.server(state=store)) as client:
                reply = await client.call_tool("add_item", {"items": [{"content": f"t{n}"} for n in range(100)]})
                assert not reply.is_error and structured(reply)["ok"] == 100, text_of(reply)
            assert len(await h.active_items()) == 100
        finally:
            store.close()
    assert serialised.count(100) == 1  # the batch kept before the request, and the request: one serialisation

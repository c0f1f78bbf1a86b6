"""The command registry: one declaration per command kind, and the backend answers every declared kind."""

from __future__ import annotations

from tools_server.local.store import HANDLERS
from tools_server.sync.commands import ARGS_MODELS, COMMAND_ADAPTER, COMMAND_KINDS, CREATING_COMMANDS


def test_every_declared_command_kind_has_a_local_backend_handler() -> None:
    assert set(COMMAND_KINDS) - set(HANDLERS) == set()


def test_lookups_are_derived_from_the_declarations() -> None:
    assert set(ARGS_MODELS) == set(COMMAND_KINDS)
    for kind, cls in COMMAND_KINDS.items():
        assert ARGS_MODELS[kind] is cls.model_fields["args"].annotation
    assert {"item_add", "project_add", "section_add"} <= CREATING_COMMANDS
    assert {kind for kind, cls in COMMAND_KINDS.items() if cls.creates_temp_id} == CREATING_COMMANDS


def test_the_command_union_parses_each_kind_into_its_own_class() -> None:
    samples = {
        "item_add": {"content": "x"},
        "project_add": {"name": "P"},
        "section_add": {"name": "S", "project_id": "1"},
        "section_move": {"id": "1", "project_id": "2"},
        "project_reorder": {"projects": [{"id": "1", "child_order": 2}]},
        "section_reorder": {"sections": [{"id": "1", "section_order": 2}]},
        "label_add": {"name": "L"},
        "label_update_orders": {"id_order_mapping": {"1": 2}},
        "note_add": {"item_id": "1", "content": "c"},
        "note_update": {"id": "1", "content": "c"},
        "item_reorder": {"items": [{"id": "1", "child_order": 1}]},
        "reminder_add": {"item_id": "1", "type": "relative", "minute_offset": 5},
    }
    for kind, cls in COMMAND_KINDS.items():
        args = samples.get(kind, {"id": "1"})
        command = COMMAND_ADAPTER.validate_python({"type": kind, "uuid": "u-1", "args": args})
        assert type(command) is cls
        assert command.to_wire()["type"] == kind

"""The command registry: one declaration per command kind, stating all of its facts, and the backend answers every
declared kind."""

from __future__ import annotations

from typing import Any, Literal, get_args

import pytest

from tests.support import FixedClock, command
from tools_server.local.store import HANDLERS, SyncStore
from tools_server.sync.commands import (
    ARGS_MODELS,
    COMMAND_ADAPTER,
    COMMAND_KINDS,
    CREATING_COMMANDS,
    ItemIdArgs,
    SyncCommand,
)
from tools_server.sync.facts import (
    SET,
    Cascade,
    DeleteAdded,
    Facts,
    Inverse,
    MoveBack,
    NoUndo,
    OwnWrite,
    ReAdd,
    ReorderBack,
    RestoreFields,
    Unchanged,
)
from tools_server.sync.resource_types import RESOURCE_TYPES

# Arguments a kind's model accepts, for the kinds whose arguments are more than an id.
SAMPLE_ARGS: dict[str, dict[str, Any]] = {
    "item_add": {"content": "x"},
    "project_add": {"name": "P"},
    "section_add": {"name": "S", "project_id": "1"},
    "section_move": {"id": "1", "project_id": "2"},
    "project_reorder": {"projects": [{"id": "1", "child_order": 2}]},
    "section_reorder": {"sections": [{"id": "1", "section_order": 2}]},
    "label_add": {"name": "L"},
    "label_update_orders": {"id_order_mapping": {"1": 2}},
    "filter_add": {"name": "Important", "query": "priority 1"},
    "filter_update_orders": {"id_order_mapping": {"1": 2}},
    "note_add": {"item_id": "1", "content": "c"},
    "note_update": {"id": "1", "content": "c"},
    "item_reorder": {"items": [{"id": "1", "child_order": 1}]},
    "reminder_add": {"item_id": "1", "type": "relative", "minute_offset": 5},
    "share_project": {"project_id": "1", "email": "ana@example.com"},
    "delete_collaborator": {"project_id": "1", "email": "ana@example.com"},
}


def test_every_declared_command_kind_has_a_local_backend_handler() -> None:
    assert set(COMMAND_KINDS) - set(HANDLERS) == set()


def test_lookups_are_derived_from_the_declarations() -> None:
    assert set(ARGS_MODELS) == set(COMMAND_KINDS)
    for kind, cls in COMMAND_KINDS.items():
        assert ARGS_MODELS[kind] is cls.model_fields["args"].annotation
    assert {"item_add", "project_add", "section_add"} <= CREATING_COMMANDS
    assert {kind for kind, cls in COMMAND_KINDS.items() if cls.creates_temp_id} == CREATING_COMMANDS


def test_the_command_union_parses_each_kind_into_its_own_class() -> None:
    for kind, cls in COMMAND_KINDS.items():
        args = SAMPLE_ARGS.get(kind, {"id": "1"})
        command = COMMAND_ADAPTER.validate_python({"type": kind, "uuid": "u-1", "args": args})
        assert type(command) is cls
        assert command.to_wire()["type"] == kind


def test_every_declared_command_kind_states_each_of_its_facts() -> None:
    recipes = (NoUndo, DeleteAdded, RestoreFields, MoveBack, ReorderBack, Inverse, ReAdd)
    for kind, cls in COMMAND_KINDS.items():
        facts = cls.__dict__.get("facts")  # its own declaration: facts are never inherited
        assert isinstance(facts, Facts), kind
        assert facts.on in RESOURCE_TYPES, kind
        assert set(facts.touches) <= set(ARGS_MODELS[kind].model_fields), kind
        assert facts.cascades_to is None or isinstance(facts.cascades_to, Cascade), kind
        assert facts.own_write in get_args(OwnWrite), kind
        assert isinstance(facts.undo, recipes), kind
        named = [getattr(facts.undo, name, None) for name in ("by", "order_by", "nested_by", "recurring_by")]
        assert {n for n in named if n is not None} <= set(COMMAND_KINDS), kind


def test_a_command_kind_that_does_not_declare_its_facts_does_not_build() -> None:
    with pytest.raises(TypeError, match="declares its facts"):

        class Undeclared(SyncCommand[ItemIdArgs]):  # pyright: ignore[reportUnusedClass]
            type: Literal["undeclared_kind"] = "undeclared_kind"

    assert "undeclared_kind" not in COMMAND_KINDS


def test_a_command_kind_whose_facts_name_an_argument_it_lacks_does_not_build() -> None:
    with pytest.raises(TypeError, match="unknown resource type or argument"):

        class Misdeclared(SyncCommand[ItemIdArgs]):  # pyright: ignore[reportUnusedClass]
            type: Literal["misdeclared_kind"] = "misdeclared_kind"
            facts = Facts(
                "items",
                ("projects",),
                cascades_to=None,
                own_write="none",
                undo=RestoreFields(),
                unchanged=Unchanged(SET),
            )

    assert "misdeclared_kind" not in COMMAND_KINDS


def test_every_command_undo_reverses_declares_what_undo_checks_first() -> None:
    for kind, cls in COMMAND_KINDS.items():
        assert (cls.facts.unchanged is None) == isinstance(cls.facts.undo, NoUndo), kind
        held = cls.facts.unchanged.holds if cls.facts.unchanged is not None else ()
        if isinstance(cls.facts.undo, DeleteAdded) and RESOURCE_TYPES[cls.facts.on].tasks_by is not None:
            assert ("items", RESOURCE_TYPES[cls.facts.on].tasks_by) in held, kind


def test_a_command_kind_undo_reverses_without_a_check_does_not_build() -> None:
    with pytest.raises(TypeError, match="declares what undo checks first"):

        class Unchecked(SyncCommand[ItemIdArgs]):  # pyright: ignore[reportUnusedClass]
            type: Literal["unchecked_kind"] = "unchecked_kind"
            facts = Facts("items", ("id",), cascades_to=None, own_write="none", undo=RestoreFields(), unchanged=None)

    with pytest.raises(TypeError, match="names a field its objects do not have"):

        class Miscompared(SyncCommand[ItemIdArgs]):  # pyright: ignore[reportUnusedClass]
            type: Literal["miscompared_kind"] = "miscompared_kind"
            facts = Facts(
                "items",
                ("id",),
                cascades_to=None,
                own_write="none",
                undo=RestoreFields(),
                unchanged=Unchanged(("nme",)),
            )


def test_the_local_backend_answers_every_declared_command_kind() -> None:
    store = SyncStore(":memory:", now=FixedClock())
    try:
        for kind in COMMAND_KINDS:
            sent = command(kind, SAMPLE_ARGS.get(kind, {"id": "6NoSuchObject000"}), temp_id="t1")
            answer = store.sync(commands=[sent])["sync_status"][sent["uuid"]]
            # Ok, or an error about its arguments: never an unknown command type.
            assert answer == "ok" or answer["error_extra"].get("argument") != "type", (kind, answer)
    finally:
        store.close()

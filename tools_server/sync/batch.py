"""Batching for the Sync endpoint: uuids, request bodies within the documented limits, chunking, temp ids.

Pure: the client sends what these build, byte for byte, on every attempt.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from tools_server.sync.commands import (
    COMMAND_ADAPTER,
    MAX_BODY_BYTES,
    MAX_COMMANDS_PER_REQUEST,
    Command,
    DueInput,
    commands_json,
)

NewUuid = Callable[[], str]

# Room left in each request body for sync_token, resource_types and JSON framing.
_BODY_HEADROOM = 8 * 1024
_ID_ARGS = ("id", "project_id", "section_id", "parent_id", "item_id")


# The variant nibble of an RFC 9562 uuid is 10xx: keep the random low two bits, set the high ones.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
# Random bytes for this many uuids are read at once: a read per uuid was a third of a uuid's cost (0.45 of 0.75 us,
# 0.15 ms of planning a 100-task add that makes 200).
_UUIDS_PER_READ = 64


class _Draws(threading.local):
    """This thread's unused random hex digits: a thread never hands out digits another thread also holds."""

    def __init__(self) -> None:
        self.digits = ""
        self.at = 0


_draws = _Draws()


def _forget_draws() -> None:
    # A forked child starts with its parent's unused digits: it would make the uuids the parent makes next, and the
    # backend would drop the second command of a uuid as already done.
    _draws.digits, _draws.at = "", 0


os.register_at_fork(after_in_child=_forget_draws)


def new_uuid4() -> str:
    """A random (version 4) uuid as text; str(uuid.uuid4()) costs 2.5 us, which was a fifth of planning a task."""
    draws = _draws
    at = draws.at
    if at >= len(draws.digits):
        draws.digits, at = os.urandom(16 * _UUIDS_PER_READ).hex(), 0
    h = draws.digits[at : at + 32]
    draws.at = at + 32
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def encode_request(
    *, commands: Sequence[Command], sync_token: str, resource_types: Sequence[str]
) -> tuple[bytes, tuple[str, ...]]:
    """The request body and the commands' uuids; ``ValueError`` if the backend would refuse it (reference §5).

    Checked here, before anything is sent, because what Todoist does with an oversized batch is undocumented and a
    duplicate uuid inside one batch cannot be reported per command (``sync_status`` is keyed by uuid).
    """
    if isinstance(resource_types, str):
        # A bare string is a Sequence[str] too, and would be sent as one resource type per character.
        raise TypeError("resource_types must be a sequence of names, not a string")
    if len(commands) > MAX_COMMANDS_PER_REQUEST:
        raise ValueError(
            f"{len(commands)} commands in one Sync request; the limit is {MAX_COMMANDS_PER_REQUEST} (split them)"
        )
    uuids = tuple(command.uuid for command in commands)
    seen: set[str] = set()
    for uuid in uuids:
        if uuid in seen:
            raise ValueError(f"two commands in one Sync request share the uuid {uuid!r}")
        seen.add(uuid)
    payload: dict[str, Any] = {"sync_token": sync_token}
    if resource_types:
        payload["resource_types"] = list(resource_types)
    # Compact and UTF-8 (not \u escapes): never larger than the estimate the chunker in commands.py budgets with.
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    if commands:
        body = body[:-1] + b',"commands":' + commands_json(commands) + b"}"
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"Sync request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES} (split the commands)")
    return body, uuids


def command_size(command: Command) -> int:
    return len(json.dumps(command.to_wire(), separators=(",", ":"), ensure_ascii=False).encode())


# A command whose free text, at the worst JSON expansion (6 bytes for an escaped control character), stays under this
# cannot reach 10 KiB: its other fields (ids, dates, numbers, key names) are bounded by the input limits to well under
# 2 KiB. So 100 of them fit in 1 MiB and need not be serialised just to be measured.
_SMALL_TEXT = 8192


def _text_length(command: Command) -> int:
    fields = vars(command.args)
    total = 0
    for name in ("content", "description", "name"):
        value = fields.get(name)
        if isinstance(value, str):
            total += len(value)
    labels = fields.get("labels")
    if isinstance(labels, list):
        total += sum(len(label) + 4 for label in labels)  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    due = fields.get("due")
    if isinstance(due, DueInput):
        total += len(due.string or "")
    return total


def chunk_commands(
    commands: Sequence[Command], *, max_count: int = MAX_COMMANDS_PER_REQUEST, max_bytes: int = MAX_BODY_BYTES
) -> list[list[Command]]:
    """Split in order into requests of at most ``max_count`` commands and ``max_bytes`` of body."""
    budget = max_bytes - _BODY_HEADROOM
    chunks: list[list[Command]] = []
    current: list[Command] = []
    used = 0
    small = max_count * (10 * 1024) <= budget
    for command in commands:
        # Bytes are counted exactly only when a batch of small commands could not fit anyway, or this one is big.
        size = 10 * 1024 if small and _text_length(command) * 6 < _SMALL_TEXT else command_size(command) + 1
        if current and (len(current) >= max_count or used + size > budget):
            chunks.append(current)
            current, used = [], 0
        current.append(command)
        used += size
    if current:
        chunks.append(current)
    return chunks


def rewrite_temp_ids(command: Command, mapping: dict[str, str]) -> Command:
    """Replace temp ids created by earlier requests with their real ids.

    Temp ids only resolve inside the request that declared them, so a child planned into a later chunk than its
    parent must carry the parent's real id. Rewriting happens before the chunk is first sent, so every retry of
    it is still byte-identical.
    """
    fields = vars(command.args)
    if not mapping or not any(fields.get(name) in mapping for name in _ID_ARGS):
        return command  # the common case, checked without serialising the command
    args = command.args.model_dump(mode="json", exclude_unset=True)
    for name in _ID_ARGS:
        value = args.get(name)
        if isinstance(value, str) and value in mapping:
            args[name] = mapping[value]
    wire = command.to_wire() | {"args": args}
    return COMMAND_ADAPTER.validate_python(wire)

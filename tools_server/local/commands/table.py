"""The command table: each handler enters it where it is defined, under its own name (the command type), so a new
command type is its handler in its family's module and nothing else."""

from __future__ import annotations

from tools_server.local.tx import Handler

TABLE: dict[str, Handler] = {}


def command(handler: Handler, name: str | None = None) -> Handler:
    """Register ``handler`` for the command type it is named after (or ``name``, for a handler made by a factory such
    as ``orders.reorder``); a type handled twice is a bug, caught at import."""
    key: str = name if name is not None else getattr(handler, "__name__", "")
    if key in TABLE:
        raise TypeError(f"command {key!r} has two handlers")
    TABLE[key] = handler
    return handler

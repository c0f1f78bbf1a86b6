"""How tool arguments are checked and how their errors read: strict top-level parameters, and short messages that
name the field (pydantic's own text is long and links to its docs)."""

from __future__ import annotations

import difflib

from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from pydantic import ConfigDict, ValidationError


def strict_arguments(metadata: FuncMetadata) -> None:
    """Validate a tool's top-level parameters strictly too: the SDK builds their model in lax mode, where
    `dry_run: "false"` is False and `confirm: "4"` is 4. Its JSON-in-a-string decoding of lists and objects (for
    clients that send `items` as a string) runs before validation and is kept."""
    lax = metadata.arg_model
    metadata.arg_model = type(lax.__name__, (lax,), {"model_config": ConfigDict(strict=True), "__module__": __name__})


def closest_argument(word: str, known: set[str]) -> str:
    """' (did you mean dry_run?)' for a misspelt argument, else the expected names."""
    folded = {k.replace("_", "").lower(): k for k in known}
    match = folded.get(word.replace("_", "").replace("-", "").lower()) or next(
        iter(difflib.get_close_matches(word, sorted(known), n=1)), None
    )
    return f" (did you mean {match}?)" if match else f" (expected: {', '.join(sorted(known))})"


def compact_errors(error: ValidationError, limit: int = 5) -> str:
    """`items.0.priority: must be <= 4; ...` for at most ``limit`` errors."""
    parts: list[str] = []
    for detail in error.errors()[:limit]:
        where = ".".join(str(p) for p in detail["loc"] if not str(p).endswith("Arguments")) or "arguments"
        message = str(detail["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    if error.error_count() > limit:
        parts.append(f"+{error.error_count() - limit} more")
    return "; ".join(parts)

"""`tools-server call TOOL [JSON]`: one tool call through the server code MCP uses, with handles kept between calls."""

from __future__ import annotations

import json
import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from tools_server.cli.backends import freeze_startup_heap
from tools_server.cli.checks import EXIT_OK, EXIT_PARTIAL, EXIT_TOOL_REFUSED
from tools_server.cli.output import print_output
from tools_server.cli.state_option import file_state
from tools_server.clock import SYSTEM_CLOCK
from tools_server.server import Backend, build_server
from tools_server.state import SessionRegistry, StateRefusal, token_fingerprint, token_secret

# The in-process MCP client has no HTTP headers, so the server keys its session as a stdio one.
_CONNECTION = "stdio"


async def run_call(
    opened: AbstractAsyncContextManager[Backend],
    db: Path,
    tool: str,
    arguments: dict[str, Any],
    as_json: bool,
    call_budget: float,
) -> int:
    """Run ``tool`` and print what the model would read (or the structured result); returns the exit status."""
    from mcp import Client  # the client side is only needed here

    warnings: list[str] = []
    async with opened as backend:
        token = backend.account_key(backend.default_token)
        fingerprint = token_fingerprint(token)
        # Cursors, undo handles, the last write and resend batches live in the file store, written as they change
        # (a batch before its first request), so a call killed mid-write leaves its batch to the next one.
        with file_state(db, SYSTEM_CLOCK, warnings) as store:
            registry = SessionRegistry(clock=SYSTEM_CLOCK, state=store)
            # The session the server will look up for this token (the same key, account and secret).
            session = registry.get(f"{fingerprint}:{_CONNECTION}", account=fingerprint, secret=token_secret(token))
            account = store.account(fingerprint, token_secret(token)) if store is not None else None
            for note in store.notes if store is not None else ():
                print(f"tools-server: {note}", file=sys.stderr)
            if account is not None:
                # The mirror saved by the last call: this one syncs incrementally from it.
                kept = account.load_mirror()
                if kept is not None:
                    session.mirror, session.sync_token = kept
            server = build_server(
                backend, clock=SYSTEM_CLOCK, sessions=registry, call_budget=call_budget, local_files=True
            )
            freeze_startup_heap()
            async with Client(server) as client:
                result = await client.call_tool(tool, arguments)
            if account is not None and session.mirror.synced:
                try:
                    account.save_mirror(session.mirror, session.sync_token)
                except StateRefusal as exc:
                    # What the backend did stands: a write that landed is reported as it is, never as a crash; the
                    # next call only syncs in full.
                    print(f"tools-server: warning: the account's copy was not saved ({exc})", file=sys.stderr)
    for warning in warnings:
        print(f"tools-server: warning: {warning}; the next call starts without this call's cursor, undo or resend "
              "handles", file=sys.stderr)  # fmt: skip
    text = "\n".join(block.text for block in result.content if block.type == "text")
    if result.is_error:
        print(text, file=sys.stderr)
        return EXIT_TOOL_REFUSED
    content: Any = result.structured_content
    print_output(json.dumps(content, indent=2, ensure_ascii=False) if as_json else text)
    # Scripts can tell a partial write from a clean one: 3 when any task failed or was not confirmed, or a part of
    # one (a reminder) failed.
    failed: Any = content.get("failed") if isinstance(content, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    failures: Any = content.get("failures") if isinstance(content, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return EXIT_PARTIAL if failed or failures else EXIT_OK

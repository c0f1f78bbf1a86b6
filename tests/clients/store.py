"""What the local store holds after a framework's calls, read with a plain Sync request as any other client would:
a round trip is shown by the store, not only by what the server said."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tools_server.cli.backends import LOCAL_SYNC_URL
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport


async def live_contents(home: Path) -> list[str]:
    """The contents of the tasks not deleted in the store the console script used under ``home`` (tests.support
    local_env puts it at home/tasks.db)."""
    store = SyncStore(str(home / "tasks.db"))
    try:
        async with httpx.AsyncClient(transport=LocalTransport(store)) as http:
            body = {"sync_token": "*", "resource_types": ["items"]}
            response = await http.post(LOCAL_SYNC_URL, json=body, headers={"Authorization": "Bearer local"})
    finally:
        store.close()
    items: list[dict[str, Any]] = response.json()["items"]
    return [str(i["content"]) for i in items if not i["is_deleted"]]

"""Plain Sync requests against a local store, for the tests of the local backend's commands and reads."""

from __future__ import annotations

from typing import Any, cast

from tests.support import command
from tools_server.local.store import SyncStore

ALL = ["all"]
cmd = command  # the one Sync command builder (tests/support.py)


def run(store: SyncStore, *commands: dict[str, Any]) -> dict[str, Any]:
    """Run commands; every one must succeed. Returns temp id -> real id."""
    response = store.sync(commands=commands)
    failed = {u: s for u, s in response["sync_status"].items() if s != "ok"}
    assert not failed, failed
    mapping: dict[str, str] = response["temp_id_mapping"]
    return mapping


def status(store: SyncStore, command: dict[str, Any]) -> Any:
    return store.sync(commands=[command])["sync_status"][command["uuid"]]


def full(store: SyncStore) -> dict[str, Any]:
    return store.sync(sync_token="*", resource_types=ALL)


def token(store: SyncStore) -> str:
    value: str = store.sync(sync_token="*", resource_types=["user"])["sync_token"]
    return value


def since(store: SyncStore, sync_token: str) -> dict[str, Any]:
    response = store.sync(sync_token=sync_token, resource_types=ALL)
    assert response["full_sync"] is False
    return response


def by_id(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in objects}


def assert_error(result: Any, tag: str, argument: str | None = None) -> None:
    assert isinstance(result, dict), result
    result = cast(dict[str, Any], result)
    assert result["error_tag"] == tag, result
    assert set(result) == {"error", "error_code", "error_extra", "error_tag", "http_code"}
    if argument is not None:
        assert result["error_extra"]["argument"] == argument, result

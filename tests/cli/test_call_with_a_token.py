"""`tools-server call` as the README's token set-up runs it on a fresh machine: TODOIST_API_TOKEN and
TODOIST_SYNC_URL pointed at a real Sync endpoint (local-api), a HOME with no data directory yet."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import cast

import httpx
import pytest

from tests.support import SCRIPT, local_api

pytestmark = pytest.mark.slow
TOKEN = "secret"


def _call(home: Path, url: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TODOIST_API_TOKEN": TOKEN, "TODOIST_SYNC_URL": url}
    return subprocess.run(
        [str(SCRIPT), "call", *args], env={**env, **extra}, capture_output=True, text=True, timeout=60, check=False
    )


def _contents(url: str) -> list[str]:
    body = {"sync_token": "*", "resource_types": '["items"]'}
    answer = httpx.post(url, data=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    return sorted(item["content"] for item in answer.json()["items"])


def test_a_first_call_on_a_fresh_home_reports_its_write_and_the_next_call_undoes_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with local_api(tmp_path / "account.db", token=TOKEN) as sync:
        added = _call(home, sync.url, "add_item", json.dumps({"items": [{"content": "Buy milk"}]}))
        assert added.returncode == 0, added.stderr
        assert "Added 1 task: 'Buy milk'" in added.stdout
        assert _contents(sync.url) == ["Buy milk"]
        assert (home / ".local" / "share" / "tools-server").is_dir()
        undone = _call(home, sync.url, "undo")
        assert undone.returncode == 0, undone.stderr
        assert "reverted 1 task" in undone.stdout
        assert _contents(sync.url) == []
        assert TOKEN not in added.stdout + added.stderr + undone.stdout + undone.stderr


def test_a_write_whose_state_cannot_be_kept_is_reported_as_it_landed_with_a_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the state's directory would go")
    with local_api(tmp_path / "account.db", token=TOKEN) as sync:
        added = _call(
            tmp_path, sync.url, "add_item", json.dumps({"items": [{"content": "Once"}]}),
            TOOLS_SERVER_DB=str(blocker / "tasks.db"),
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert "Added 1 task: 'Once'" in added.stdout
        assert "warning: the state file" in added.stderr and "cannot be kept" in added.stderr
        assert "Traceback" not in added.stderr
        assert _contents(sync.url) == ["Once"]


def _sync(url: str, *commands: Mapping[str, object]) -> dict[str, object]:
    body = {"sync_token": "*", "resource_types": ["projects"], "commands": list(commands)}
    answer = httpx.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    result: dict[str, object] = answer.json()
    return result


def test_a_project_archived_before_the_session_is_listed_and_unarchived_by_name(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with local_api(tmp_path / "account.db", token=TOKEN) as sync:
        made = _sync(sync.url, *({"type": "project_add", "uuid": f"u{n}", "temp_id": n, "args": {"name": n}}
                                 for n in ("Old taxes", "Old trip")))  # fmt: skip
        ids = cast(dict[str, str], made["temp_id_mapping"])
        _sync(sync.url, *({"type": "project_archive", "uuid": f"a{n}", "args": {"id": i}} for n, i in ids.items()))
        # The documented read, paged: one project a page, the cursor to the next.
        rest = sync.url.removesuffix("/sync") + "/projects/archived"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        first = httpx.get(rest, params={"limit": "1"}, headers=auth, timeout=30).json()
        second = httpx.get(rest, params={"limit": "1", "cursor": first["next_cursor"]}, headers=auth, timeout=30)
        paged = [p["name"] for p in [*first["results"], *second.json()["results"]]]
        assert sorted(paged) == ["Old taxes", "Old trip"] and second.json()["next_cursor"] is None

        listed = _call(home, sync.url, "query_changes", json.dumps({"archived": True}))
        assert listed.returncode == 0, listed.stderr
        assert f"Archived projects (id): Old taxes ({ids['Old taxes']}), Old trip ({ids['Old trip']})" in listed.stdout
        back = _call(home / "other", sync.url, "manage_projects",
                     json.dumps({"ops": [{"op": "unarchive", "kind": "project", "id": "Old trip"}]}))  # fmt: skip
        assert back.returncode == 0, back.stderr
        assert "Applied 1" in back.stdout, back.stdout
        active = cast(list[dict[str, object]], _sync(sync.url)["projects"])
        assert "Old trip" in [p["name"] for p in active] and "Old taxes" not in [p["name"] for p in active]

"""`tools-server call` as the README's token set-up runs it on a fresh machine: TODOIST_API_TOKEN and
TODOIST_SYNC_URL pointed at a real Sync endpoint (local-api), a HOME with no data directory yet."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

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

"""`tools-server local-api --account TOKEN:EMAIL[:NAME]`: several accounts in one store, each used by `tools-server
call` in its own processes with its own token and HOME (issue 23, item 1): share, accept, assign, find, unshare."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import SCRIPT, local_api

pytestmark = pytest.mark.slow
ANN, BEA = "token-ann", "token-bea"


def _call(home: Path, url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TODOIST_API_TOKEN": token, "TODOIST_SYNC_URL": url}
    return subprocess.run(
        [str(SCRIPT), "call", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _ok(home: Path, url: str, token: str, tool: str, arguments: dict[str, Any]) -> str:
    done = _call(home, url, token, tool, json.dumps(arguments))
    assert done.returncode == 0, done.stdout + done.stderr
    assert token not in done.stdout + done.stderr
    return done.stdout


def _sync(url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    return answer


def test_two_accounts_of_one_local_api_share_and_assign_through_call(tmp_path: Path) -> None:
    ann, bea = tmp_path / "ann", tmp_path / "bea"
    account = ["--account", f"{BEA}:bea@example.com:Bea Bauer"]
    with local_api(tmp_path / "store.db", token=ANN, extra_args=account) as sync:
        assert _sync(sync.url, "someone-else", {"sync_token": "*"}).get("error_tag") == "AUTH_INVALID_TOKEN"
        _ok(ann, sync.url, ANN, "manage_projects", {"ops": [{"op": "add", "kind": "project", "name": "Trip"}]})
        share = {"op": "share", "kind": "project", "id": "Trip", "email": "bea@example.com"}
        _ok(ann, sync.url, ANN, "manage_projects", {"ops": [share]})
        notices = _sync(sync.url, BEA, {"sync_token": "*", "resource_types": ["live_notifications"]})
        [invite] = notices["live_notifications"]
        accept = {"type": "accept_invitation", "uuid": str(uuid.uuid4()),
                  "args": {k: invite[k] for k in ("invitation_id", "invitation_secret")}}  # fmt: skip
        assert _sync(sync.url, BEA, {"commands": [accept]})["sync_status"][accept["uuid"]] == "ok"

        assert "Trip" in _ok(bea, sync.url, BEA, "query_changes", {})
        _ok(
            ann,
            sync.url,
            ANN,
            "add_item",
            {"items": [{"content": "book hotel", "project": "Trip", "assignee": "Bea Bauer"}]},
        )
        found = _ok(bea, sync.url, BEA, "find_items", {"filter": "assigned to: me"})
        assert "book hotel · #Trip · assigned to me by Local user" in found, found

        _ok(ann, sync.url, ANN, "manage_projects", {"ops": [{**share, "op": "unshare"}]})
        after = _ok(bea, sync.url, BEA, "query_changes", {})
        assert "Trip" not in after and "book hotel" not in after


def test_an_account_option_without_an_email_or_with_a_taken_token_stops_the_start(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    for given, said in (("no-email", "TOKEN:EMAIL"), (f"{ANN}:bea@example.com", "its own token")):
        argv = [str(SCRIPT), "local-api", "--db", str(tmp_path / "s.db"), "--token", ANN, "--account", given]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert ANN not in done.stderr

"""`tools-server login` / `whoami` / `logout` as a user runs them, in separate processes with a fresh HOME, against
`tools-server local-api` (its stand-in for Todoist's authorization server, and its Sync endpoint). The browser is
scripted (tests/scripted_browser.py, started by `webbrowser` through BROWSER, as any browser is). No system keyring
exists here (PYTHON_KEYRING_BACKEND names keyring's "fail" backend), so the token goes to the 0600 file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from mcp import Client, StdioServerParameters

from tests.scripted_browser import answer
from tests.support import SCRIPT, Server, local_api

pytestmark = pytest.mark.slow  # subprocess servers and commands

ROOT = Path(__file__).resolve().parents[2]
BROWSER = f"{sys.executable} {ROOT / 'tests' / 'scripted_browser.py'} %s"


def _env(home: Path, sync: Server, **extra: str) -> dict[str, str]:
    base = sync.url.removesuffix("/api/v1/sync")
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "TODOIST_SYNC_URL": sync.url,
        "TOOLS_SERVER_AUTH_SERVER": base,
        "TOOLS_SERVER_BACKEND": "todoist",  # never the embedded backend: without a login there is nothing to use
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "BROWSER": BROWSER,
        **extra,
    }


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def _stored(home: Path) -> dict[str, Any]:
    return json.loads((home / ".config" / "tools-server" / "login.json").read_text())


def _sync_status(sync: Server, token: str) -> int:
    data = {"sync_token": "*", "resource_types": '["user"]'}
    return httpx.post(sync.url, data=data, headers={"Authorization": f"Bearer {token}"}).status_code


def test_login_in_the_browser_then_call_works_with_no_token_in_the_environment_and_logout_asks_to_log_in(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with local_api(tmp_path / "account.db") as sync:
        env = _env(home, sync)
        logged = _run(env, "login")
        assert logged.returncode == 0, logged.stderr
        assert logged.stdout.strip() == "Logged in to Todoist as Local user <local@localhost>."
        assert "Opened your browser" in logged.stderr
        assert "login.json (readable by you only: no system keyring was found)" in logged.stderr
        path = home / ".config" / "tools-server" / "login.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        stored = _stored(home)
        token = stored["access_token"]
        assert stored["scope"] == "data:read_write,data:delete" and stored["client_id"].startswith("tdd_")
        assert token not in logged.stdout + logged.stderr  # the token is never printed

        added = _run(env, "call", "add_item", '{"items": [{"content": "Added after login"}]}')
        assert added.returncode == 0, added.stderr
        seen = _run(env, "call", "query_changes")
        assert seen.returncode == 0, seen.stderr
        assert "Added after login" in seen.stdout
        # It is the local-api account that holds it: read back with local-api's own token.
        read = {"sync_token": "*", "resource_types": '["items"]'}
        items = httpx.post(sync.url, data=read, headers={"Authorization": "Bearer secret"}).json()["items"]
        assert [i["content"] for i in items] == ["Added after login"]

        who = _run(env, "whoami")
        assert who.returncode == 0, who.stderr
        assert who.stdout.startswith("Local user <local@localhost> (logged in at http://127.0.0.1:")

        out = _run(env, "logout")
        assert out.returncode == 0, out.stderr
        assert "the token was revoked" in out.stderr
        assert not path.exists()
        assert _sync_status(sync, token) == 401  # revoked at the authorization server, not only forgotten here

        after = _run(env, "call", "query_changes")
        assert after.returncode == 2
        assert after.stdout == ""
        lines = after.stderr.strip().splitlines()
        assert len(lines) == 1 and "run tools-server login" in lines[0], after.stderr


def test_an_expired_login_is_renewed_and_a_stored_token_todoist_refuses_is_one_line_saying_to_log_in_again(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with local_api(tmp_path / "account.db") as sync:
        env = _env(home, sync)
        assert _run(env, "login", "--scopes", "data:read_write").returncode == 0
        stored = _stored(home)
        assert stored["scope"] == "data:read_write"
        added = _run(env, "call", "add_item", '{"items": [{"content": "Undone after the renewal"}]}')
        assert added.returncode == 0, added.stderr
        # The token's hour is over: the next command renews it with the refresh token before using it, and the
        # account's state (the last write, to undo) is still its own: it is keyed by the login, not by the token.
        path = home / ".config" / "tools-server" / "login.json"
        path.write_text(json.dumps({**stored, "expires_at": 0}))
        renewed = _run(env, "call", "undo")
        assert renewed.returncode == 0, renewed.stderr
        assert "Undone after the renewal" in renewed.stdout
        read = {"sync_token": "*", "resource_types": '["items"]'}
        assert httpx.post(sync.url, data=read, headers={"Authorization": "Bearer secret"}).json()["items"] == []
        old, stored = stored, _stored(home)
        assert stored["access_token"] != old["access_token"] and stored["refresh_token"] != old["refresh_token"]
        assert stored["expires_at"] > 0 and stat.S_IMODE(path.stat().st_mode) == 0o600
        assert _sync_status(sync, old["access_token"]) == 401
        base = sync.url.removesuffix("/api/v1/sync")
        revoked = httpx.post(
            base + "/api/v1/revoke",
            data={"token": stored["access_token"]},
            auth=(stored["client_id"], stored["client_secret"]),
        )
        assert revoked.status_code == 200
        refused = _run(env, "call", "query_changes")
        assert refused.returncode == 1
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert lines[0].endswith("run tools-server login"), lines[0]
        assert stored["access_token"] not in refused.stderr


def test_without_a_browser_login_prints_the_address_and_a_refusal_stores_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with local_api(tmp_path / "account.db") as sync:
        env = _env(home, sync)
        del env["BROWSER"]
        for decision, code in (("deny", 7), ("allow", 0)):
            process = subprocess.Popen(
                [str(SCRIPT), "login", "--no-browser"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            assert process.stderr is not None
            first = process.stderr.readline()
            assert first.startswith("Open this address in a browser on this computer"), first
            url = process.stderr.readline().strip()
            assert url.startswith(sync.url.removesuffix("/api/v1/sync") + "/oauth/authorize?")
            answer(url, decision)
            out, err = process.communicate(timeout=60)
            assert process.returncode == code, err
            if decision == "deny":
                assert "did not authorize tools-server (access_denied)" in err
                assert not (home / ".config" / "tools-server" / "login.json").exists()
            else:
                assert out.strip() == "Logged in to Todoist as Local user <local@localhost>."


@pytest.mark.anyio
async def test_a_stdio_server_whose_token_was_renewed_by_another_command_picks_up_the_new_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with local_api(tmp_path / "account.db") as sync:
        env = _env(home, sync)
        assert (await anyio.to_thread.run_sync(lambda: _run(env, "login"))).returncode == 0
        async with Client(StdioServerParameters(command=str(SCRIPT), args=[], env=env)) as client:
            first = await client.call_tool("query_changes", {})
            assert not first.is_error, first
            # Another command renews the login (its hour is over): the stand-in revokes the token the server holds.
            stored = _stored(home)
            path = home / ".config" / "tools-server" / "login.json"
            path.write_text(json.dumps({**stored, "expires_at": 0}))
            renewed = await anyio.to_thread.run_sync(lambda: _run(env, "whoami"))
            assert renewed.returncode == 0, renewed.stderr
            assert await anyio.to_thread.run_sync(_sync_status, sync, stored["access_token"]) == 401
            added = await client.call_tool("add_item", {"items": [{"content": "After the renewal"}]})
            assert not added.is_error, added
        read = {"sync_token": "*", "resource_types": '["items"]'}
        async with httpx.AsyncClient() as http:
            reply = await http.post(sync.url, data=read, headers={"Authorization": "Bearer secret"})
        assert [i["content"] for i in reply.json()["items"]] == ["After the renewal"]


def test_where_a_system_keyring_exists_the_token_goes_there_and_logout_takes_it_out(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with local_api(tmp_path / "account.db") as sync:
        env = _env(home, sync, PYTHON_KEYRING_BACKEND="tests.keyring_backend.FileKeyring", PYTHONPATH=str(ROOT))
        logged = _run(env, "login")
        assert logged.returncode == 0, logged.stderr
        assert "The token is kept in the system keyring." in logged.stderr
        assert not (home / ".config" / "tools-server" / "login.json").exists()
        kept = json.loads((home / "test-keyring.json").read_text())
        assert list(kept) == ["tools-server/todoist-login"]
        assert json.loads(kept["tools-server/todoist-login"])["access_token"]
        seen = _run(env, "call", "query_changes")
        assert seen.returncode == 0, seen.stderr
        assert _run(env, "logout").returncode == 0
        assert json.loads((home / "test-keyring.json").read_text()) == {}

"""The local account's timezone and week start as a user sets them: every command (stdio, `call`) reads
TOOLS_SERVER_LOCAL_TIMEZONE / _START_DAY, a new local store takes the machine's zone, and an existing store keeps its
own zone until a setting changes it. Read back from what the model reads: the overview's account line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.support import SCRIPT, local_env, text_of

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def _call(home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "call", "query_changes"],
        env=local_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_call_reads_the_account_zone_and_week_start_from_the_environment(tmp_path: Path) -> None:
    done = _call(tmp_path, TOOLS_SERVER_LOCAL_TIMEZONE="Pacific/Kiritimati", TOOLS_SERVER_LOCAL_START_DAY="7")
    assert done.returncode == 0, done.stderr
    assert "Account: timezone Pacific/Kiritimati," in done.stdout
    assert "week starts Sunday" in done.stdout


def test_a_new_local_store_takes_the_machines_zone_and_keeps_it_when_the_machine_moves(tmp_path: Path) -> None:
    first = _call(tmp_path, TZ="Europe/Madrid")
    assert first.returncode == 0, first.stderr
    assert "Account: timezone Europe/Madrid," in first.stdout
    # The store's own setting stands: a laptop travelling does not move the user's "today" behind their back.
    later = _call(tmp_path, TZ="Asia/Tokyo")
    assert "Account: timezone Europe/Madrid," in later.stdout
    changed = _call(tmp_path, TZ="Asia/Tokyo", TOOLS_SERVER_LOCAL_TIMEZONE="America/Bogota")
    assert "Account: timezone America/Bogota," in changed.stdout


def test_a_zone_this_machine_does_not_know_stops_the_start_naming_the_variable(tmp_path: Path) -> None:
    done = _call(tmp_path, TOOLS_SERVER_LOCAL_TIMEZONE="Mars/Olympus_Mons")
    assert done.returncode == 2
    assert "TOOLS_SERVER_LOCAL_TIMEZONE" in done.stderr and "Mars/Olympus_Mons" in done.stderr
    assert "Traceback" not in done.stderr


async def test_the_stdio_server_reads_the_account_zone_from_the_environment(tmp_path: Path) -> None:
    env = local_env(tmp_path, TOOLS_SERVER_LOCAL_TIMEZONE="Asia/Kathmandu")
    async with Client(StdioServerParameters(command=str(SCRIPT), args=[], env=env)) as client:
        overview = text_of(await client.call_tool("query_changes", {}))
    assert "Account: timezone Asia/Kathmandu," in overview
    assert os.environ.get("TOOLS_SERVER_LOCAL_TIMEZONE") is None  # nothing leaked into the test process

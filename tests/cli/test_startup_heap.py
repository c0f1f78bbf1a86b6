"""Garbage collection while a command starts: paused while the modules and the server are built (their objects live as
long as the process), resumed with them frozen out of later collections (and young collections less often) before
the first request is served, and never left off when a command ends, whichever way."""

from __future__ import annotations

import gc
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tools_server.cli.call as call
import tools_server.local.app as local_app
import tools_server.server as server_wing
import tools_server.server.stdio as stdio
from tests.support import local_env
from tools_server.cli.backends import YOUNG_COLLECTION_EVERY
from tools_server.cli.checks import EXIT_CONFIG
from tools_server.cli.main import main


def _no_handler(*_: object) -> None:
    pass


@pytest.fixture
def fresh_gc(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """What the command saw of the collector; the test process's own state is put back afterwards."""
    monkeypatch.setattr(signal, "signal", _no_handler)  # stdio's Ctrl-C handler would outlive the test
    gc.unfreeze()
    seen: dict[str, Any] = {}
    real_build = server_wing.build_server

    def build(*args: Any, **kwargs: Any) -> Any:
        seen["collecting while building"] = gc.isenabled()
        return real_build(*args, **kwargs)

    monkeypatch.setattr(server_wing, "build_server", build)
    monkeypatch.setattr(call, "build_server", build)  # bound when cli/call.py was imported
    threshold = gc.get_threshold()
    try:
        yield seen
    finally:
        gc.freeze()  # what the test process froze once its tests were collected (tests/conftest.py), and the rest
        gc.set_threshold(*threshold)
        gc.enable()


def test_stdio_builds_its_server_without_collecting_and_serves_with_collection_on_and_the_start_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_gc: dict[str, Any]
) -> None:
    async def serve(_server: object) -> None:
        fresh_gc["collecting while serving"] = gc.isenabled()
        fresh_gc["frozen objects"] = gc.get_freeze_count()
        fresh_gc["young collection every"] = gc.get_threshold()[0]

    monkeypatch.setattr(stdio, "run_stdio", serve)
    assert main([], local_env(tmp_path)) == 0
    frozen = fresh_gc.pop("frozen objects")
    assert fresh_gc == {
        "collecting while building": False,
        "collecting while serving": True,
        "young collection every": YOUNG_COLLECTION_EVERY,
    }
    assert frozen > 10_000  # the modules, classes and schemas of the start
    assert gc.isenabled()


def test_local_api_serves_with_collection_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_gc: dict[str, Any]
) -> None:
    def serve(**_settings: object) -> None:
        fresh_gc["collecting while serving"] = gc.isenabled()
        fresh_gc["frozen objects"] = gc.get_freeze_count()

    monkeypatch.setattr(local_app, "serve", serve)
    assert main(["local-api", "--port", "0", "--token", "t"], local_env(tmp_path)) == 0
    assert fresh_gc["collecting while serving"] is True
    assert fresh_gc["frozen objects"] > 0


def test_a_one_shot_call_and_a_refused_start_leave_collection_on(
    tmp_path: Path, fresh_gc: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["call", "find_items", '{"filter": "today"}'], local_env(tmp_path)) == 0
    assert fresh_gc["collecting while building"] is False
    assert gc.isenabled() and gc.get_freeze_count() > 0  # frozen once built, before the call ran

    gc.unfreeze()
    assert main([], local_env(tmp_path, TOOLS_SERVER_BACKEND="nowhere")) == EXIT_CONFIG
    assert "TOOLS_SERVER_BACKEND" in capsys.readouterr().err
    assert gc.isenabled()

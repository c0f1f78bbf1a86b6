"""Shared fixtures: every async test runs on asyncio through anyio's pytest plugin."""

import gc

import pytest
from hypothesis import settings

# Collecting imports the project, mcp, pydantic and every test module: objects that live as long as the session, and
# each collection on the way walked the growing heap again (collecting the fast lane: 7.6 -> 5.4 s here, in each
# worker). Collection resumes once the tests are collected, with that heap frozen out of later full collections, as
# the server does once started (cli/backends.py).
gc.disable()


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        gc.enable()  # xdist's controller: it collects nothing, its workers do


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()
    gc.enable()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# Speed belongs in benchmarks, not in tests: hypothesis' per-example deadline turned a loaded machine (CI shares two
# cores) into failures that say nothing about the code.
settings.register_profile("project", deadline=None)
settings.load_profile("project")

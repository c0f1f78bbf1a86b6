"""Shared fixtures: every async test runs on asyncio through anyio's pytest plugin."""

import pytest
from hypothesis import settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# Speed belongs in benchmarks, not in tests: hypothesis' per-example deadline turned a loaded machine (CI shares two
# cores) into failures that say nothing about the code.
settings.register_profile("project", deadline=None)
settings.load_profile("project")

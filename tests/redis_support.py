"""A real `redis-server` for the tests that share state between replicas: on a free loopback port, nothing saved to
disk, started and stopped by the test. A machine without `redis-server` fails those tests (it never skips them):
`.ci/run` installs Debian's package, a developer runs `apt-get install redis-server`."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support import free_port, stopped

START_SECONDS = 20.0
MISSING = (
    "redis-server is not installed, and the replica tests need a real one: "
    "apt-get update && apt-get install -y redis-server (.ci/run does this on CI)"
)


@dataclass(frozen=True)
class RedisServer:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A client for the test's own look: what the servers under test left in Redis."""
        return redis.Redis(host="127.0.0.1", port=self.port, db=0, socket_timeout=5)


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        pytest.fail(MISSING, pytrace=False)
    return found


@contextmanager
def redis_server(workdir: Path, port: int | None = None) -> Generator[RedisServer]:
    """`redis-server` on 127.0.0.1 and a free port (or ``port``: a restart where the last one was), no RDB snapshots,
    no append-only file; ready once it answers PING (polled, bounded); always stopped."""
    port = port if port is not None else free_port()
    argv = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    # --dir: anything it writes anyway (nothing, with the two settings above) stays in the test's directory.
    argv += ["--dir", str(workdir), "--daemonize", "no", "--loglevel", "warning"]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for_ping(process, port)
        yield RedisServer(process, port)
    finally:
        output, _ = stopped(process)
        if output and output.strip():
            print(output.decode(errors="replace"))  # shown by pytest when a test fails


def _wait_for_ping(process: subprocess.Popen[bytes], port: int) -> None:
    # Each refused connection answers at once; the loop is bounded by the deadline, not by a sleep.
    deadline = time.monotonic() + START_SECONDS
    # No client-side retries: redis-py's default backs off for seconds on a refused connection.
    probe = redis.Redis(
        host="127.0.0.1", port=port, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"redis-server exited with {process.returncode} at start: {output}", pytrace=False)
            try:
                if probe.ping():  # pyright: ignore[reportUnknownMemberType]  (redis-py leaves **kwargs untyped)
                    return
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer PING on port {port} within {START_SECONDS:g} s")
    finally:
        probe.close()

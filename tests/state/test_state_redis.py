"""The Redis state store in process (issue 15, item 4): two replicas' stores on one real redis-server, the seal on
every record, TTLs on every key, the write lock, and what a call says when Redis goes away."""

from __future__ import annotations

import hashlib
import hmac
import pickle
import zlib
from collections.abc import AsyncGenerator, Callable
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import pytest

from tests.redis_support import RedisServer, redis_server
from tests.support import command, connected, free_port, harness, stopped, structured, text_of
from tools_server.plans.pending import PendingWrite
from tools_server.plans.plan import Plan
from tools_server.plans.undo import UndoRecord
from tools_server.state.records import account_key
from tools_server.state.redis import GENERATION_KEY, RedisState, connect, redis_state
from tools_server.state.sessions import token_fingerprint, token_secret
from tools_server.state.store import RecordRefused, WriteLockBusy
from tools_server.sync.send import Outcome

pytestmark = [pytest.mark.slow, pytest.mark.anyio]  # a real redis-server

TOKEN = "local"  # the harness's backend token


SECRET = b"the replicas' shared state secret"


@asynccontextmanager
async def _stores(server: RedisServer, count: int = 2, **options: float) -> AsyncGenerator[list[RedisState]]:
    async with redis_state(await connect(server.url), secret=SECRET, **options) as one:  # pyright: ignore[reportArgumentType]
        if count == 1:
            yield [one]
            return
        async with redis_state(await connect(server.url), secret=SECRET, **options) as two:  # pyright: ignore[reportArgumentType]
            yield [one, two]


async def test_two_replicas_share_cursors_undo_handles_and_keep_their_own_mirrors(tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        async with harness() as h, _stores(server) as (one, two):
            async with connected(h, h.server(state=one)) as a, connected(h, h.server(state=two)) as b:
                cursor = structured(await a.call_tool("query_changes", {}))["cursor"]
                added = structured(await b.call_tool("add_item", {"items": [{"content": "from b"}]}))
                changes = structured(await a.call_tool("query_changes", {"cursor": cursor}))
                assert [(c["kind"], c["content"]) for c in changes["changes"]] == [("added", "from b")]
                undone = await a.call_tool("undo", {"write": added["write"]})
                assert not undone.is_error, text_of(undone)
                again = await b.call_tool("undo", {"write": added["write"]})
                assert again.is_error and "write: unknown, expired or already undone" in text_of(again)
            assert await h.active_items() == []
            # Every key the replicas left expires by itself and is named by the account's fingerprint (not its token).
            raw = server.client()
            keys: list[bytes] = raw.keys("ts:*")  # pyright: ignore[reportAssignmentType, reportUnknownMemberType]
            ttls: list[int] = [raw.ttl(k) for k in keys]  # pyright: ignore[reportAssignmentType]
            assert keys and all(ttl > 0 for ttl in ttls), dict(zip(keys, ttls, strict=True))
            # Besides the store's generation marker, which names no account (RedisState.lost).
            accounts = [k for k in keys if k != GENERATION_KEY.encode()]
            assert all(k.startswith(f"ts:{token_fingerprint(TOKEN)}:".encode()) for k in accounts), keys


async def test_a_record_is_read_only_with_its_accounts_secret_and_a_tampered_one_not_at_all(tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        async with _stores(server, 1) as (store,):
            fingerprint = token_fingerprint("alice")
            alice = store.account(fingerprint, token_secret("alice"))
            handle = await alice.mint_write(UndoRecord("add", created=["t1"]))
            found = await alice.find_write(handle)
            assert found is not None and found.created == ["t1"] and found.handle == handle
            # Someone who can write the key names (they are fingerprints) but lacks the token reads nothing: the
            # record is refused, saying why, rather than taken for a missing one.
            forger = RedisState(store.redis, store.renewals, secret=SECRET).account(fingerprint, token_secret("bob"))
            with pytest.raises(RecordRefused, match="seal does not check"):
                await forger.find_write(handle)
            key = f"ts:{fingerprint}:write:{handle}"
            raw = server.client()
            blob: bytes = raw.get(key)  # pyright: ignore[reportAssignmentType]
            raw.set(key, blob[:-1] + bytes([blob[-1] ^ 1]))
            with pytest.raises(RecordRefused):
                await alice.find_write(handle)


async def test_the_write_lock_is_exclusive_across_replicas_and_frees_itself_when_its_holder_is_gone(
    tmp_path: Path,
) -> None:
    with redis_server(tmp_path) as server:
        async with _stores(server, lock_seconds=1.0) as (one, two):
            secret = token_secret("alice")
            first = one.account("fp", secret)
            second = two.account("fp", secret)
            release = await first.lock_writes(5.0)
            with pytest.raises(WriteLockBusy):
                await second.lock_writes(0.2)
            await release()
            release = await second.lock_writes(0.2)
            await release()
        # A replica that dies holding the lock (its renewals stop with it) frees it once the lease runs out.
        async with _stores(server, 1, lock_seconds=1.0) as (dying,):
            await dying.account("fp", secret).lock_writes(1.0)
            dying.renewals.cancel_scope.cancel()
        async with _stores(server, 1, lock_seconds=1.0) as (survivor,):
            with anyio.fail_after(5):
                release = await survivor.account("fp", secret).lock_writes(3.0)
            await release()


async def test_when_redis_goes_away_a_call_says_so_and_sends_nothing(tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        async with harness() as h, _stores(server, 1) as (store,):
            async with connected(h, h.server(state=store)) as client:
                assert not (await client.call_tool("query_changes", {})).is_error
                server.process.terminate()
                server.process.wait(timeout=10)
                before = len(h.transport.bodies)
                refused = await client.call_tool("add_item", {"items": [{"content": "x"}]})
                assert refused.is_error and "state store (Redis) is unreachable" in text_of(refused)
                assert len(h.transport.bodies) == before
            assert await h.active_items() == []


class _KillsRedisAfterOneWrite(httpx.AsyncBaseTransport):
    """Stops Redis once the first request with commands has run in the account: the write is cut mid-way."""

    def __init__(self, inner: httpx.AsyncBaseTransport, server: RedisServer) -> None:
        self.inner = inner
        self.server = server
        self.writes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if b'"commands"' in await request.aread():
            self.writes += 1
            if self.writes == 1:
                stopped(self.server.process)  # no persistence: what Redis held is gone
        return response


async def test_redis_restarted_empty_mid_write_makes_resend_writes_say_writes_may_be_lost(tmp_path: Path) -> None:
    port = free_port()
    with ExitStack() as processes:
        first = processes.enter_context(redis_server(tmp_path, port))
        kill: list[_KillsRedisAfterOneWrite] = []

        def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
            kill.append(_KillsRedisAfterOneWrite(inner, first))
            return kill[0]

        async with (
            harness(wrap) as h,
            _stores(first, 1) as (store,),
            connected(h, h.server(state=store)) as client,
        ):
            assert not (await client.call_tool("query_changes", {})).is_error
            # 150 tasks: two Sync requests; Redis dies after the first ran, before the batch was brought up to date.
            cut = await client.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(150)]})
            assert cut.is_error and "state store could not keep them" in text_of(cut), text_of(cut)
            assert "find_items" in text_of(cut)
            assert len(await h.active_items()) == 100  # the second request was never sent
            processes.enter_context(redis_server(tmp_path, port))  # back, empty
            resent = await client.call_tool("resend_writes", {})
        told = text_of(resent)
        assert resent.is_error and "every write" not in told and "confirmed or failed" not in told, told
        assert "lost its data" in told and "may have been lost" in told and "find_items" in told, told


async def test_an_account_keeps_its_newest_write_handles_and_cursors_up_to_their_caps(tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        async with _stores(server, 1) as (store,):
            account = store.account("fp", token_secret("alice"))
            handles = [await account.mint_write(UndoRecord("add", created=[f"t{n}"])) for n in range(66)]
            assert await account.find_write(handles[0]) is None and await account.find_write(handles[1]) is None
            assert (
                await account.find_write(handles[2]) is not None and await account.find_write(handles[-1]) is not None
            )
            assert len(server.client().keys("ts:fp:write:*")) == 64  # pyright: ignore[reportArgumentType, reportUnknownMemberType]


async def test_views_on_both_replicas_store_the_tasks_snapshot_once_and_then_only_their_changes(
    tmp_path: Path,
) -> None:
    with redis_server(tmp_path) as server:
        async with harness() as h, _stores(server) as (one, two):
            for batch in range(3):  # at most 100 commands a request
                adds = [command("item_add", {"content": f"t{batch}.{n}"}, temp_id=f"t{n}") for n in range(100)]
                assert set((await h.raw_sync({"commands": adds}))["sync_status"].values()) == {"ok"}, batch
            raw = server.client()
            async with connected(h, h.server(state=one)) as a, connected(h, h.server(state=two)) as b:
                cursor = structured(await a.call_tool("query_changes", {}))["cursor"]
                view_key = f"ts:{token_fingerprint(TOKEN)}:view:{cursor}"
                first: bytes = raw.get(view_key)  # pyright: ignore[reportAssignmentType]
                for n, client in enumerate((b, a, b)):
                    await h.raw_sync({"commands": [command("item_add", {"content": f"new {n}"}, temp_id="x")]})
                    changes = structured(await client.call_tool("query_changes", {"cursor": cursor}))
                    assert [c["content"] for c in changes["changes"]] == [f"new {n}"]
            snapshots: list[bytes] = raw.keys("ts:*:snap:*")  # pyright: ignore[reportAssignmentType, reportUnknownMemberType]
            last: bytes = raw.get(view_key)  # pyright: ignore[reportAssignmentType]
            # One snapshot of the 300 tasks, written by the first replica, read (not rewritten) by the second; the
            # view itself holds what it saw since: three tasks.
            assert len(snapshots) == 1, snapshots
            assert len(last) < len(raw.get(snapshots[0])) / 10 and len(first) < 1000, (len(first), len(last))  # pyright: ignore[reportArgumentType]


# ---------------------------------------------------------------------------------------------------------------------
# Records planted by someone with write access to Redis and a Todoist token: never read, never run


class _Payload:
    """A record that runs code when the earlier format's reader loads it: here, it writes a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (Path.write_text, (self.marker, "ran"))


def _earlier_blob(marker: Path, token: str = TOKEN) -> bytes:
    """A record as the earlier version stored it, sealed with all a token holder can compute: its token's secret."""
    body = zlib.compress(pickle.dumps(_Payload(marker)), 1)
    return b"\x01" + hmac.new(token_secret(token), body, hashlib.sha256).digest() + body


def _forged_blob(slot: str, body: bytes, token: str = TOKEN) -> bytes:
    """A record in this version's format sealed without the replicas' secret (an empty one: all a caller has)."""
    mac = hmac.new(account_key(b"", token_secret(token)), slot.encode() + b"\x00" + body, hashlib.sha256).digest()
    return b"\x02" + mac + zlib.compress(body, 1)


async def test_records_planted_under_an_accounts_keys_without_the_server_secret_are_refused_and_run_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "marker"
    prefix = f"ts:{token_fingerprint(TOKEN)}:"
    undo_body = msgspec.json.encode(
        {
            "record": "undo",
            "format": 2,
            "kind": "add",
            "before": {},
            "after": {},
            "done": [],
            "created": ["t1"],
            "created_all": ["t1"],
            "fields": {},
            "projects_created": 0,
            "sent": [],
            "mapping": {},
            "objects": {},
            "reminders_added": [],
            "reminders_removed": [],
            "orders": {},
            "handle": "u_forgedforged",
        }
    )
    with redis_server(tmp_path) as server:
        raw = server.client()
        raw.set(prefix + "write:u_earlierearl", _earlier_blob(marker))
        raw.set(prefix + "write:u_forgedforged", _forged_blob("write:u_forgedforged", undo_body))
        raw.set(prefix + "write:u_otheraccoun", _earlier_blob(marker, token="someone else's token"))
        raw.set(prefix + "view:c_planted", _earlier_blob(marker))
        async with harness() as h, _stores(server, 1) as (store,), connected(h, h.server(state=store)) as client:
            await h.raw_sync({"commands": [command("item_add", {"content": "t1"}, temp_id="t1")]})
            earlier = await client.call_tool("undo", {"write": "u_earlierearl"})
            assert earlier.is_error and "kept by an earlier version of tools-server" in text_of(earlier)
            # The earlier format's seal of another token: not even the earlier version wrote it for this account.
            other = await client.call_tool("undo", {"write": "u_otheraccoun"})
            assert other.is_error and "its seal does not check" in text_of(other), text_of(other)
            forged = await client.call_tool("undo", {"write": "u_forgedforged"})
            assert forged.is_error and "its seal does not check" in text_of(forged), text_of(forged)
            assert "Nothing was sent: undo cannot reverse that write here" in text_of(forged)
            # A planted cursor reads as an expired one: a fresh overview.
            listed = await client.call_tool("query_changes", {"cursor": "c_planted"})
            assert not listed.is_error and "Unknown or expired cursor" in text_of(listed)
            assert [i["content"] for i in await h.active_items()] == ["t1"]  # nothing was undone
    assert not marker.exists()
    assert any("was not read" in r.getMessage() for r in caplog.records)


async def test_a_pending_batch_of_the_earlier_format_is_named_by_resend_writes_as_not_resumable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "marker"
    prefix = f"ts:{token_fingerprint(TOKEN)}:"
    old = "w_0ldBatch0ld_"
    with redis_server(tmp_path) as server:
        raw = server.client()
        raw.hset(prefix + "pending", old, _earlier_blob(marker))
        raw.zadd(prefix + "pending_order", {old: 1})
        async with harness() as h, _stores(server, 1) as (store,), connected(h, h.server(state=store)) as client:
            alone = await client.call_tool("resend_writes", {})
            assert alone.is_error, text_of(alone)
            for text in (text_of(alone), text_of(await client.call_tool("resend_writes", {"batch": old}))):
                assert old in text and "kept by an earlier version of tools-server" in text, text
                assert "may or may not have run" in text and "query_changes" in text
            # Beside a batch of this version, which is finished, the old one is named again in the result.
            await client.call_tool("query_changes", {})
            account = store.account(token_fingerprint(TOKEN), token_secret(TOKEN))
            write = PendingWrite("Added", Plan(()), None, [], Outcome())
            await account.keep_pending(write)
            both = await client.call_tool("resend_writes", {})
            assert not both.is_error, text_of(both)
            assert old in text_of(both) and old in " ".join(structured(both)["notes"])
            assert await account.pending() == {}
        assert raw.hexists(prefix + "pending", old)  # kept (until its TTL) for the version that can finish it
    assert not marker.exists()
    assert any(old in r.getMessage() and "cannot be resumed" in r.getMessage() for r in caplog.records)


async def test_removals_counted_by_the_earlier_version_still_count_and_planted_records_do_not(tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        async with _stores(server, 1) as (store,):
            account = store.account(token_fingerprint(TOKEN), token_secret(TOKEN))
            await account.add_removal(100.0, 2)
            raw = server.client()
            key = f"ts:{token_fingerprint(TOKEN)}:removals"
            raw.zadd(key, {b"3:0a1b2c3d": 100.0})  # the earlier version's member: "<count>:<random>"
            forged = b"0a1b2c3d:" + _forged_blob("removal:0a1b2c3d", b'{"record":"removal","at":100.0,"count":50}')
            raw.zadd(key, {forged: 100.0})
            assert await account.removed_since(50.0) == 5
            assert await account.removed_since(100.0) == 0  # past the window, they go

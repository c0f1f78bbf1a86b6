"""The file store in process: the TTLs and caps it shares with Redis, its write lock across processes' stores, and a
write that landed before the file failed (reported as it landed, with a warning)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import httpx
import pytest

from tests.support import FixedClock, connected, harness, structured, text_of
from tools_server.cursors import SeenItems, View
from tools_server.plans.pending import PendingWrite
from tools_server.plans.plan import Plan
from tools_server.plans.undo import UndoRecord
from tools_server.state.file import FileAccount, FileState, state_path
from tools_server.state.sessions import token_secret
from tools_server.state.store import MAX_WRITE_HANDLES, PENDING_SECONDS, VIEW_SECONDS, WRITE_SECONDS, WriteLockBusy
from tools_server.sync.commands import Item, SyncResponse
from tools_server.sync.mirror import Mirror
from tools_server.sync.send import Outcome

pytestmark = pytest.mark.anyio


async def test_records_expire_with_the_ttls_redis_gives_them_and_handles_keep_to_their_cap(tmp_path: Path) -> None:
    clock = FixedClock()
    store = FileState(state_path(tmp_path / "tasks.db"), clock=clock.as_clock())
    try:
        account = store.account("fp", token_secret("alice"))
        handles = [await account.mint_write(UndoRecord("add", created=[f"t{n}"])) for n in range(MAX_WRITE_HANDLES + 2)]
        assert await account.find_write(handles[0]) is None and await account.find_write(handles[1]) is None
        assert await account.find_write(handles[2]) is not None
        write = PendingWrite("Added", Plan(()), None, [], Outcome())
        await account.keep_pending(write)
        clock.advance(WRITE_SECONDS + 1)
        assert await account.find_write(handles[-1]) is None  # an undo handle lasts a day
        assert list(await account.pending()) == [write.batch]  # a pending batch a week
        clock.advance(PENDING_SECONDS)
        assert await account.pending() == {}
        # Another account's rows are its own: same file, nothing shared.
        assert await store.account("other", token_secret("bob")).find_write(handles[2]) is None
    finally:
        store.close()


async def test_the_write_lock_is_exclusive_between_two_processes_stores_of_one_account(tmp_path: Path) -> None:
    path = state_path(tmp_path / "tasks.db")
    one, two = FileState(path), FileState(path)  # as a stdio server and a `call` would open it
    try:
        release = await one.account("fp", token_secret("alice")).lock_writes(5.0)
        with pytest.raises(WriteLockBusy):
            await two.account("fp", token_secret("alice")).lock_writes(0.2)
        await (await two.account("other", token_secret("bob")).lock_writes(0.2))()  # another account: not held
        await release()
        await (await two.account("fp", token_secret("alice")).lock_writes(0.2))()
    finally:
        one.close()
        two.close()


class _BreaksTheStateFile(httpx.AsyncBaseTransport):
    """Makes the state file unusable (as a full or removed disk would) once a write's request has run."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.store: FileState | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.store is not None and b'"commands"' in await request.aread():
            self.store.close()
        return response


async def test_a_write_that_landed_before_the_state_file_failed_is_reported_as_landed_with_a_warning(
    tmp_path: Path,
) -> None:
    breaker: list[_BreaksTheStateFile] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        breaker.append(_BreaksTheStateFile(inner))
        return breaker[0]

    async with harness(wrap) as h:
        store = FileState(state_path(tmp_path / "tasks.db"), clock=h.clock.as_clock())
        async with connected(h, h.server(state=store)) as client:
            breaker[0].store = store
            reply = await client.call_tool("add_item", {"items": [{"content": "landed"}]})
        assert not reply.is_error, text_of(reply)
        text = text_of(reply)
        assert text.startswith("Added 1 task: 'landed'") and "Warning: the write above stands" in text, text
        assert "state file" in text and structured(reply)["ok"] == 1
        assert [i["content"] for i in await h.active_items()] == ["landed"]


def _traced(path: Path, clock: FixedClock) -> tuple[FileState, list[str]]:
    """A file store at ``path`` and the SQL statements it runs, bound values included."""
    store = FileState(path, clock=clock.as_clock())
    return store, _trace(store)


def _trace(store: FileState) -> list[str]:
    """The statements ``store`` runs from now on, each once: SQLite reports each statement a trigger runs (a body
    deleted with its row) as the statement that fired it, which is one write, not several."""
    statements: list[str] = []

    def seen(statement: str) -> None:
        if not statements or statements[-1] != statement:
            statements.append(statement)

    store._db.set_trace_callback(seen)  # pyright: ignore[reportPrivateUsage]
    return statements


async def test_a_cursor_saved_on_every_write_writes_what_it_saw_since_and_reads_back_by_seal(tmp_path: Path) -> None:
    """Rows are stored whole: rewriting a view rewrote every task it keeps apart from its snapshot, on every write,
    and touching a snapshot rewrote every task in it. A session saving its cursor on every write writes the view once,
    then only what it saw since (until those outweigh the view), touches its snapshot at most once per eighth of its
    TTL, and takes its cached view back on the seals alone; another process reads the view with its
    changes applied, and saves its own changes after them."""
    clock = FixedClock()
    path = state_path(tmp_path / "tasks.db")
    store, statements = _traced(path, clock)

    def written(kind: str) -> int:
        return len([s for s in statements if s.startswith("INSERT INTO record") and f"'{kind}'" in s])

    try:
        account = store.account("fp", token_secret("alice"))
        mirror = Mirror()
        mirror.apply(
            SyncResponse(sync_token="s1", full_sync=True, items=[Item(id=str(n), content=f"t{n}") for n in range(50)])
        )
        view = View()
        view.refresh(mirror)
        for n in range(10):
            await account.save_view("c1", view)
            mirror.apply(SyncResponse(sync_token=f"s{n + 2}", items=[Item(id=str(n), content=f"edited {n}")]))
            view.refresh(mirror, {str(n)})
        # The view whole at first, and again when its changes outweigh it (it keeps little apart): at doubling sizes.
        assert written("snap") == 1 and written("view") + written("view_change") == 10 and written("view") <= 3
        # Each row's body is written just before it (bodies are bound as blobs: in hex).
        changes = [
            b for b, r in itertools.pairwise(statements) if r.startswith("INSERT INTO record") and "'view_change'" in r
        ]
        edited = b"edited".hex().upper()
        assert changes and all(s.upper().count(edited) == 1 for s in changes)  # each holds the one task it saw anew

        def touched(kind: str) -> int:
            return len([s for s in statements if s.startswith("UPDATE record SET expires") and f"'{kind}'" in s])

        # The view's small record is touched with each change (it stays among the cursors carried to the next
        # process); the snapshot, every task, not before an eighth of its TTL.
        assert touched("view") == written("view_change") and touched("snap") == 0
        clock.advance(VIEW_SECONDS / 8 + 1)
        await account.save_view("c1", view)
        assert touched("snap") == 1
        statements.clear()
        assert await account.load_view("c1") is view
        assert not [s for s in statements if "data" in s]  # the seals matched: the view's bodies were not read
        other = FileState(path, clock=clock.as_clock())
        try:
            again = await other.account("fp", token_secret("alice")).load_view("c1")
            assert again is not None and again is not view and dict(again.seen) == dict(view.seen)
            assert again.seen["3"].content == "edited 3" and len(again.seen) == 50
            # The other process saves what it saw since after them; this one then reads them all back.
            mirror.apply(SyncResponse(sync_token="s20", items=[Item(id="60", content="new")]))
            again.refresh(mirror, {"60"})
            await other.account("fp", token_secret("alice")).save_view("c1", again)
        finally:
            other.close()
        back = await account.load_view("c1")
        assert back is not None and back is not view and back.seen["60"].content == "new" and len(back.seen) == 51
    finally:
        store.close()


async def _saved_view(account: FileAccount, items: list[Item]) -> tuple[Mirror, View]:
    """A mirror of ``items`` and cursor c1's view of it, saved."""
    mirror = Mirror()
    mirror.apply(SyncResponse(sync_token="s1", full_sync=True, items=items))
    view = View()
    view.refresh(mirror)
    await account.save_view("c1", view)
    return mirror, view


async def _read_elsewhere(path: Path, clock: FixedClock) -> View | None:
    """Cursor c1's view as another process reads it from the file at ``path``."""
    other = FileState(path, clock=clock.as_clock())
    try:
        return await other.account("fp", token_secret("alice")).load_view("c1")
    finally:
        other.close()


async def test_a_view_is_written_whole_again_once_its_changes_outweigh_it(tmp_path: Path) -> None:
    clock = FixedClock()
    store, statements = _traced(state_path(tmp_path / "tasks.db"), clock)
    try:
        account = store.account("fp", token_secret("alice"))
        mirror, view = await _saved_view(account, [Item(id="0", content="first")])
        for n in range(1, 41):  # one new task per save: the view grows by one, each change is one task
            mirror.apply(SyncResponse(sync_token=f"s{n + 1}", items=[Item(id=str(n), content=f"t{n}")]))
            view.refresh(mirror, {str(n)})
            await account.save_view("c1", view)
        inserts = [s for s in statements if s.startswith("INSERT INTO record")]
        wholes = [n for n, s in enumerate(inserts) if "'view'" in s]
        # Written whole at doubling sizes: far fewer than the 41 saves, each gap about twice the one before.
        assert 3 <= len(wholes) <= 8, wholes
        gaps = [b - a for a, b in itertools.pairwise(wholes)]
        assert all(later >= earlier for earlier, later in itertools.pairwise(gaps)), gaps
        # What a whole write leaves behind is gone with it: the rows read back are the view and its newest changes.
        rows = store._db.execute(  # pyright: ignore[reportPrivateUsage]
            "SELECT count(*) FROM record WHERE kind = 'view_change'"
        ).fetchone()[0]
        assert rows == len(inserts) - 1 - wholes[-1] - (1 if "'snap'" in inserts[-1] else 0)
        again = await _read_elsewhere(state_path(tmp_path / "tasks.db"), clock)
        assert again is not None and dict(again.seen) == dict(view.seen) and len(again.seen) == 41
    finally:
        store.close()


async def test_a_view_keeps_at_most_64_changes_after_its_record_however_small_they_are(tmp_path: Path) -> None:
    clock = FixedClock()
    store = FileState(state_path(tmp_path / "tasks.db"), clock=clock.as_clock())
    try:
        account = store.account("fp", token_secret("alice"))
        mirror, view = await _saved_view(account, [])  # its snapshot: no task
        many = [Item(id=str(n), content=f"t{n}") for n in range(300)]
        mirror.apply(SyncResponse(sync_token="s2", items=many))
        view.refresh(mirror, {i.id for i in many})
        await account.save_view("c1", view)  # written whole: the record keeps 300 tasks apart from its snapshot
        kept: list[int] = []
        for n in range(140):  # one edit a save: 140 changes far smaller than the record
            mirror.apply(SyncResponse(sync_token=f"e{n}", items=[Item(id=str(n), content=f"edited {n}")]))
            view.refresh(mirror, {str(n)})
            await account.save_view("c1", view)
            kept.append(store._db.execute("SELECT count(*) FROM record WHERE kind = 'view_change'").fetchone()[0])  # pyright: ignore[reportPrivateUsage]
        assert max(kept) == 64 and kept.count(64) == 2  # written whole again after every 64 changes
        again = await _read_elsewhere(state_path(tmp_path / "tasks.db"), clock)
        assert again is not None and again.seen["139"].content == "edited 139" and len(again.seen) == 300
    finally:
        store.close()


async def test_a_view_the_file_keeps_stays_on_its_snapshot_however_far_its_own_writes_take_it(tmp_path: Path) -> None:
    """In process a view that its session's writes drifted far from its snapshot moves onto a fresh one; kept in the
    file, that fresh snapshot would be every task written again, where what it keeps apart costs only its changes."""
    clock = FixedClock()
    store, statements = _traced(state_path(tmp_path / "tasks.db"), clock)
    try:
        account = store.account("fp", token_secret("alice"))
        mirror, view = await _saved_view(account, [Item(id="0", content="first")])
        for n in range(6):  # 600 tasks written by the session, past the drift that moves a view in process
            new = [Item(id=f"{n}-{k}", content="t") for k in range(100)]
            mirror.apply(SyncResponse(sync_token=f"s{n + 2}", items=new))
            view.refresh(mirror, {i.id for i in new})
            await account.save_view("c1", view)
        snapshots = [s for s in statements if s.startswith("INSERT INTO record") and "'snap'" in s]
        assert len(snapshots) == 1 and len(view.seen) == 601
        # The same writes on a view kept in process do move it (the rule this store turns off).
        live = View()
        live.refresh(mirror)
        assert isinstance(live.seen, SeenItems)
        before = live.seen.snapshot
        more = [Item(id=f"x{k}", content="t") for k in range(300)]
        mirror.apply(SyncResponse(sync_token="s9", items=more))
        live.refresh(mirror, {i.id for i in more})
        assert isinstance(live.seen, SeenItems) and live.seen.snapshot is not before
    finally:
        store.close()


_EARLIER_LAYOUTS = {
    # WITHOUT ROWID: a key search that met a large row (a snapshot of a big account) read all of it, so every read
    # and write of the account cost what its largest row did.
    "first": "CREATE TABLE record (account TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, mac BLOB NOT NULL, "
    "body BLOB NOT NULL, expires REAL NOT NULL, ord INTEGER NOT NULL, PRIMARY KEY (account, kind, name)) WITHOUT ROWID",
    # A rowid table with the body in each row: touching a row (its TTL, its place) rewrote its body with it.
    "second": "CREATE TABLE record (account TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, expires REAL NOT "
    "NULL, ord INTEGER NOT NULL, mac BLOB NOT NULL, body BLOB NOT NULL, UNIQUE (account, kind, name))",
}


def _size(path: str) -> int:
    return os.stat(path).st_size


@pytest.mark.parametrize("layout", sorted(_EARLIER_LAYOUTS))
async def test_a_file_of_an_earlier_layout_is_rebuilt_with_its_bodies_apart_and_every_row_still_read(
    tmp_path: Path, layout: str
) -> None:
    path = state_path(tmp_path / "tasks.db")
    store = FileState(path)
    try:
        handle = await store.account("fp", token_secret("alice")).mint_write(UndoRecord("add", created=["t1"]))
        db = store._db  # pyright: ignore[reportPrivateUsage]
        rows = db.execute(
            "SELECT account, kind, name, expires, ord, mac, data FROM record JOIN body ON body.rowid = body_id"
        ).fetchall()
        db.executescript("DROP TABLE record; DROP TABLE body;" + _EARLIER_LAYOUTS[layout])
        db.executemany(
            "INSERT INTO record (account, kind, name, expires, ord, mac, body) VALUES (?, ?, ?, ?, ?, ?, ?)", rows
        )
    finally:
        store.close()
    again = FileState(path)
    try:
        db = again._db  # pyright: ignore[reportPrivateUsage]
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'record'").fetchone()[0]
        assert "WITHOUT ROWID" not in sql.upper()
        assert [row[1] for row in db.execute("PRAGMA table_info(record)")][-2:] == ["mac", "body_id"]
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT mac FROM record WHERE account = 'fp' AND kind = 'view' AND name = 'c1'"
        ).fetchall()
        assert "INDEX" in str(plan)  # the key is searched in its index, never among the rows
        record = await again.account("fp", token_secret("alice")).find_write(handle)
        assert record is not None and record.created == ["t1"]
        assert db.execute("SELECT count(*) FROM body").fetchone()[0] == len(rows)
    finally:
        again.close()


async def test_touching_a_row_leaves_its_body_as_it_was_and_a_body_goes_with_its_row_however_the_row_goes(
    tmp_path: Path,
) -> None:
    """A cursor's view is touched with each change kept after it: with the body in the row, each touch rewrote the
    view whole (several MB for a session's thousands of own writes, 4 ms a 1000-task add)."""
    clock = FixedClock()
    store = FileState(state_path(tmp_path / "tasks.db"), clock=clock.as_clock())
    try:
        account = store.account("fp", token_secret("alice"))
        db = store._db  # pyright: ignore[reportPrivateUsage]

        def bodies() -> int:
            return int(db.execute("SELECT count(*) FROM body").fetchone()[0])

        big = UndoRecord("add", created=[f"6Xtask{n:010}" for n in range(20_000)])  # a 1000-task add's is 540 kB
        handles = [await account.mint_write(big)] + [
            await account.mint_write(UndoRecord("add", created=[f"t{n}"])) for n in range(2)
        ]
        await account.keep_last_write(UndoRecord("add", created=["t9"]))  # no handle: the record itself
        await account.keep_last_write(UndoRecord("add", created=["t8"]))  # replaced: the old body goes
        assert bodies() == 4
        wal = f"{store.path}-wal"
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert _size(wal) == 0
        account._touch("write", handles[0], always=True)  # pyright: ignore[reportPrivateUsage]
        assert 0 < _size(wal) < 50_000  # a few pages: the 400 kB body was not written again
        await account.forget_write(handles[1])
        assert bodies() == 3
        clock.advance(WRITE_SECONDS + 1)
        await account.mint_write(UndoRecord("add", created=["late"]))  # a put sweeps the expired rows of its kind
        assert int(db.execute("SELECT count(*) FROM record WHERE kind = 'write'").fetchone()[0]) == 1
        assert bodies() == 2  # the new handle's, and the last write's (expired but not yet swept: another kind)
        assert await account.find_write(handles[0]) is None
    finally:
        store.close()


async def test_a_write_keeps_its_batch_before_its_request_and_all_it_keeps_after_in_one_transaction(
    tmp_path: Path,
) -> None:
    """Five transactions after each write (the cursor's view, the batch dropped, the undo record, a second copy of it
    as the last write) were 1.8 ms of a 100-task add over stdio; now the batch is kept before the request goes, and
    the rest in one transaction after. The last write names its handle, and undo without one still finds it."""
    async with harness() as h:
        path = state_path(tmp_path / "tasks.db")
        store = FileState(path, clock=h.clock.as_clock())
        async with connected(h, h.server(state=store)) as client:
            await client.call_tool("query_changes", {})
            await client.call_tool("query_changes", {})  # two cursors: each saved in the same transaction
            statements = _trace(store)
            reply = await client.call_tool("add_item", {"items": [{"content": "one"}, {"content": "two"}]})
            store._db.set_trace_callback(None)  # pyright: ignore[reportPrivateUsage]
            assert not reply.is_error, text_of(reply)
            begins = [n for n, s in enumerate(statements) if s.startswith("BEGIN")]
            assert len(begins) == 2, statements
            first, after = statements[begins[0] : begins[1]], statements[begins[1] :]
            assert any("'pending'" in s for s in first if s.startswith("INSERT"))
            kinds = {k for s in after for k in ("pending", "view_change", "write", "last") if f"'{k}'" in s}
            assert kinds == {"pending", "view_change", "write", "last"}  # the batch dropped, then what it keeps
            changes = [s for s in after if s.startswith("INSERT") and "'view_change'" in s]
            assert len(changes) == 2  # what each cursor saw: the two tasks
            last = [s for s in after if s.startswith("INSERT") and "'last'" in s]
            assert len(last) == 1 and len(last[0]) < 600  # the handle, not the record again
            undone = await client.call_tool("undo", {})
            assert not undone.is_error, text_of(undone)
        assert await h.active_items() == []


async def test_a_long_write_keeps_its_commands_once_then_only_what_it_learnt_which_another_process_reads(
    tmp_path: Path,
) -> None:
    """A 1000-task add's batch (330 kB) was written whole again after its 1st, 2nd, 4th and 8th requests, to keep
    what they confirmed: now the batch once, and its outcome apart, in a row of its own."""
    clock = FixedClock()
    path = state_path(tmp_path / "tasks.db")
    store, statements = _traced(path, clock)
    other = FileState(path, clock=clock.as_clock())  # another process: a restarted server resending the batch
    try:
        account, theirs = store.account("fp", token_secret("alice")), other.account("fp", token_secret("alice"))
        write = PendingWrite("Added", Plan(()), None, [], Outcome())
        await account.keep_pending(write)
        write.outcome.requests, write.outcome.temp_id_mapping["t1"] = 1, "6Xreal000000001"
        await account.keep_pending(write)
        write.outcome.requests = 2
        await account.keep_pending(write)
        inserts = [s for s in statements if s.startswith("INSERT INTO record")]
        assert [("'pending'" in s, "'pending_outcome'" in s) for s in inserts] == [(True, False), (False, True),
                                                                                   (False, True)]  # fmt: skip
        read = (await theirs.pending())[write.batch]
        assert (read.outcome.requests, read.outcome.temp_id_mapping) == (2, {"t1": "6Xreal000000001"})

        # Its commands replaced (no pipeline does; a store must not count on it): the batch is written whole again,
        # and the outcome kept apart goes in the same transaction.
        write.commands = []
        write.outcome.requests = 3
        statements.clear()
        await account.keep_pending(write)
        assert any(s.startswith("DELETE") and "'pending_outcome'" in s for s in statements)
        assert sum(s.startswith("BEGIN") for s in statements) == 1
        assert (await theirs.pending())[write.batch].outcome.requests == 3

        await account.drop_pending(write.batch)
        assert await theirs.pending() == {}
        left = other._db.execute("SELECT kind FROM record").fetchall()  # pyright: ignore[reportPrivateUsage]
        assert left == []
    finally:
        store.close()
        other.close()


async def test_a_write_sent_in_three_requests_writes_its_batch_once(tmp_path: Path) -> None:
    async with harness() as h:
        store, statements = _traced(state_path(tmp_path / "tasks.db"), h.clock)
        async with connected(h, h.server(state=store)) as client:
            reply = await client.call_tool("add_item", {"items": [{"content": f"t{n}"} for n in range(250)]})
            assert not reply.is_error and structured(reply)["requests"] == 3, text_of(reply)
        inserts = [s for s in statements if s.startswith("INSERT INTO record")]
        assert sum("'pending'" in s for s in inserts) == 1
        assert sum("'pending_outcome'" in s for s in inserts) == 2  # after the 1st and 2nd requests
        assert len(await h.active_items()) == 250

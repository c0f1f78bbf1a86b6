"""Several accounts in one local store (issue 23, item 1): each token its own user, Inbox, labels and sync tokens;
projects shared between accounts by email through Todoist's invitation flow (a ``share_invitation_sent`` live
notification, ``accept_invitation`` / ``reject_invitation``); what one member changes reaches the other's incremental
sync; ``delete_collaborator`` takes the project out of the removed member's reads; only a collaborator can be
responsible."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.local_sync import ALL, assert_error, cmd
from tests.support import FixedClock
from tools_server.local.account import LocalAccount
from tools_server.local.activity import ACTIVITIES_PATH
from tools_server.local.app import build_app
from tools_server.local.rest import rest_reply
from tools_server.local.store import SyncStore

A, B, C = "token-a", "token-b", "token-c"
BEA = LocalAccount(B, "bea@example.com", "Bea Bauer")
CEE = LocalAccount(C, "cee@example.com")


@pytest.fixture
def store() -> Any:
    opened = SyncStore(":memory:", now=FixedClock(), accounts=[BEA, CEE])
    yield opened
    opened.close()


def _run(store: SyncStore, token: str, *commands: dict[str, Any]) -> dict[str, str]:
    response = store.sync(commands=commands, token=token)
    failed = {u: s for u, s in response["sync_status"].items() if s != "ok"}
    assert not failed, failed
    mapping: dict[str, str] = response["temp_id_mapping"]
    return mapping


def _status(store: SyncStore, token: str, command: dict[str, Any]) -> Any:
    return store.sync(commands=[command], token=token)["sync_status"][command["uuid"]]


def _full(store: SyncStore, token: str) -> dict[str, Any]:
    return store.sync(sync_token="*", resource_types=ALL, token=token)


def _names(objects: list[dict[str, Any]]) -> set[str]:
    return {str(o.get("name") or o.get("content")) for o in objects}


def _shared_trip(store: SyncStore) -> dict[str, str]:
    """A's project Trip with a section, a task and comments, shared with Bea; Bea accepts."""
    ids = _run(
        store,
        A,
        cmd("project_add", {"name": "Trip"}, "trip"),
        cmd("section_add", {"name": "Packing", "project_id": "trip"}, "sec"),
        cmd("item_add", {"content": "passports", "project_id": "trip", "section_id": "sec"}, "task"),
        cmd("note_add", {"item_id": "task", "content": "in the drawer"}, "note"),
        cmd("note_add", {"project_id": "trip", "content": "leave at 8"}, "pnote"),
        cmd("item_add", {"content": "private"}, "mine"),
    )
    _run(store, A, cmd("share_project", {"project_id": ids["trip"], "email": "BEA@example.com"}))
    [invite] = _full(store, B)["live_notifications"]
    _run(store, B, cmd("accept_invitation", _answer(invite)))
    return ids


def _answer(invite: dict[str, Any]) -> dict[str, Any]:
    return {"invitation_id": invite["invitation_id"], "invitation_secret": invite["invitation_secret"]}


def test_each_token_is_its_own_user_with_its_own_inbox_labels_and_sync_token(store: SyncStore) -> None:
    _run(store, A, cmd("label_add", {"name": "home"}), cmd("item_add", {"content": "a's task"}))
    _run(store, B, cmd("label_add", {"name": "home"}), cmd("item_add", {"content": "b's task"}))  # no clash
    a, b = _full(store, A), _full(store, B)
    assert a["user"]["id"] != b["user"]["id"]
    assert (b["user"]["email"], b["user"]["full_name"]) == ("bea@example.com", "Bea Bauer")
    assert _full(store, C)["user"]["full_name"] == "cee"  # no name given: the email's local part
    assert [p["name"] for p in a["projects"]] == ["Inbox"] == [p["name"] for p in b["projects"]]
    assert a["projects"][0]["id"] != b["projects"][0]["id"]
    assert _names(a["items"]) == {"a's task"} and _names(b["items"]) == {"b's task"}
    assert len(a["labels"]) == len(b["labels"]) == 1 and a["labels"][0]["id"] != b["labels"][0]["id"]
    # A token of another account (or none of this store's: the first account's) means "start over".
    assert store.sync(sync_token=a["sync_token"], resource_types=ALL, token=B)["full_sync"] is True
    assert store.sync(sync_token=b["sync_token"], resource_types=ALL, token=B)["full_sync"] is False
    assert _full(store, "anything")["user"]["id"] == a["user"]["id"]


def test_another_accounts_objects_are_not_found(store: SyncStore) -> None:
    ids = _run(store, A, cmd("project_add", {"name": "Secret"}, "p"), cmd("item_add", {"content": "x"}, "t"))
    assert_error(_status(store, B, cmd("item_add", {"content": "y", "project_id": ids["p"]})), "PROJECT_NOT_FOUND")
    assert_error(_status(store, B, cmd("item_complete", {"id": ids["t"]})), "ITEM_NOT_FOUND")
    assert_error(
        _status(store, B, cmd("share_project", {"project_id": ids["p"], "email": "bea@example.com"})),
        "PROJECT_NOT_FOUND",
    )


def test_an_invitation_is_a_live_notification_and_the_project_appears_once_accepted(store: SyncStore) -> None:
    ids = _run(
        store, A, cmd("project_add", {"name": "Trip"}, "trip"), cmd("item_add", {"content": "x", "project_id": "trip"})
    )
    before = _full(store, B)
    _run(store, A, cmd("share_project", {"project_id": ids["trip"], "email": "bea@example.com"}))
    invited = store.sync(sync_token=before["sync_token"], resource_types=ALL, token=B)
    [invite] = invited["live_notifications"]
    assert invite["notification_type"] == "share_invitation_sent" and invite["is_unread"] is True
    assert (invite["project_id"], invite["project_name"], invite["from_user"]["id"]) == (
        ids["trip"], "Trip", _full(store, A)["user"]["id"],
    )  # fmt: skip
    assert "Trip" not in _names(invited["projects"])  # not before accepting
    a_view = _full(store, A)
    assert [(c["email"], c["full_name"]) for c in a_view["collaborators"]] == [("bea@example.com", "Bea Bauer")]
    bea = a_view["collaborators"][0]["id"]
    assert (bea, "invited") in {(s["user_id"], s["state"]) for s in a_view["collaborator_states"]}
    assert_error(
        _status(store, B, cmd("accept_invitation", {**_answer(invite), "invitation_secret": "guess"})),
        "INVALID_ARGUMENT_VALUE",
        "invitation_secret",
    )
    assert_error(_status(store, C, cmd("accept_invitation", _answer(invite))), "INVITATION_NOT_FOUND")
    token = _full(store, B)["sync_token"]
    _run(store, B, cmd("accept_invitation", _answer(invite)))
    joined = store.sync(sync_token=token, resource_types=ALL, token=B)
    assert joined["full_sync"] is True  # a whole project arrived: the answer that carries all it holds
    assert {"Trip", "x"} <= _names(joined["projects"]) | _names(joined["items"])
    assert [c["email"] for c in joined["collaborators"]] == ["local@localhost"]
    assert {(s["user_id"], s["state"]) for s in joined["collaborator_states"]} >= {(bea, "active")}
    assert [n["state"] for n in joined["live_notifications"]] == ["accepted"]
    [heard] = _full(store, A)["live_notifications"]  # the inviter hears of it, as from Todoist
    assert (heard["notification_type"], heard["from_uid"], heard["project_id"]) == (
        "share_invitation_accepted", bea, ids["trip"],
    )  # fmt: skip
    assert_error(
        _status(store, B, cmd("accept_invitation", _answer(invite))), "INVALID_ARGUMENT_VALUE", "invitation_id"
    )


def test_a_rejected_invitation_ends_the_membership(store: SyncStore) -> None:
    ids = _run(store, A, cmd("project_add", {"name": "Trip"}, "trip"))
    _run(store, A, cmd("share_project", {"project_id": ids["trip"], "email": "bea@example.com"}))
    [invite] = _full(store, B)["live_notifications"]
    _run(store, B, cmd("reject_invitation", _answer(invite)))
    assert "Trip" not in _names(_full(store, B)["projects"])
    assert _full(store, A)["collaborators"] == []
    assert [n["state"] for n in _full(store, B)["live_notifications"]] == ["rejected"]


def test_a_shared_project_brings_its_sections_tasks_and_comments_to_the_member(store: SyncStore) -> None:
    _shared_trip(store)
    b = _full(store, B)
    assert _names(b["projects"]) == {"Inbox", "Trip"}
    assert _names(b["sections"]) == {"Packing"}
    assert _names(b["items"]) == {"passports"}  # not A's private task
    assert [n["content"] for n in b["notes"]] == ["in the drawer"]
    assert [n["content"] for n in b["project_notes"]] == ["leave at 8"]
    assert [p["shared"] for p in b["projects"] if p["name"] == "Trip"] == [True]


def test_what_one_member_changes_reaches_the_others_incremental_sync(store: SyncStore) -> None:
    ids = _shared_trip(store)
    a_token, b_token = _full(store, A)["sync_token"], _full(store, B)["sync_token"]
    _run(
        store,
        B,
        cmd("item_complete", {"id": ids["task"]}),
        cmd("item_add", {"content": "tickets", "project_id": ids["trip"]}),
    )
    a = store.sync(sync_token=a_token, resource_types=ALL, token=A)
    assert a["full_sync"] is False
    assert {(i["content"], i["checked"]) for i in a["items"]} == {("passports", True), ("tickets", False)}
    [tickets] = [i for i in a["items"] if i["content"] == "tickets"]
    assert tickets["added_by_uid"] == _full(store, B)["user"]["id"]
    _run(store, A, cmd("project_update", {"id": ids["trip"], "name": "Trip 2027"}))
    b = store.sync(sync_token=b_token, resource_types=ALL, token=B)
    assert b["full_sync"] is False and _names(b["projects"]) == {"Trip 2027"}
    # The project stays A's: renamed by A, still in A's reads after Bea's edit.
    _run(store, B, cmd("project_update", {"id": ids["trip"], "color": "red"}))
    assert "Trip 2027" in _names(_full(store, A)["projects"])


def test_only_a_collaborator_can_be_responsible_and_the_assigner_is_recorded(store: SyncStore) -> None:
    ids = _shared_trip(store)
    bea, cee = _full(store, B)["user"]["id"], _full(store, C)["user"]["id"]
    me = _full(store, A)["user"]["id"]
    _run(store, A, cmd("item_update", {"id": ids["task"], "responsible_uid": bea}))
    [task] = [i for i in _full(store, B)["items"] if i["id"] == ids["task"]]
    assert (task["responsible_uid"], task["assigned_by_uid"]) == (bea, me)
    told = [n for n in _full(store, B)["live_notifications"] if n["notification_type"] == "item_assigned"]
    assert [(n["item_id"], n["item_content"], n["assigned_by_uid"], n["from_uid"]) for n in told] == [
        (ids["task"], "passports", me, me)
    ]
    refused = _status(store, A, cmd("item_add", {"content": "y", "project_id": ids["trip"], "responsible_uid": cee}))
    assert_error(refused, "INVALID_ARGUMENT_VALUE", "responsible_uid")
    assert_error(
        _status(store, A, cmd("item_update", {"id": ids["mine"], "responsible_uid": bea})),
        "INVALID_ARGUMENT_VALUE",
        "responsible_uid",
    )


def test_unsharing_takes_the_project_out_of_the_removed_members_reads(store: SyncStore) -> None:
    ids = _shared_trip(store)
    token = _full(store, B)["sync_token"]
    _run(store, A, cmd("delete_collaborator", {"project_id": ids["trip"], "email": "bea@example.com"}))
    after = store.sync(sync_token=token, resource_types=ALL, token=B)
    assert after["full_sync"] is True  # the client replaces its copy: the project and all it held are gone
    assert _names(after["projects"]) == {"Inbox"} and after["items"] == [] and after["sections"] == []
    assert after["collaborators"] == []
    assert_error(_status(store, B, cmd("item_complete", {"id": ids["task"]})), "ITEM_NOT_FOUND")
    assert [p["shared"] for p in _full(store, A)["projects"] if p["name"] == "Trip"] == [False]


def test_rest_reads_answer_each_account_what_it_sees(store: SyncStore) -> None:
    ids = _shared_trip(store)
    _run(store, A, cmd("item_complete", {"id": ids["mine"]}), cmd("item_complete", {"id": ids["task"]}))
    query = "since=2026-11-01T00:00:00Z&until=2026-11-30T00:00:00Z"
    path = "/api/v1/tasks/completed/by_completion_date"

    def read(token: str) -> set[str]:
        status, body = rest_reply(lambda reader: store.read(reader, token=token), path, query)
        assert status == 200, body
        return {t["content"] for t in body["items"]}

    assert read(A) == {"private", "passports"}
    assert read(B) == {"passports"}
    assert read(C) == set()


def test_accounts_are_kept_by_token_across_opens_and_an_email_is_one_accounts(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    first = SyncStore(path, accounts=[BEA])
    bea = _full(first, B)["user"]["id"]
    first.close()
    again = SyncStore(path, accounts=[LocalAccount(B, "bea@example.com", "Bea B.")])
    try:
        user = _full(again, B)["user"]
        assert (user["id"], user["full_name"]) == (bea, "Bea B.")
    finally:
        again.close()
    with pytest.raises(ValueError, match="email"):
        SyncStore(path, accounts=[BEA, LocalAccount(C, "Bea@example.com")])
    with pytest.raises(ValueError, match="email"):
        SyncStore(path, accounts=[LocalAccount(C, "local@localhost")])  # the first account's
    assert "token-b" not in repr(BEA)


def test_a_task_moved_out_of_or_into_a_shared_project_leaves_or_reaches_the_member_whole(store: SyncStore) -> None:
    ids = _shared_trip(store)
    token = _full(store, B)["sync_token"]
    inbox = _full(store, A)["user"]["inbox_project_id"]
    _run(store, A, cmd("item_move", {"id": ids["task"], "project_id": inbox}))
    after = store.sync(sync_token=token, resource_types=ALL, token=B)
    assert after["full_sync"] is True and after["items"] == [] and after["notes"] == []
    _run(store, A, cmd("item_move", {"id": ids["mine"], "project_id": ids["trip"]}))
    back = store.sync(sync_token=after["sync_token"], resource_types=ALL, token=B)
    assert _names(back["items"]) == {"private"}
    _run(store, A, cmd("item_move", {"id": ids["task"], "project_id": ids["trip"]}))
    again = store.sync(sync_token=back["sync_token"], resource_types=ALL, token=B)
    assert _names(again["items"]) == {"private", "passports"} and [n["content"] for n in again["notes"]] == [
        "in the drawer"
    ]


def test_a_member_moving_a_task_to_their_own_project_takes_it_out_of_the_owners_view(store: SyncStore) -> None:
    ids = _shared_trip(store)
    a_token, b_token = _full(store, A)["sync_token"], _full(store, B)["sync_token"]
    _run(store, B, cmd("item_move", {"id": ids["task"], "project_id": _full(store, B)["user"]["inbox_project_id"]}))
    owner = store.sync(sync_token=a_token, resource_types=ALL, token=A)
    assert owner["full_sync"] is True and "passports" not in _names(owner["items"])
    mover = store.sync(sync_token=b_token, resource_types=ALL, token=B)  # sees both projects: stays incremental
    assert mover["full_sync"] is False and _names(mover["items"]) == {"passports"}


def test_the_activity_log_names_who_changed_a_shared_project_and_each_account_reads_its_own(store: SyncStore) -> None:
    ids = _shared_trip(store)
    _run(store, B, cmd("item_complete", {"id": ids["task"]}))
    _run(store, A, cmd("item_complete", {"id": ids["mine"]}))
    bea = _full(store, B)["user"]["id"]

    def events(token: str, query: str = "") -> list[tuple[str, str | None]]:
        status, body = rest_reply(lambda reader: store.read(reader, token=token), ACTIVITIES_PATH, query)
        assert status == 200, body
        return [(e["event_type"], e["initiator_id"]) for e in body["results"] if e["object_type"] == "item"]

    done = [e for e in events(A) if e[0] == "completed"]
    assert done == [("completed", None), ("completed", bea)]  # newest first: A's private task, then Bea's
    assert events(A, f"initiator_id={bea}") == [("completed", bea)]
    assert ("completed", None) not in events(B)  # A's private task is not in Bea's log


def test_one_request_writing_in_a_shared_and_a_private_project_names_the_initiator_only_in_the_shared_one(
    store: SyncStore,
) -> None:
    ids = _shared_trip(store)
    inbox = _full(store, A)["user"]["inbox_project_id"]
    _run(store, A, cmd("item_add", {"content": "tickets", "project_id": ids["trip"]}),
         cmd("item_add", {"content": "plants", "project_id": inbox}),
         cmd("item_add", {"content": "maps", "project_id": ids["trip"]}))  # fmt: skip
    status, body = rest_reply(lambda reader: store.read(reader, token=A), ACTIVITIES_PATH, "")
    assert status == 200, body
    owner = _full(store, A)["user"]["id"]
    added = [(e["extra_data"]["content"], e["initiator_id"]) for e in body["results"] if e["object_type"] == "item"]
    assert added[:3] == [("maps", owner), ("plants", None), ("tickets", owner)]


def test_a_member_cannot_take_the_owner_off_the_project(store: SyncStore) -> None:
    ids = _shared_trip(store)
    refused = _status(store, B, cmd("delete_collaborator", {"project_id": ids["trip"], "email": "local@localhost"}))
    assert_error(refused, "INVALID_ARGUMENT_VALUE", "email")
    assert "Trip" in _names(_full(store, A)["projects"]) and "Trip" in _names(_full(store, B)["projects"])


def test_a_store_made_before_accounts_keeps_everything_the_first_accounts(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = SyncStore(str(path))
    _run(old, A, cmd("label_add", {"name": "home"}), cmd("project_add", {"name": "Work"}, "p"))
    _run(old, A, cmd("share_project", {"project_id": _full(old, A)["projects"][-1]["id"], "email": "x@example.com"}))
    old.close()
    db = sqlite3.connect(path)  # the schema before accounts: no owner column, no accounts table
    db.executescript("DROP INDEX objects_owned; ALTER TABLE objects DROP COLUMN owner; DROP TABLE accounts;")
    db.execute("UPDATE objects SET project_id = NULL WHERE kind = 'collaborator_state'")
    db.commit()
    db.close()
    again = SyncStore(str(path), accounts=[BEA])
    try:
        a, b = _full(again, A), _full(again, B)
        assert _names(a["projects"]) == {"Inbox", "Work"} and _names(a["labels"]) == {"home"}
        assert [c["email"] for c in a["collaborators"]] == ["x@example.com"]
        assert _names(b["projects"]) == {"Inbox"} and b["labels"] == [] and b["collaborators"] == []
    finally:
        again.close()


@pytest.mark.anyio
async def test_local_apis_sync_endpoint_takes_each_accounts_token_and_no_other(store: SyncStore) -> None:
    app = build_app(store, A, accounts=[BEA, CEE])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://local") as http:

        async def user(token: str) -> tuple[int, str | None]:
            headers = {"Authorization": f"Bearer {token}"}
            response = await http.post(
                "/api/v1/sync", json={"sync_token": "*", "resource_types": ["user"]}, headers=headers
            )
            return response.status_code, response.json().get("user", {}).get("email")

        assert await user(A) == (200, "local@localhost")
        assert await user(B) == (200, "bea@example.com")
        assert await user(C) == (200, "cee@example.com")
        assert (await user("someone-else"))[0] == 403


def test_the_inviter_can_withdraw_an_open_invitation(store: SyncStore) -> None:
    ids = _run(store, A, cmd("project_add", {"name": "Trip"}, "trip"))
    _run(store, A, cmd("share_project", {"project_id": ids["trip"], "email": "bea@example.com"}))
    [invite] = _full(store, B)["live_notifications"]
    withdraw = cmd("delete_invitation", {"invitation_id": invite["invitation_id"]})
    assert_error(_status(store, C, withdraw), "INVITATION_NOT_FOUND")  # only the inviter can
    _run(store, A, cmd("delete_invitation", {"invitation_id": invite["invitation_id"]}))
    assert _full(store, B)["live_notifications"] == []
    assert_error(_status(store, B, cmd("accept_invitation", _answer(invite))), "INVITATION_NOT_FOUND")
    assert [p["shared"] for p in _full(store, A)["projects"] if p["name"] == "Trip"] == [False]


def test_an_account_marks_its_own_notifications_read_or_unread(store: SyncStore) -> None:
    ids = _run(store, A, cmd("project_add", {"name": "Trip"}, "trip"), cmd("project_add", {"name": "Home"}, "home"))
    for project in ("trip", "home"):
        _run(store, A, cmd("share_project", {"project_id": ids[project], "email": "bea@example.com"}))
    first, second = (n["id"] for n in _full(store, B)["live_notifications"])
    _run(store, C, cmd("live_notifications_mark_read", {"ids": [first]}))  # not Cee's: nothing happens

    def unread() -> list[bool]:
        return [n["is_unread"] for n in _full(store, B)["live_notifications"]]

    assert unread() == [True, True]
    _run(store, B, cmd("live_notifications_mark_read", {"ids": [first]}))
    assert unread() == [False, True]
    _run(store, B, cmd("live_notifications_mark_read_all", {}))
    assert unread() == [False, False]
    _run(store, B, cmd("live_notifications_mark_unread", {"ids": [second]}))
    assert unread() == [False, True]

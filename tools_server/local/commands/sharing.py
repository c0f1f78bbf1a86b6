"""Sharing commands (reference §3: ``share_project``, ``delete_collaborator``, ``accept_invitation``,
``reject_invitation``, ``delete_invitation``) and the rule they set up: only a collaborator of a task's project can
be made responsible for it (reference §2.11).

A person is found by email: another account of this store (its user id is the collaborator's id), else someone known
by email alone, a ``collaborator`` created the first time the email is shared with and kept after (Todoist's
collaborators are people, not memberships). A ``collaborator_state`` (project, user, state) is the membership, stored
under the id ``<project_id>:<user_id>`` and answered without it (Todoist's memberships have no id). The owner joins as
``active`` when the project is first shared; an invitee is ``invited`` (the documented states are active and invited).
An invited account gets a ``share_invitation_sent`` live notification with the invitation's id and secret, and sees
the project once it answers ``accept_invitation`` with them (``reject_invitation`` ends the membership; the inviter
hears of either, and can withdraw an open invitation with ``delete_invitation``), as Todoist's invitation flow goes;
someone known by email alone stays invited, as nobody can accept for them here.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sqlite3
from typing import Annotated, Any, cast

from pydantic import Field, StrictStr

from tools_server.local.args import Args, Id, parse_args
from tools_server.local.commands.notifications import notify
from tools_server.local.commands.table import command
from tools_server.local.errors import invalid_argument, not_found
from tools_server.local.tx import Obj, Tx, visible_projects

Email = Annotated[StrictStr, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class ShareArgs(Args):
    project_id: Id
    email: Email


class InvitationArgs(Args):
    invitation_id: Id
    invitation_secret: Annotated[StrictStr, Field(min_length=1)]


def _state_id(project_id: str, user_id: str) -> str:
    return f"{project_id}:{user_id}"


def _person(tx: Tx, email: str) -> tuple[Obj, bool] | None:
    """The person with this email and whether they are an account of this store."""
    for kind in ("user", "collaborator"):
        row = tx.db.execute(
            "SELECT data FROM objects WHERE kind = ? AND lower(json_extract(data, '$.email')) = ?",
            (kind, email.casefold()),
        ).fetchone()
        if row is not None:
            return cast(Obj, json.loads(row[0])), kind == "user"
    return None


def _shared(tx: Tx, raw: dict[str, Any]) -> tuple[ShareArgs, Obj]:
    args = parse_args(ShareArgs, raw)
    project = tx.resolve("project", "project_id", args.project_id)
    if project.get("inbox_project"):
        raise invalid_argument("project_id", "the Inbox cannot be shared")
    return args, project


def _join(tx: Tx, project_id: str, user_id: str, state: str) -> bool:
    """Make the membership (unless it is live already); whether it was made."""
    kept = tx.peek("collaborator_state", _state_id(project_id, user_id))
    if kept is not None and not kept.get("is_deleted"):
        return False
    membership: Obj = {"id": _state_id(project_id, user_id), "project_id": project_id, "user_id": user_id}
    tx.put("collaborator_state", {**membership, "state": state, "is_deleted": False})
    return True


def _invite(tx: Tx, project: Obj, invitee: str) -> None:
    """The invitee account's live notification: what it needs to accept or reject."""
    invitation: Obj = {
        "invitation_id": tx.fresh_id(),
        "invitation_secret": secrets.token_urlsafe(16),
        "project_id": project["id"],
        "project_name": project.get("name", ""),
        "state": "invited",
    }
    notify(tx, invitee, "share_invitation_sent", invitation)


@command
def share_project(tx: Tx, raw: dict[str, Any]) -> None:
    args, project = _shared(tx, raw)
    user = tx.get("user", tx.user_id) or {}
    if args.email.casefold() == str(user.get("email", "")).casefold():
        raise invalid_argument("email", "a project cannot be shared with its owner")
    found = _person(tx, args.email)
    if found is None:
        person: Obj = {
            "id": tx.fresh_id(),
            "email": args.email,
            "full_name": args.email.split("@", 1)[0],
            "timezone": "UTC",
            "image_id": None,
        }
        tx.put("collaborator", person)
        found = person, False
    person, is_account = found
    _join(tx, project["id"], tx.user_id, "active")
    if _join(tx, project["id"], person["id"], "invited") and is_account:
        _invite(tx, project, person["id"])
    if not project.get("shared"):
        project.update(shared=True, is_shared=True, can_assign_tasks=True)
        tx.put("project", project)


def _invitations(tx: Tx, project_id: str, user_id: str) -> list[Obj]:
    """The user's open invitations to the project."""
    rows = tx.db.execute(
        "SELECT data FROM objects WHERE kind = 'live_notification' AND active = 1 AND owner = ?"
        " AND json_extract(data, '$.project_id') = ? AND json_extract(data, '$.state') = 'invited'",
        (user_id, project_id),
    )
    return [cast(Obj, json.loads(row[0])) for row in rows]


@command
def delete_collaborator(tx: Tx, raw: dict[str, Any]) -> None:
    """The person leaves the project (an open invitation is withdrawn); when no one but the owner is left, the project
    is no longer shared."""
    args, project = _shared(tx, raw)
    found = _person(tx, args.email)
    person = found[0] if found is not None else None
    state = tx.peek("collaborator_state", _state_id(project["id"], person["id"])) if person is not None else None
    if person is None or state is None or state.get("is_deleted") or person["id"] == tx.user_id:
        raise invalid_argument("email", "not a collaborator of this project")
    owner = tx.db.execute("SELECT owner FROM objects WHERE id = ? AND kind = 'project'", (project["id"],)).fetchone()
    if owner is not None and owner[0] == person["id"]:
        raise invalid_argument("email", "the project's owner cannot be removed from it")
    _leave(tx, project, state)


def _leave(tx: Tx, project: Obj, state: Obj) -> None:
    """End a membership (and withdraw its open invitation); when no one but the owner is left, the project is no
    longer shared."""
    tx.put("collaborator_state", {**state, "is_deleted": True})
    for notice in _invitations(tx, project["id"], str(state["user_id"])):
        tx.put("live_notification", {**notice, "state": "deleted", "is_deleted": True})
    if not [uid for uid in members(tx, project["id"]) if uid != tx.user_id]:
        owner = tx.peek("collaborator_state", _state_id(project["id"], tx.user_id))
        if owner is not None:
            tx.put("collaborator_state", {**owner, "is_deleted": True})
        project.update(shared=False, is_shared=False, can_assign_tasks=False)
        tx.put("project", project)


class InvitationIdArgs(Args):
    invitation_id: Id


@command
def delete_invitation(tx: Tx, raw: dict[str, Any]) -> None:
    """The inviter withdraws an invitation not yet answered."""
    args = parse_args(InvitationIdArgs, raw)
    row = tx.db.execute(
        "SELECT data, owner FROM objects WHERE kind = 'live_notification' AND active = 1"
        " AND json_extract(data, '$.invitation_id') = ? AND json_extract(data, '$.from_uid') = ?"
        " AND json_extract(data, '$.notification_type') = 'share_invitation_sent'",
        (args.invitation_id, tx.user_id),
    ).fetchone()
    notice: Obj | None = None if row is None else json.loads(row[0])
    project = tx.get("project", str(notice["project_id"])) if notice is not None else None
    if row is None or notice is None or project is None or notice.get("state") != "invited":
        raise not_found("invitation", "invitation_id")
    state = tx.peek("collaborator_state", _state_id(project["id"], str(row[1])))
    if state is None or state.get("is_deleted"):
        raise not_found("invitation", "invitation_id")
    _leave(tx, project, state)


def _invitation(tx: Tx, raw: dict[str, Any]) -> tuple[Obj, Obj]:
    """The account's open invitation the arguments name (its notification and membership)."""
    args = parse_args(InvitationArgs, raw)
    row = tx.db.execute(
        "SELECT data FROM objects WHERE kind = 'live_notification' AND owner = ?"
        " AND json_extract(data, '$.invitation_id') = ?",
        (tx.user_id, args.invitation_id),
    ).fetchone()
    notice: Obj | None = None if row is None else json.loads(row[0])
    if notice is None or notice.get("is_deleted"):
        raise not_found("invitation", "invitation_id")
    if not hmac.compare_digest(str(notice.get("invitation_secret", "")).encode(), args.invitation_secret.encode()):
        raise invalid_argument("invitation_secret", "does not match the invitation")
    state = tx.peek("collaborator_state", _state_id(str(notice["project_id"]), tx.user_id))
    if notice.get("state") != "invited" or state is None or state.get("is_deleted") or state.get("state") != "invited":
        raise invalid_argument("invitation_id", "the invitation was already answered or withdrawn")
    return notice, state


def _answered(tx: Tx, notice: Obj, answer: str) -> None:
    """The invitation answered: the invitee's notification says so, and the inviter hears of it."""
    tx.put("live_notification", {**notice, "state": answer, "is_unread": False})
    about = {k: notice[k] for k in ("invitation_id", "project_id", "project_name")}
    notify(tx, str(notice["from_uid"]), f"share_invitation_{answer}", about)


@command
def accept_invitation(tx: Tx, raw: dict[str, Any]) -> None:
    notice, state = _invitation(tx, raw)
    tx.put("collaborator_state", {**state, "state": "active"})
    _answered(tx, notice, "accepted")


@command
def reject_invitation(tx: Tx, raw: dict[str, Any]) -> None:
    notice, state = _invitation(tx, raw)
    tx.put("collaborator_state", {**state, "is_deleted": True})
    _answered(tx, notice, "rejected")


def members(tx: Tx, project_id: str) -> set[str]:
    """The user ids of the project's live memberships (active or invited)."""
    rows = tx.db.execute(
        "SELECT json_extract(data, '$.user_id') FROM objects WHERE kind = 'collaborator_state' AND active = 1"
        " AND project_id = ?",
        (project_id,),
    )
    return {str(row[0]) for row in rows}


def moved_between(tx: Tx, source: str, target: str) -> None:
    """Tasks or a section went from one project to another: whoever sees only one of the two (a member of a shared
    one) gets a full sync next, the one answer that drops what left their view and brings what came into it with its
    comments (``resync_since``)."""
    if source == target:
        return
    people = tx.db.execute(
        "SELECT json_extract(data, '$.user_id') FROM objects WHERE kind = 'collaborator_state' AND active = 1"
        " AND project_id IN (?, ?) UNION SELECT owner FROM objects WHERE kind = 'project' AND id IN (?, ?)",
        (source, target, source, target),
    ).fetchall()
    for (uid,) in people:
        if uid is not None and len({source, target} & visible_projects(tx.db, str(uid))) == 1:
            tx.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"resync:{uid}", str(tx.seq)))


def resync_since(db: sqlite3.Connection, user_id: str) -> int:
    """The last change after which the user's view must be read whole (0: none)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (f"resync:{user_id}",)).fetchone()
    return int(row[0]) if row is not None else 0


def check_responsible(tx: Tx, project_id: str, uid: str | None) -> None:
    """Only a collaborator of the project (or the user, in a project of their own) can be responsible for a task."""
    if not uid or uid == tx.user_id or uid in members(tx, project_id):
        return
    raise invalid_argument("responsible_uid", "only a collaborator of the project can be responsible for its tasks")


def assigned(tx: Tx, item: Obj) -> None:
    """A task was given to another account of this store: it hears of it (Todoist's ``item_assigned``)."""
    uid = item.get("responsible_uid")
    if not uid or uid == tx.user_id or tx.peek("user", str(uid)) is None:
        return
    about: Obj = {
        "item_id": item["id"],
        "item_content": item.get("content", ""),
        "project_id": item.get("project_id"),
        "responsible_uid": uid,
        "assigned_by_uid": tx.user_id,
    }
    notify(tx, str(uid), "item_assigned", about)

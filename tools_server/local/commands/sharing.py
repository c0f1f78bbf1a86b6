"""Sharing commands (reference §3: ``share_project``, ``delete_collaborator``) and the rule they set up: only a
collaborator of a task's project can be made responsible for it (reference §2.11).

This backend keeps one account; the people a project is shared with are known by their email alone. A ``collaborator``
(id, email, name) is created the first time an email is shared with and kept after (Todoist's collaborators are people,
not memberships); a ``collaborator_state`` (project, user, state) is the membership, stored under the id
``<project_id>:<user_id>`` and answered without it (Todoist's memberships have no id). A new invitee is ``invited``
(the documented states are active and invited); the owner joins as ``active`` when the project is first shared. The
owner is no ``collaborator`` row here (ids are one key space with the user object): a client knows the user already.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, cast

from pydantic import Field, StrictStr

from tools_server.local.args import Args, Id, parse_args
from tools_server.local.commands.table import command
from tools_server.local.errors import invalid_argument
from tools_server.local.tx import Obj, Tx

Email = Annotated[StrictStr, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class ShareArgs(Args):
    project_id: Id
    email: Email


def _state_id(project_id: str, user_id: str) -> str:
    return f"{project_id}:{user_id}"


def _person(tx: Tx, email: str) -> Obj | None:
    row = tx.db.execute(
        "SELECT data FROM objects WHERE kind = 'collaborator' AND lower(json_extract(data, '$.email')) = ?",
        (email.casefold(),),
    ).fetchone()
    return None if row is None else cast(Obj, json.loads(row[0]))


def _shared(tx: Tx, raw: dict[str, Any]) -> tuple[ShareArgs, Obj]:
    args = parse_args(ShareArgs, raw)
    project = tx.resolve("project", "project_id", args.project_id)
    if project.get("inbox_project"):
        raise invalid_argument("project_id", "the Inbox cannot be shared")
    return args, project


def _join(tx: Tx, project_id: str, user_id: str, state: str) -> None:
    kept = tx.get("collaborator_state", _state_id(project_id, user_id))
    if kept is not None and not kept.get("is_deleted"):
        return
    membership: Obj = {"id": _state_id(project_id, user_id), "project_id": project_id, "user_id": user_id}
    tx.put("collaborator_state", {**membership, "state": state, "is_deleted": False})


@command
def share_project(tx: Tx, raw: dict[str, Any]) -> None:
    args, project = _shared(tx, raw)
    user = tx.get("user", tx.meta["user_id"]) or {}
    if args.email.casefold() == str(user.get("email", "")).casefold():
        raise invalid_argument("email", "a project cannot be shared with its owner")
    person = _person(tx, args.email)
    if person is None:
        person = cast(
            Obj,
            {
                "id": tx.fresh_id(),
                "email": args.email,
                "full_name": args.email.split("@", 1)[0],
                "timezone": "UTC",
                "image_id": None,
            },
        )
        tx.put("collaborator", person)
    _join(tx, project["id"], tx.meta["user_id"], "active")
    _join(tx, project["id"], person["id"], "invited")
    if not project.get("shared"):
        project.update(shared=True, is_shared=True, can_assign_tasks=True)
        tx.put("project", project)


@command
def delete_collaborator(tx: Tx, raw: dict[str, Any]) -> None:
    """The person leaves the project; when no one but the owner is left, the project is no longer shared."""
    args, project = _shared(tx, raw)
    person = _person(tx, args.email)
    state = tx.get("collaborator_state", _state_id(project["id"], person["id"])) if person is not None else None
    if person is None or state is None or state.get("is_deleted") or person["id"] == tx.meta["user_id"]:
        raise invalid_argument("email", "not a collaborator of this project")
    tx.put("collaborator_state", {**state, "is_deleted": True})
    if not [uid for uid in members(tx, project["id"]) if uid != tx.meta["user_id"]]:
        owner = tx.get("collaborator_state", _state_id(project["id"], tx.meta["user_id"]))
        if owner is not None:
            tx.put("collaborator_state", {**owner, "is_deleted": True})
        project.update(shared=False, is_shared=False, can_assign_tasks=False)
        tx.put("project", project)


def members(tx: Tx, project_id: str) -> set[str]:
    """The user ids of the project's live memberships (active or invited)."""
    rows = tx.db.execute(
        "SELECT json_extract(data, '$.user_id') FROM objects WHERE kind = 'collaborator_state' AND active = 1"
        " AND json_extract(data, '$.project_id') = ?",
        (project_id,),
    )
    return {str(row[0]) for row in rows}


def check_responsible(tx: Tx, project_id: str, uid: str | None) -> None:
    """Only a collaborator of the project (or the user, in a project of their own) can be responsible for a task."""
    if not uid or uid == tx.meta["user_id"] or uid in members(tx, project_id):
        return
    raise invalid_argument("responsible_uid", "only a collaborator of the project can be responsible for its tasks")

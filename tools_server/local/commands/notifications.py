"""Live notifications (reference §2.12, §3): made for an account by what others do (an invitation, its answer, a task
given to it), and marked read or unread by their account (``live_notifications_mark_read`` / ``_mark_unread`` /
``_mark_read_all``). Each is its account's alone."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field

from tools_server.local.args import Args, Id, parse_args
from tools_server.local.commands.table import command
from tools_server.local.tx import Obj, Tx


class IdsArgs(Args):
    ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]


def notify(tx: Tx, to: str, kind: str, about: Obj) -> None:
    """A live notification of type ``kind`` for account ``to``, from the request's account (Todoist's common fields,
    then ``about``: the project, task or invitation it is about)."""
    me = tx.get("user", tx.user_id) or {}
    notice: Obj = {
        "id": tx.fresh_id(),
        "created_at": tx.stamp,
        "notification_type": kind,
        "notification_key": f"{kind}:{about.get('project_id') or about.get('item_id')}:{to}",
        "is_unread": True,
        "is_deleted": False,
        "from_uid": tx.user_id,
        "from_user": {
            "id": tx.user_id,
            "email": str(me.get("email", "")),
            "full_name": str(me.get("full_name", "")),
            "image_id": me.get("image_id"),
        },
        **about,
    }
    tx.put("live_notification", notice, owner=to)


def _mark(tx: Tx, ids: list[str] | None, unread: bool) -> None:
    """Set ``is_unread`` on the account's notifications (those named, or all); ids it does not have are skipped, as
    for Todoist's bulk commands."""
    if ids is None:
        rows = tx.db.execute(
            "SELECT data FROM objects WHERE kind = 'live_notification' AND active = 1 AND owner = ?", (tx.user_id,)
        ).fetchall()
        found: list[Obj] = [json.loads(row[0]) for row in rows]
    else:
        found = [n for n in (tx.get("live_notification", i) for i in dict.fromkeys(ids)) if n is not None]
    for notice in found:
        if notice.get("is_unread") != unread and not notice.get("is_deleted"):
            tx.put("live_notification", {**notice, "is_unread": unread})


@command
def live_notifications_mark_read(tx: Tx, raw: dict[str, Any]) -> None:
    _mark(tx, parse_args(IdsArgs, raw).ids, unread=False)


@command
def live_notifications_mark_unread(tx: Tx, raw: dict[str, Any]) -> None:
    _mark(tx, parse_args(IdsArgs, raw).ids, unread=True)


@command
def live_notifications_mark_read_all(tx: Tx, raw: dict[str, Any]) -> None:
    parse_args(Args, raw)
    _mark(tx, None, unread=False)

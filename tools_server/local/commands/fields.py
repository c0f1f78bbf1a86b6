"""Argument values as several command families store them (text, dues, date-times, optional fields), or
INVALID_ARGUMENT_VALUE naming the argument."""

from __future__ import annotations

from pydantic import BaseModel

from tools_server.local.args import DueArg
from tools_server.local.dates import DueError, resolve_due
from tools_server.local.errors import invalid_argument
from tools_server.local.moments import as_utc, parse_moment, timestamp
from tools_server.local.tx import Obj, Tx


def nonblank(argument: str, value: str) -> str:
    if not value.strip():
        raise invalid_argument(argument, "must not be empty")
    return value


def due_from_arg(tx: Tx, due: DueArg) -> Obj:
    """A due argument (of a task, a reminder, a recurring completion) as stored, read in the user's timezone."""
    if not tx.accept_client_due_shapes:
        # Not documented inputs (reference §3): a datetime goes in due.date, and lang is a string or left out.
        if "datetime" in due.model_fields_set:
            raise invalid_argument("due.datetime", "not a due input key; send the datetime as due.date")
        if "lang" in due.model_fields_set and due.lang is None:
            raise invalid_argument("due.lang", "must be a language code such as 'en', or left out")
    try:
        resolved = resolve_due(due, now=tx.now, timezone=tx.meta.get("timezone", "UTC"))
    except DueError as exc:
        raise invalid_argument(exc.argument, exc.explanation) from None
    return resolved.model_dump()


def stamp_argument(argument: str, value: str) -> str:
    """A date-time argument (``completed_at``, ``archived_at``) as a stored UTC stamp; it must name its offset."""
    try:
        moment = parse_moment(value)
    except ValueError:
        raise invalid_argument(argument, f"{value!r} is not an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise invalid_argument(argument, "needs a timezone, e.g. a trailing Z")
    return timestamp(as_utc(moment))


def assign_given(target: Obj, args: BaseModel, *names: str) -> None:
    """The update rule of most ``*_update`` commands: each named argument sent with a value replaces the stored field;
    left out or null, the field stays as it is."""
    for name in names:
        value = getattr(args, name)
        if value is not None:
            target[name] = value

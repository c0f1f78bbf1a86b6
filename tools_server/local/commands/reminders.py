"""Reminder commands (reference §3, §2.7).

A relative reminder fires ``minute_offset`` minutes before its task's due time, so the task needs a timed due; an
absolute one has its own due, with a time, kept as Todoist answers it: a UTC moment (``...T07:00:00.000000Z``, the v1
docs' own example), the user's wall clock converted with their zone. Its ``due`` is stored for absolute reminders
only: a relative one's moment follows the task's due, which other commands change. A location reminder fires on
entering or leaving a place (name, loc_lat and loc_long as strings, loc_trigger, radius in metres); it is kept with
the others (one id space, deleted with its task) and read under its own resource type, ``reminders_location``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from tools_server.local.args import Args, DueArg, Id, IdArgs, parse_args
from tools_server.local.commands.fields import assign_given, due_from_arg
from tools_server.local.commands.lookups import delete_all
from tools_server.local.commands.table import command
from tools_server.local.errors import invalid_argument
from tools_server.local.moments import as_utc, known_zone, parse_moment, timestamp
from tools_server.local.tx import Obj, Tx

ReminderType = Literal["relative", "absolute", "location"]
LocationTrigger = Literal["on_enter", "on_leave"]
# The documented shape has a radius and a trigger on every location reminder and the add command may leave them out
# (Doist's SDK types both optional): assumptions of this backend, not documented defaults.
DEFAULT_RADIUS_METRES = 100
DEFAULT_TRIGGER: LocationTrigger = "on_enter"
_LOCATION_FIELDS = ("name", "loc_lat", "loc_long", "loc_trigger", "radius")


class _ReminderFields(Args):
    """What reminder_add and reminder_update both take besides naming their target."""

    notify_uid: Id | None = None
    due: DueArg | None = None
    minute_offset: Annotated[StrictInt, Field(ge=0)] | None = None
    is_urgent: StrictBool | None = None
    name: StrictStr | None = None
    loc_lat: StrictStr | None = None
    loc_long: StrictStr | None = None
    loc_trigger: LocationTrigger | None = None
    radius: Annotated[StrictInt, Field(ge=0)] | None = None


class ReminderAddArgs(_ReminderFields):
    item_id: Id
    type: ReminderType


class ReminderUpdateArgs(_ReminderFields):
    id: Id
    type: ReminderType | None = None


def _has_time(due: Obj | None) -> bool:
    return due is not None and "T" in str(due.get("date", ""))


def _coordinate(reminder: Obj, argument: str, bound: float) -> None:
    value = reminder.get(argument)
    try:
        number = float(value) if isinstance(value, str) else None
    except ValueError:
        number = None
    if number is None or not -bound <= number <= bound:
        raise invalid_argument(argument, f"a decimal number between -{bound:g} and {bound:g}, as a string")


def _check_location(reminder: Obj) -> None:
    if not str(reminder.get("name") or "").strip():
        raise invalid_argument("name", "required for a location reminder")
    _coordinate(reminder, "loc_lat", 90)
    _coordinate(reminder, "loc_long", 180)


def _check_reminder(item: Obj, reminder: Obj) -> None:
    if reminder["type"] == "location":
        _check_location(reminder)
        return
    if reminder["type"] == "relative":
        if reminder.get("minute_offset") is None:
            raise invalid_argument("minute_offset", "required for a relative reminder")
        if not _has_time(item.get("due")):
            raise invalid_argument("item_id", "a relative reminder needs a task whose due date has a time")
        return
    due = reminder.get("due")
    if due is None:
        raise invalid_argument("due", "required for an absolute reminder")
    if not _has_time(due):
        raise invalid_argument("due", "a reminder's due date needs a time")
    if due.get("is_recurring"):
        raise invalid_argument("due", "a reminder's due date cannot recur")


def _moment_due(tx: Tx, due: DueArg) -> Obj:
    """A reminder's due as Todoist returns it: the moment in UTC, ``timezone`` only when the argument named one."""
    stored = due_from_arg(tx, due)
    date = str(stored["date"])
    if "T" in date:
        moment = parse_moment(date)
        if moment.tzinfo is None:  # the user's wall clock (a due string, or a date without offset)
            zone = known_zone(tx.meta.get("timezone", "UTC")) or known_zone("UTC")
            moment = moment.replace(tzinfo=zone)
        stored["date"] = timestamp(as_utc(moment))
    stored["timezone"] = due.timezone
    return stored


def _shape(reminder: Obj) -> Obj:
    """Relative reminders carry minute_offset and no due; absolute ones a due and no minute_offset; location ones
    their place and neither (the time fields of a type it changed from go)."""
    if reminder["type"] == "location":
        reminder.pop("due", None)
        reminder.pop("minute_offset", None)
        if reminder.get("radius") is None:
            reminder["radius"] = DEFAULT_RADIUS_METRES
        if reminder.get("loc_trigger") is None:
            reminder["loc_trigger"] = DEFAULT_TRIGGER
        return reminder
    for name in _LOCATION_FIELDS:
        reminder.pop(name, None)
    if reminder["type"] == "relative":
        reminder["due"] = None
    else:
        reminder.pop("minute_offset", None)
    return reminder


@command
def reminder_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(ReminderAddArgs, raw)
    item = tx.resolve("item", "item_id", args.item_id)
    reminder: Obj = {
        "id": "",
        "notify_uid": args.notify_uid or tx.meta["user_id"],
        "item_id": item["id"],
        "type": args.type,
        "due": _moment_due(tx, args.due) if args.due is not None else None,
        "minute_offset": args.minute_offset,
        "is_urgent": bool(args.is_urgent),
        "is_deleted": False,
        **{name: getattr(args, name) for name in _LOCATION_FIELDS if getattr(args, name) is not None},
    }
    _check_reminder(item, reminder)
    reminder["id"] = tx.fresh_id()
    tx.put("reminder", _shape(reminder))
    return reminder["id"]


@command
def reminder_update(tx: Tx, raw: dict[str, Any]) -> None:
    """Given fields replace the stored ones; a change of type must bring what the new type needs."""
    args = parse_args(ReminderUpdateArgs, raw)
    reminder = tx.resolve("reminder", "id", args.id)
    item = tx.resolve("item", "item_id", reminder["item_id"])
    assign_given(reminder, args, "type", "notify_uid", "minute_offset", "is_urgent", *_LOCATION_FIELDS)
    if args.due is not None:
        reminder["due"] = _moment_due(tx, args.due)
    _check_reminder(item, reminder)
    tx.put("reminder", _shape(reminder))


@command
def reminder_delete(tx: Tx, raw: dict[str, Any]) -> None:
    delete_all(tx, "reminder", [tx.resolve("reminder", "id", parse_args(IdArgs, raw).id)])

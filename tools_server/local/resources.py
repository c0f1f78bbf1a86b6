"""Resource objects in the shape Doist's SDK requires (fidelity reference §2, §9 "Send"): every key, the strictest type.

``complete(kind, obj)`` fills what an object lacks (objects written by older versions of this backend, or by a handler
that only sets what it knows) and drops keys that would select the wrong SDK schema; ``Tx.put`` applies it to every
object it stores, and the store applies it once to every row of an older database when it opens it.

The user's ``tz_info`` depends on the moment (DST), so it is computed when the user is read (``user_for_read``), from
the account's timezone in the store's meta, never stored. Resource types the backend does not keep are answered with an
empty value of the right type (``EMPTY_RESOURCES``), because the SDK rejects ``{}`` where it expects an array.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tools_server.local.moments import as_utc, known_zone

Obj = dict[str, Any]

# Bumped when the stored shape changes; a database with a lower number is completed once when opened.
SHAPE_VERSION = "2"

_ITEM: Obj = {
    "user_id": "",
    "project_id": "",
    "section_id": None,
    "parent_id": None,
    "content": "",
    "description": "",
    "priority": 1,
    "labels": [],
    "due": None,
    "deadline": None,
    "duration": None,
    "child_order": 0,
    "day_order": -1,
    "is_collapsed": False,
    "added_by_uid": None,
    "assigned_by_uid": None,
    "responsible_uid": None,
    "checked": False,
    "is_deleted": False,
    "added_at": None,
    "updated_at": None,
    "completed_at": None,
}
_PROJECT: Obj = {
    "name": "",
    "color": "charcoal",
    "parent_id": None,
    "child_order": 0,
    "default_order": 0,
    "description": "",
    "is_collapsed": False,
    "shared": False,
    "is_shared": False,
    "can_assign_tasks": False,
    "is_frozen": False,
    "is_deleted": False,
    "is_archived": False,
    "is_favorite": False,
    "view_style": "list",
    "folder_id": None,
    "created_at": None,
    "updated_at": None,
}
_SECTION: Obj = {
    "name": "",
    "project_id": "",
    "user_id": "",
    "description": None,
    "section_order": 0,
    "is_collapsed": False,
    "is_archived": False,
    "is_deleted": False,
    "archived_at": None,
    "added_at": "1970-01-01T00:00:00.000000Z",
    "updated_at": "1970-01-01T00:00:00.000000Z",
}
_LABEL: Obj = {"name": "", "color": "charcoal", "item_order": 0, "order": 0, "is_deleted": False, "is_favorite": False}
_USER: Obj = {
    "email": "local@localhost",
    "full_name": "Local user",
    "activated_user": True,
    "auto_reminder": 0,
    "business_account_id": None,
    "daily_goal": 5,
    "weekly_goal": 25,
    "date_format": 0,
    "time_format": 0,
    "dateist_lang": None,
    "days_off": [6, 7],
    "features": {
        "karma_disabled": False,
        "restriction": 3,
        "karma_vacation": False,
        "dateist_lang": None,
        "beta": 0,
        "has_push_reminders": False,
        "dateist_inline_disabled": False,
    },
    "getting_started_guide_projects": None,
    "has_magic_number": False,
    "has_password": True,
    "image_id": None,
    "is_celebrations_enabled": True,
    "is_premium": False,
    "joinable_workspace": None,
    "joined_at": "1970-01-01T00:00:00.000000Z",
    "karma": 0,
    "karma_trend": "none",
    "lang": "en",
    "mfa_enabled": False,
    "next_week": 1,
    "premium_status": "not_premium",
    "premium_until": None,
    "share_limit": 5,
    "sort_order": 0,
    "start_day": 1,
    "start_page": "inbox",
    "theme_id": "0",
    "unique_prefix": 1,
    "verification_status": "unverified",
    "websocket_url": "ws://127.0.0.1/ws",
    "weekend_start_day": 6,
}
_DEFAULTS: dict[str, Obj] = {"item": _ITEM, "project": _PROJECT, "section": _SECTION, "label": _LABEL, "user": _USER}

USER_SETTINGS: Obj = {
    "reminder_push": True,
    "reminder_desktop": True,
    "reminder_email": False,
    "completed_sound_desktop": True,
    "completed_sound_mobile": True,
    "reset_recurring_subtasks": False,
    "ai_email_assist": False,
    "legacy_pricing": 0,
    "navigation": {"counts_shown": True, "features": []},
    "quick_add": {"labels_shown": True, "features": []},
}
USER_PLAN_LIMITS: Obj = {
    "current": {
        "plan_name": "local",
        "max_projects": 1000,
        "max_sections": 1000,
        "max_tasks": 100_000,
        "max_labels": 1000,
        "max_filters": 150,
        "activity_log": False,
        "activity_log_limit": 0,
    },
    "next": None,
}
_EMPTY_LISTS = (
    "notes",
    "project_notes",
    "filters",
    "reminders",
    "reminders_location",
    "locations",
    "completed_info",
    "workspaces",
    "workspace_users",
    "workspace_filters",
    "view_options",
    "project_view_options_defaults",
    "role_actions",
    "folders",
    "calendars",
    "calendar_accounts",
    "suggestions",
)
# Every resource type of the SDK's SYNC_RESOURCE_TYPES that the store does not keep -> its empty answer.
EMPTY_RESOURCES: dict[str, Any] = {
    **{name: [] for name in _EMPTY_LISTS},
    "day_orders": {},
    "notification_settings": {},
    "tooltips": {"seen": [], "scheduled": []},
    "stats": {"completed_count": 0, "days_items": [], "week_items": []},
    "user_settings": USER_SETTINGS,
    "user_plan_limits": USER_PLAN_LIMITS,
}
# Never in a full sync (reference §1).
INCREMENTAL_ONLY = frozenset({"workspace_users"})


def empty(name: str) -> Any:
    return copy.deepcopy(EMPTY_RESOURCES[name])


def complete(kind: str, obj: Obj) -> Obj:
    """``obj`` with every key its kind requires (defaults for the missing ones), in place, and returned."""
    defaults = _DEFAULTS.get(kind)
    if defaults is None:
        return obj
    if kind == "label" and obj.get("order") is None:
        obj["order"] = obj.get("item_order") or 0  # the REST name of the same position
    if not defaults.keys() <= obj.keys():  # set operations on key views: cheap when nothing is missing (every put)
        for key in defaults.keys() - obj.keys():
            obj[key] = copy.deepcopy(defaults[key])  # a fresh list/dict per object (scalars copy for free)
    if kind == "item":
        _complete_item(obj)
    elif kind == "project":
        # A workspace_id key, even null, selects the SDK's workspace-project schema; personal projects have none.
        obj.pop("workspace_id", None)
        obj["is_shared"] = obj["shared"] = bool(obj.get("shared") or obj.get("is_shared"))
        if not obj.get("inbox_project"):
            obj.pop("inbox_project", None)  # "true or otherwise not sent"
    elif kind == "section":
        obj["added_at"] = obj["added_at"] or _SECTION["added_at"]
        obj["updated_at"] = obj["updated_at"] or obj["added_at"]
    elif kind == "user":
        obj.pop("timezone", None)  # not a user field in v1 (the zone is in tz_info)
        obj.pop("is_deleted", None)
        obj.setdefault("feature_identifier", f"{obj.get('id', '')}_0")
    return obj


def _complete_item(item: Obj) -> None:
    due: Obj | None = item.get("due")
    if due is not None:
        due.pop("datetime", None)  # a REST-era key; the due's datetime is its date
        due.setdefault("string", "")
        due.setdefault("is_recurring", False)
        due.setdefault("timezone", None)
        if not due.get("lang"):
            due["lang"] = "en"
    deadline: Obj | None = item.get("deadline")
    if deadline is not None and not deadline.get("lang"):
        deadline["lang"] = "en"


def tz_info(zone_name: str, now: datetime) -> Obj:
    """``{timezone, gmt_string "+14:00", hours, minutes, is_dst 0|1}`` for the zone at ``now``."""
    zone = known_zone(zone_name)
    if zone is None:
        zone, zone_name = ZoneInfo("UTC"), "UTC"
    local = as_utc(now).astimezone(zone)
    offset = local.utcoffset() or timedelta(0)
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    dst = local.dst()
    return {
        "timezone": zone_name,
        "gmt_string": f"{sign}{hours:02d}:{minutes:02d}",
        "hours": -hours if total < 0 else hours,
        "minutes": -minutes if total < 0 else minutes,
        "is_dst": int(bool(dst)),
    }


def user_for_read(stored: Obj, meta: dict[str, str], now: datetime) -> Obj:
    """The stored user with the account's settings from meta (timezone, start day) and tz_info at ``now``."""
    user = complete("user", dict(stored))
    user["start_day"] = int(meta.get("start_day") or user["start_day"])
    user["tz_info"] = tz_info(meta.get("timezone", "UTC"), now)
    return user

"""find_completed by="activity": the account's activity log (``GET /api/v1/activities``, reference §4) by project,
task, event types and local days, one REST page per 100 events, each event a line with what happened, to what, where,
by whom and when in the user's zone ("2026-11-20 14:05 completed 'Buy milk' (#Groceries) by you").

Without since/until the newest events are listed (no range); with either, whole local days as find_completed reads
them. ``events`` is Todoist's ``object_event_types`` in words: "completed", "item:added", "note:", comma-separated,
with the SDK's names ("task", "comment") read as the API's.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime

from tools_server.flows.find_completed import MAX_PAGES, Activity, CompletedResult, day_range, parse_day
from tools_server.plans import PlanError, not_found
from tools_server.state import Session
from tools_server.sync.client import SyncClient
from tools_server.sync.mirror import Mirror
from tools_server.sync.responses import ActivityEvent
from tools_server.text import clip
from tools_server.user import local_time, timezone_of, user_zone, week_start_of

PAGE_SIZE = 100  # the documented maximum for activities
OBJECT_TYPES = {"item": "item", "task": "item", "note": "note", "comment": "note", "project": "project",
                "section": "section", "": ""}  # fmt: skip
EVENT_TYPES = frozenset({"added", "updated", "deleted", "completed", "uncompleted", "archived", "unarchived",
                         "shared", "left", "moved", ""})  # fmt: skip
_WORDS = {"item": "", "note": "comment ", "project": "project ", "section": "section "}
_NAME_CHARS = 80


def event_types(text: str) -> list[str]:
    """ "completed, task:added, note:" -> ["item:completed"...] as the API reads them; PlanError naming ``events``."""
    found: list[str] = []
    for part in (p.strip().casefold() for p in text.split(",")):
        if not part:
            continue
        kind, colon, event = part.partition(":")
        if not colon:  # a bare word is an event of any object ("completed"), or every event of one ("task")
            kind, event = ("", kind) if kind in EVENT_TYPES else (kind, "")
        if kind not in OBJECT_TYPES or event not in EVENT_TYPES:
            raise PlanError(
                f"events: {part!r} is not an event type such as 'completed', 'task:added' or 'comment:' (objects: "
                f"task, comment, project, section; events: {', '.join(sorted(EVENT_TYPES - {''}))})"
            )
        found.append(f"{OBJECT_TYPES[kind]}:{event}")
    if not found:
        raise PlanError("events: empty; give e.g. 'completed' or 'task:added'")
    return found


def describe(event: ActivityEvent, mirror: Mirror, zone_name: str) -> Activity:
    extra = event.extra_data or {}
    name = str(extra.get("content") or extra.get("name") or event.object_id)
    who = "you" if event.initiator_id is None else mirror.person(event.initiator_id)
    project = mirror.projects.get(event.parent_project_id or "")
    return Activity(
        when=local_time(event.event_date, zone_name), event=event.event_type, object_type=event.object_type,
        object_id=event.object_id, name=clip(name, _NAME_CHARS),
        project=project.name if project is not None and event.object_type != "project" else None,
        by="you" if who == "me" else who,
    )  # fmt: skip


def line(event: ActivityEvent, shown: Activity) -> str:
    extra = event.extra_data or {}
    text = f"{shown.when} {shown.event} {_WORDS.get(event.object_type, event.object_type + ' ')}'{shown.name}'"
    if event.event_type == "updated":
        if extra.get("last_content") or extra.get("last_name"):
            text += f" (was '{clip(str(extra.get('last_content') or extra.get('last_name')), _NAME_CHARS)}')"
        if "last_due_date" in extra:
            text += f" (due {extra.get('last_due_date') or 'none'} -> {extra.get('due_date') or 'none'})"
    if shown.project:
        text += f" (#{shown.project})"
    return f"{text} by {shown.by}"


async def search_activity(
    session: Session,
    client: SyncClient,
    now: datetime,
    since: str | None,
    until: str | None,
    project: str | None,
    task: str | None,
    events: str | None,
    search: str | None,
    limit: int,
) -> tuple[str, CompletedResult]:
    first_day, last_day = parse_day("since", since), parse_day("until", until)
    types = event_types(events) if events is not None else None
    await session.ensure_synced(client)
    mirror = session.mirror
    zone_name = timezone_of(mirror)
    params: dict[str, str] = {"limit": str(PAGE_SIZE)}
    span: tuple[date, date] | None = None
    if first_day is not None or last_day is not None:
        today = now.astimezone(user_zone(mirror)).date()
        span = day_range(first_day, last_day, today, week_start_of(mirror))
        params |= {"date_from": span[0].isoformat(), "date_to": span[1].isoformat()}
    if project is not None:
        found = mirror.find_project(project)
        if found is None:
            raise PlanError("project: " + not_found("project", project, mirror.project_suggestions(project)))
        params["parent_project_id"] = found.id
    if task is not None:
        params["object_id"] = task
    if types is not None:
        params["object_event_types"] = json.dumps(types)
    read: list[ActivityEvent] = []
    requests, cursor, exhausted = 0, None, False
    while len(read) <= limit and requests < MAX_PAGES:
        page = await client.activities({**params, "cursor": cursor} if cursor else params)
        requests += 1
        read += [e for e in page.results if search is None or search.casefold() in _name(e).casefold()]
        cursor = page.next_cursor
        if not cursor:
            exhausted = True
            break
    shown = [(event, describe(event, mirror, zone_name)) for event in read]
    listed = shown[:limit]
    complete = exhausted and len(shown) <= limit
    days = Counter(a.when[:10] for _, a in shown if a.when)
    where = f"{span[0]}..{span[1]}" if span else "latest"
    head = f"{len(shown)} event(s), {where} ({zone_name})"
    if not complete:
        head += f"; listing {len(listed)}, more exist (narrow the range or filters, or raise limit)"
    out = CompletedResult(
        since=span[0].isoformat() if span else "", until=span[1].isoformat() if span else "", by="activity",
        total=len(shown), per_day=dict(sorted(days.items())), tasks=[], complete=complete, requests=requests,
        events=[a for _, a in listed],
    )  # fmt: skip
    return "\n".join([head + "."] + [f"- {line(event, a)}" for event, a in listed]), out


def _name(event: ActivityEvent) -> str:
    extra = event.extra_data or {}
    return str(extra.get("content") or extra.get("name") or "")

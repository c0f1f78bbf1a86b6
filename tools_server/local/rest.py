"""The documented REST reads (reference §4) a Sync client needs beside the Sync endpoint, answered from the store.

``GET /api/v1/tasks/completed/by_completion_date`` lists completed tasks whose ``completed_at`` falls in
[since, until] (at most 3 months), newest first; ``.../by_due_date`` those whose due date falls in it (at most 6
weeks), earliest due first, an all-day due counting for its whole day in the user's timezone. Both answer
``{"items": [Task], "next_cursor": str | null}``. The cursor is opaque: it carries the last task returned (so
completions made between pages neither repeat nor skip tasks) and a digest of the filters it was made for, and is
refused with any other filters.

``GET /api/v1/projects/archived`` (cursor, limit <= 200, default 50; Doist's SDK ``getArchivedProjects``) answers
``{"results": [Project], "next_cursor": str | null}``: the archived projects a full sync leaves out, by id.
``GET /api/v1/comments`` (task_id xor project_id, cursor, limit) answers the comments on one task (completed ones
included) or project, oldest first, in the same envelope. ``GET /api/v1/activities`` is local/activity.py's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import msgspec

from tools_server.filters import FilterError, Node, evaluate, parse_filter
from tools_server.local.activity import ACTIVITIES_PATH, activity_reader, parse_activity_query
from tools_server.local.errors import RequestError, request_invalid
from tools_server.local.moments import as_utc, known_zone, parse_moment, timestamp
from tools_server.local.recurrence import add_months
from tools_server.local.tx import Obj, visible_json
from tools_server.sync.mirror import Mirror
from tools_server.sync.responses import Item, Label, Project, Section

_R = TypeVar("_R", Project, Section, Label)
# A REST read: the connection, the store's clock, and the settings of the account asking (``SyncStore.read``).
Reader = Callable[[sqlite3.Connection, datetime, dict[str, str]], dict[str, Any]]
_IN_VISIBLE = "(SELECT value FROM json_each(?))"

By = Literal["completion", "due"]
COMPLETED_PATHS: dict[str, By] = {
    "/api/v1/tasks/completed/by_completion_date": "completion",
    "/api/v1/tasks/completed/by_due_date": "due",
}
ARCHIVED_PROJECTS_PATH = "/api/v1/projects/archived"
COMMENTS_PATH = "/api/v1/comments"
REST_PATHS = frozenset({*COMPLETED_PATHS, ARCHIVED_PROJECTS_PATH, COMMENTS_PATH, ACTIVITIES_PATH})
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# The filter language this backend reads (the client's own parser and evaluator: one filter language in the project).
_FILTER_LANGS = ("en",)


@dataclass(frozen=True)
class CompletedQuery:
    by: By
    since: datetime
    until: datetime
    project_id: str | None
    section_id: str | None
    parent_id: str | None
    workspace_id: str | None
    limit: int
    after: tuple[str, str] | None  # (sort key, id) of the last task of the previous page
    filter_query: str | None = None
    filter: Node | None = None  # filter_query parsed

    def digest(self) -> str:
        bound = [self.by, self.since.isoformat(), self.until.isoformat(), self.project_id, self.section_id,
                 self.parent_id, self.workspace_id, self.filter_query]  # fmt: skip
        return hashlib.sha256(json.dumps(bound).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------------------------
# Parameters


def parse_query(by: By, query_string: str) -> CompletedQuery:
    """The query string -> a CompletedQuery, or RequestError 400 naming the bad parameter."""
    try:
        fields = parse_qs(query_string, keep_blank_values=True)
    except ValueError:
        raise request_invalid("query", "the query string cannot be read") from None
    params = {name: values[-1] for name, values in fields.items()}
    lang = params.get("filter_lang")
    if lang and lang not in _FILTER_LANGS:
        raise request_invalid("filter_lang", f"the local backend reads filters in {', '.join(_FILTER_LANGS)} only")
    text = params.get("filter_query") or None
    node = _filter(text) if text is not None else None
    since, until = _moment(params, "since"), _moment(params, "until")
    if until < since:
        raise request_invalid("until", "must not be before since")
    if by == "completion":
        span, limit_text = add_months(since.date(), 3) - since.date(), "3 months"
    else:
        span, limit_text = timedelta(weeks=6), "6 weeks"
    if until - since > span:
        raise request_invalid("until", f"the range from since to until may span at most {limit_text}")
    query = CompletedQuery(
        by, since, until, _id(params, "project_id"), _id(params, "section_id"), _id(params, "parent_id"),
        _id(params, "workspace_id"), _limit(params.get("limit")), None, text, node,
    )  # fmt: skip
    cursor = params.get("cursor")
    if cursor:
        query = replace(query, after=_decode_cursor(cursor, query.digest()))
    return query


def _filter(text: str) -> Node:
    try:
        nodes = parse_filter(text)
    except FilterError as exc:
        raise request_invalid("filter_query", str(exc)) from None
    if len(nodes) != 1:
        raise request_invalid("filter_query", "one filter only (no comma-separated lists)")
    return nodes[0]


def _moment(params: Mapping[str, str], name: str) -> datetime:
    value = params.get(name)
    if not value:
        raise request_invalid(name, "Field required")
    # An unencoded "+02:00" arrives as " 02:00" (a form-encoded space).
    candidates = (value, value[:-6] + "+" + value[-5:]) if value[-6:-5] == " " else (value,)
    for candidate in candidates:
        try:
            moment = parse_moment(candidate)
            break
        except ValueError:
            continue
    else:
        raise request_invalid(name, f"{value!r} is not a datetime such as 2026-11-01T00:00:00Z")
    # A naive datetime is UTC, as the Python SDK sends it.
    return as_utc(moment)


def _id(params: Mapping[str, str], name: str) -> str | None:
    return params.get(name) or None


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise request_invalid("limit", "not an integer", expected="Input should be a valid integer") from None
    if limit > MAX_LIMIT:
        raise request_invalid("limit", f"at most {MAX_LIMIT}", expected="Input should be less than or equal to 200")
    if limit < 1:
        raise request_invalid("limit", "at least 1", expected="Input should be greater than or equal to 1")
    return limit


def _encode_cursor(digest: str, after: tuple[str, str]) -> str:
    raw = json.dumps({"q": digest, "k": after[0], "id": after[1]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_cursor(cursor: str, digest: str) -> tuple[str, str]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(raw, dict) and raw.get("q") == digest:  # pyright: ignore[reportUnknownMemberType]
            key, last = raw.get("k"), raw.get("id")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            if isinstance(key, str) and isinstance(last, str):
                return key, last
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise request_invalid("cursor", "not a cursor of this query (the filters must stay the same between pages)")


# ---------------------------------------------------------------------------------------------------------------------
# The read


def completed_reader(query: CompletedQuery) -> Reader:
    def read(db: sqlite3.Connection, now: datetime, meta: dict[str, str]) -> dict[str, Any]:
        if query.workspace_id is not None:  # a local account has no workspaces
            return {"items": [], "next_cursor": None}
        visible = visible_json(db, meta["user_id"])
        keyed = _by_completion(db, query, visible) if query.by == "completion" else _by_due(db, query, visible, meta)
        if query.filter is not None:
            keyed = _passing(db, keyed, query.filter, now, meta)
        page = keyed[: query.limit]
        more = len(keyed) > query.limit
        cursor = _encode_cursor(query.digest(), (page[-1][0], page[-1][1]["id"])) if more else None
        return {"items": [task for _, task in page], "next_cursor": cursor}

    return read


_COMPLETED_AT = "json_extract(data, '$.completed_at')"


def _by_completion(db: sqlite3.Connection, query: CompletedQuery, visible: str) -> list[tuple[str, Obj]]:
    """One page (plus one row, to know whether more follow) straight from the completed_at index, newest first."""
    sql = (
        f"SELECT {_COMPLETED_AT}, data FROM objects INDEXED BY objects_completed_at"
        f" WHERE kind = 'item' AND active = 0 AND {_COMPLETED_AT} BETWEEN ? AND ?"
        " AND json_extract(data, '$.checked') = 1 AND json_extract(data, '$.is_deleted') = 0"
        f" AND project_id IN {_IN_VISIBLE}"
    )
    params: list[Any] = [timestamp(query.since), timestamp(query.until), visible]
    for column, wanted in (("project_id", query.project_id), ("section_id", query.section_id),
                           ("parent_id", query.parent_id)):  # fmt: skip
        if wanted is not None:
            sql += f" AND {column} = ?"
            params.append(wanted)
    if query.after is not None:
        sql += f" AND ({_COMPLETED_AT} < ? OR ({_COMPLETED_AT} = ? AND id < ?))"
        params += [query.after[0], query.after[0], query.after[1]]
    sql += f" ORDER BY {_COMPLETED_AT} DESC, id DESC"
    if query.filter is None:  # with a filter, every task of the range is a candidate (at most 3 months of them)
        sql += " LIMIT ?"
        params.append(query.limit + 1)
    return [(str(row[0]), json.loads(row[1])) for row in db.execute(sql, params)]


def _passing(
    db: sqlite3.Connection, keyed: list[tuple[str, Obj]], node: Node, now: datetime, meta: dict[str, str]
) -> list[tuple[str, Obj]]:
    """The tasks ``node`` matches, in their order: evaluated by the client's own filter evaluator over a mirror of the
    candidates and of the account's projects, sections and labels (so #Project, /Section and @label resolve by name),
    with "today" the user's."""
    mirror = Mirror(
        items={task["id"]: msgspec.convert(task, Item, strict=False) for _, task in keyed},
        projects=_active(db, "project", Project, meta),
        sections=_active(db, "section", Section, meta),
        labels=_active(db, "label", Label, meta),
    )
    today = now.astimezone(_user_zone(meta))
    matched = {item.id for item in evaluate([node], mirror, today=today.date(), now=today)[0]}
    return [pair for pair in keyed if pair[1]["id"] in matched]


def _active(db: sqlite3.Connection, kind: str, record: type[_R], meta: dict[str, str]) -> dict[str, _R]:
    """The account's live objects of a kind: its labels, the projects it sees and their sections."""
    column = {"project": "id", "section": "project_id"}.get(kind)
    scope = f"{column} IN {_IN_VISIBLE}" if column else "owner = ?"
    param = visible_json(db, meta["user_id"]) if column else meta["user_id"]
    rows = db.execute(
        f"SELECT data FROM objects WHERE kind = ? AND json_extract(data, '$.is_deleted') = 0 AND {scope}", (kind, param)
    )
    found = (msgspec.convert(json.loads(row[0]), record, strict=False) for row in rows)
    return {one.id: one for one in found}


def _by_due(db: sqlite3.Connection, query: CompletedQuery, visible: str, meta: dict[str, str]) -> list[tuple[str, Obj]]:
    """Candidates by due date string (widened a day each side, then checked exactly), earliest due first."""
    zone = _user_zone(meta)
    low = (query.since - timedelta(days=1)).date().isoformat()
    high = (query.until + timedelta(days=1)).date().isoformat() + "~"  # after any time on that day
    sql = (
        "SELECT data FROM objects INDEXED BY objects_completed_due WHERE kind = 'item' AND active = 0"
        f" AND json_extract(data, '$.due.date') BETWEEN ? AND ? AND project_id IN {_IN_VISIBLE}"
    )
    keyed: list[tuple[str, Obj]] = []
    for row in db.execute(sql, (low, high, visible)):
        task: Obj = json.loads(row[0])
        key = _due_key(task, query, zone)
        if key is not None and (query.after is None or (key, task["id"]) > query.after):
            keyed.append((key, task))
    keyed.sort(key=lambda pair: (pair[0], pair[1]["id"]))
    return keyed


def _matches(task: Obj, query: CompletedQuery) -> bool:
    if task.get("is_deleted") or not task.get("checked"):
        return False
    return all(
        wanted is None or task.get(name) == wanted
        for name, wanted in (
            ("project_id", query.project_id),
            ("section_id", query.section_id),
            ("parent_id", query.parent_id),
        )
    )


def _user_zone(meta: dict[str, str]) -> ZoneInfo:
    return known_zone(meta.get("timezone") or "UTC") or ZoneInfo("UTC")


def _due_key(task: Obj, query: CompletedQuery, zone: ZoneInfo) -> str | None:
    """The due's start as a UTC timestamp when the due falls in [since, until], else None."""
    if not _matches(task, query) or not isinstance(task.get("due"), dict):
        return None
    text = str(task["due"].get("date", ""))
    try:
        if "T" not in text:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), zone).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
            inside = start <= query.until and end > query.since
        else:
            moment = parse_moment(text)
            start = moment.replace(tzinfo=zone).astimezone(UTC) if moment.tzinfo is None else moment.astimezone(UTC)
            inside = query.since <= start <= query.until
    except ValueError:
        return None
    return timestamp(start) if inside else None


def _params(query_string: str) -> dict[str, str]:
    try:
        return {name: values[-1] for name, values in parse_qs(query_string, keep_blank_values=True).items()}
    except ValueError:
        raise request_invalid("query", "the query string cannot be read") from None


def _paged(where: str, args: tuple[Any, ...], bound: str, params: Mapping[str, str]) -> Reader:
    """One page of ``{"results", "next_cursor"}`` of the objects ``where`` selects, by id; the cursor carries the
    last id returned and is bound to ``bound`` (the path and its filters). ``{v}`` in ``where`` stands for the
    projects the account sees (a parameter after ``args``)."""
    limit = _limit(params.get("limit"))
    given = params.get("cursor")
    after = _decode_cursor(given, bound)[1] if given else ""

    def read(db: sqlite3.Connection, now: datetime, meta: dict[str, str]) -> dict[str, Any]:
        del now
        sql = f"SELECT data FROM objects WHERE {where.format(v=_IN_VISIBLE)} AND id > ? ORDER BY id LIMIT ?"
        rows = db.execute(sql, (*args, visible_json(db, meta["user_id"]), after, limit + 1)).fetchall()
        page: list[Obj] = [json.loads(row[0]) for row in rows[:limit]]
        cursor = _encode_cursor(bound, ("", page[-1]["id"])) if len(rows) > limit else None
        return {"results": page, "next_cursor": cursor}

    return read


def archived_reader(query_string: str) -> Reader:
    """One page of archived projects, by id. RequestError on bad input."""
    where = (
        "kind = 'project' AND active = 0 AND json_extract(data, '$.is_archived') = 1"
        " AND json_extract(data, '$.is_deleted') = 0 AND id IN {v}"
    )
    return _paged(where, (), ARCHIVED_PROJECTS_PATH, _params(query_string))


def comments_reader(query_string: str) -> Reader:
    """One page of the comments on a task (``task_id``) or a project (``project_id``), oldest (lowest id) first."""
    params = _params(query_string)
    task, project = params.get("task_id") or None, params.get("project_id") or None
    if (task is None) == (project is None):
        raise request_invalid("task_id", "give exactly one of task_id or project_id")
    if task is not None:
        where, args = "kind = 'note' AND json_extract(data, '$.item_id') = ?", (task,)
    else:
        where, args = "kind = 'project_note' AND json_extract(data, '$.project_id') = ?", (project,)
    where += " AND json_extract(data, '$.is_deleted') = 0 AND "
    # A task's comments are seen with their task, a project's with their project.
    if task is not None:
        where += "json_extract(data, '$.item_id') IN (SELECT id FROM objects WHERE kind = 'item' AND project_id IN {v})"
    else:
        where += "project_id IN {v}"
    return _paged(where, args, f"{COMMENTS_PATH}?{task}&{project}", params)


def rest_reply(
    read: Callable[[Reader], dict[str, Any]],
    path: str,
    query_string: str,
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) for one REST read of ``REST_PATHS``; ``read`` runs the query on the store
    (``SyncStore.read``)."""
    try:
        if path == ARCHIVED_PROJECTS_PATH:
            reader = archived_reader(query_string)
        elif path == COMMENTS_PATH:
            reader = comments_reader(query_string)
        elif path == ACTIVITIES_PATH:
            reader = activity_reader(parse_activity_query(_params(query_string)))
        else:
            reader = completed_reader(parse_query(COMPLETED_PATHS[path], query_string))
    except RequestError as exc:
        return exc.status, exc.body
    return 200, read(reader)

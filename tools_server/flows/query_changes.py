"""query_changes: a bounded overview on the first call, then only what changed elsewhere since the last look."""

from __future__ import annotations

from tools_server.cursors import (
    ArchivedBrief,
    ChangesResult,
    View,
    brief,
    change_line,
    diff,
    label_briefs,
    ordered_tasks,
    project_briefs,
    task_line,
)
from tools_server.state import Session
from tools_server.sync.client import SyncClient
from tools_server.user import account_line

MAX_PROJECTS_LISTED = 50
MAX_LABELS_LISTED = 100


async def query_changes_result(
    session: Session, client: SyncClient, cursor: str | None, limit: int, archived: bool = False
) -> tuple[str, ChangesResult]:
    text, result = await _changes(session, client, cursor, limit)
    if not archived:
        return text, result
    # Full syncs leave archived projects out: read apart, and kept so manage_projects can unarchive them by name.
    projects = sorted(await session.read_archived(client), key=lambda p: p.name.casefold())
    listed = projects[:MAX_PROJECTS_LISTED]
    shown = ", ".join(f"{p.name} ({p.id})" for p in listed) or "none"
    more = f", +{len(projects) - len(listed)} more" if len(projects) > len(listed) else ""
    result.archived = [ArchivedBrief(id=p.id, name=p.name) for p in listed]
    return f"{text}\nArchived projects (id): {shown}{more}", result


async def _changes(session: Session, client: SyncClient, cursor: str | None, limit: int) -> tuple[str, ChangesResult]:
    view = await session.get_view(cursor) if cursor else None
    await session.request(client)
    resynced = session.resynced
    session.resynced = False
    if view is None or cursor is None:
        note = "Unknown or expired cursor; fresh overview.\n" if cursor else ""
        cursor, view = await session.open_view()
        return await _overview(session, cursor, view, limit, note)
    changes = diff(view, session.mirror)
    view.refresh(session.mirror)
    await session.state.save_view(cursor, view)
    shown = changes[:limit]
    more = len(changes) - len(shown)
    lines = [f"{len(changes)} change(s) since your last query_changes:" if changes else "No changes since last look."]
    if resynced:
        lines.insert(0, "Note: the backend required a full resync; changes are computed against it.")
    lines += [change_line(c) for c in shown]
    if more:
        lines.append(f"+{more} more (raise limit)")
    lines.append(f"cursor: {cursor}")
    result = ChangesResult(cursor=cursor, overview=False, changes=shown, more=more, resynced=resynced or None)
    return "\n".join(lines), result


async def _overview(session: Session, cursor: str, view: View, limit: int, note: str) -> tuple[str, ChangesResult]:
    mirror = session.mirror
    view.refresh(mirror)
    await session.state.save_view(cursor, view)
    projects = project_briefs(mirror)
    tasks = ordered_tasks(mirror)
    shown = tasks[:limit]
    more = len(tasks) - len(shown)
    listed = projects[:MAX_PROJECTS_LISTED]
    project_text = ", ".join(f"{p.name} ({p.id}, {p.tasks})" for p in listed)
    if len(projects) > len(listed):
        project_text += f", +{len(projects) - len(listed)} more"
    counts = f"{len(mirror.sections)} sections, {len(mirror.labels)} labels, {len(mirror.notes)} comments"
    labels = label_briefs(mirror)
    lines = [
        note + account_line(mirror, session.clock.now()),
        f"Projects (id, open tasks): {project_text}",
        f"Active tasks: {len(tasks)}; {counts}",
    ]
    shared = [p for p in listed if p.shared_with]
    if shared:
        people = "; ".join(f"{p.name}: {', '.join(p.shared_with or ())}" for p in shared)
        lines.append(f"Shared projects (assignees besides me): {people}")
    if labels:
        label_text = ", ".join(f"@{label.name} ({label.tasks})" for label in labels[:MAX_LABELS_LISTED])
        if len(labels) > MAX_LABELS_LISTED:
            label_text += f", +{len(labels) - MAX_LABELS_LISTED} more"
        lines.append(f"Labels (open tasks): {label_text}")
    if mirror.filters:
        saved = sorted(mirror.filters.values(), key=lambda f: (f.item_order, f.name))
        lines.append("Saved filters (find_items by name): " + ", ".join(f"{f.name} ({f.id})" for f in saved))
    lines += [task_line(item, mirror) for item in shown]
    if more:
        lines.append(f"+{more} more (raise limit)")
    lines.append(f"cursor: {cursor} (pass it next time to get only changes)")
    result = ChangesResult(
        cursor=cursor,
        overview=True,
        projects=listed,
        labels=labels[:MAX_LABELS_LISTED] or None,
        tasks=[brief(i, mirror.timezone) for i in shown],
        more=more,
    )
    return "\n".join(lines), result

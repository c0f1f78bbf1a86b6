"""query_changes: a bounded overview on the first call, then only what changed elsewhere since the last look."""

from __future__ import annotations

from tools_server.cursors import (
    ChangesResult,
    View,
    brief,
    change_line,
    diff,
    ordered_tasks,
    project_briefs,
    task_line,
)
from tools_server.state import Session
from tools_server.sync.client import SyncClient
from tools_server.user import account_line

MAX_PROJECTS_LISTED = 50


async def query_changes_result(
    session: Session, client: SyncClient, cursor: str | None, limit: int
) -> tuple[str, ChangesResult]:
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
    lines = [
        note + account_line(mirror, session.clock.now()),
        f"Projects (id, open tasks): {project_text}",
        f"Active tasks: {len(tasks)}; {counts}",
    ]
    if mirror.filters:
        saved = sorted(mirror.filters.values(), key=lambda f: (f.item_order, f.name))
        lines.append("Saved filters (find_items by name): " + ", ".join(f"{f.name} ({f.id})" for f in saved))
    lines += [task_line(item, mirror) for item in shown]
    if more:
        lines.append(f"+{more} more (raise limit)")
    lines.append(f"cursor: {cursor} (pass it next time to get only changes)")
    result = ChangesResult(
        cursor=cursor, overview=True, projects=listed, tasks=[brief(i, mirror.timezone) for i in shown], more=more
    )
    return "\n".join(lines), result

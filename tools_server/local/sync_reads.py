"""Store reads beyond plain object lists: day orders, completed-task indexes, what full syncs leave out."""

from __future__ import annotations

import sqlite3

# Completed tasks by completion time and by due date, for the REST completed reads (rest.py names them in INDEXED BY);
# partial, so they stay small.
EXTRA_SCHEMA = """
CREATE INDEX IF NOT EXISTS objects_completed_at ON objects (json_extract(data, '$.completed_at'), id)
    WHERE kind = 'item' AND active = 0;
CREATE INDEX IF NOT EXISTS objects_completed_due ON objects (json_extract(data, '$.due.date'))
    WHERE kind = 'item' AND active = 0;
"""

# Tasks and sections of an archived (or deleted) project are not part of a full sync; they come back when it is
# unarchived. Only items and sections have their project in the project_id column.
HIDDEN_IN_FULL_SYNC = (
    " AND (project_id IS NULL OR project_id NOT IN (SELECT id FROM objects WHERE kind = 'project' AND active = 0))"
)


def day_orders(db: sqlite3.Connection, since: int | None) -> dict[str, int]:
    """``{task_id: day_order}`` of open tasks that have one (not -1); an incremental sync gives those changed since."""
    sql = (
        "SELECT id, json_extract(data, '$.day_order') FROM objects WHERE kind = 'item' AND active = 1"
        " AND json_extract(data, '$.day_order') != -1"
    )
    params: tuple[int, ...] = ()
    if since is not None:
        sql += " AND seq > ?"
        params = (since,)
    return {str(row[0]): int(row[1]) for row in db.execute(sql, params)}

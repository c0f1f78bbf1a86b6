"""Read-only MCP resources rendered from the session mirror (pure: mirror in, JSON text out)."""

from __future__ import annotations

import json
from typing import Any

from tools_server.sync.mirror import Mirror, project_rank

PROJECTS_URI = "todoist://projects"
TASK_URI_TEMPLATE = "todoist://tasks/{task_id}"


def projects_json(mirror: Mirror) -> str:
    """Every project with its sections and open-task count: the ids a model needs to address things by id."""
    counts: dict[str, int] = {}
    for item in mirror.items.values():
        counts[item.project_id] = counts.get(item.project_id, 0) + 1
    sections: dict[str, list[dict[str, str]]] = {}
    for section in sorted(mirror.sections.values(), key=lambda s: s.section_order):
        sections.setdefault(section.project_id, []).append({"id": section.id, "name": section.name})
    projects: list[dict[str, Any]] = []
    for project in sorted(mirror.projects.values(), key=project_rank):
        entry: dict[str, Any] = {"id": project.id, "name": project.name, "tasks": counts.get(project.id, 0)}
        if project.parent_id:
            entry["parent_id"] = project.parent_id
        if project.inbox_project:
            entry["inbox"] = True
        if project.id in sections:
            entry["sections"] = sections[project.id]
        projects.append(entry)
    return json.dumps(projects, ensure_ascii=False)


def task_json(mirror: Mirror, task_id: str) -> str | None:
    """One open task with everything Todoist returned for it, its project/section names and subtask ids."""
    item = mirror.items.get(task_id)
    if item is None:
        return None
    data = item.model_dump(mode="json", exclude_none=True)
    data["project"] = mirror.project_name(item.project_id)
    if item.section_id and item.section_id in mirror.sections:
        data["section"] = mirror.sections[item.section_id].name
    data["subtask_ids"] = [i.id for i in mirror.items.values() if i.parent_id == task_id]
    return json.dumps(data, ensure_ascii=False)

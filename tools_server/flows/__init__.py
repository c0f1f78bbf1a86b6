"""Each tool's behaviour without MCP: the write pipeline and one spec per write tool, and the read flows.

The face other wings import from; the modules below it are this wing's own."""

from tools_server.flows.activity import search_activity
from tools_server.flows.attachments import FileRefused, planned_attachment, read_local_files, upload_files
from tools_server.flows.find_completed import CompletedResult, productivity, search_completed_tasks
from tools_server.flows.find_items import FindResult, search_open_tasks
from tools_server.flows.pipeline import NeedsConfirmation, WriteSpec, run_resend, run_write
from tools_server.flows.query_changes import query_changes_result
from tools_server.flows.resources import PROJECTS_URI, TASK_URI_TEMPLATE, projects_json, task_json

__all__ = [
    "PROJECTS_URI",
    "TASK_URI_TEMPLATE",
    "CompletedResult",
    "FileRefused",
    "FindResult",
    "NeedsConfirmation",
    "WriteSpec",
    "planned_attachment",
    "productivity",
    "projects_json",
    "query_changes_result",
    "read_local_files",
    "run_resend",
    "run_write",
    "search_activity",
    "search_completed_tasks",
    "search_open_tasks",
    "task_json",
    "upload_files",
]

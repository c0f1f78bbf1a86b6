"""The MCP surface: ``build_server`` and the tools by group, confirmation, strict arguments, prompts. With hosting/,
the only wing that imports mcp."""

from tools_server.server.app import build_server
from tools_server.server.calls import DEFAULT_CALL_BUDGET, AppState, Backend

__all__ = ["DEFAULT_CALL_BUDGET", "AppState", "Backend", "build_server"]

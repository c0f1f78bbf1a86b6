"""tools-server: an MCP server for Todoist built on the Sync API."""

__version__ = "0.1.0"

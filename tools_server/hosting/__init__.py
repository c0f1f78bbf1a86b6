"""Serving the MCP server over streamable HTTP: the ASGI app, and who is calling (Bearer tokens)."""

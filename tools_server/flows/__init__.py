"""Each tool's behaviour without MCP: the write pipeline and one spec per write tool, and the read flows."""

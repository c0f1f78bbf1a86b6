"""The MCP surface: ``build_server``, the tools by group, confirmation, strict arguments, prompts."""

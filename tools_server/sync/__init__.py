"""The Todoist Sync protocol, client side: wire types, one request with retries, batching, the send loop, the
mirror. Nothing here knows about MCP."""

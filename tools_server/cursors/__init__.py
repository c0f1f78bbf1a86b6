"""Pure: what a query_changes cursor has seen, what changed since, and the session's own writes."""

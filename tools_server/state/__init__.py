"""What outlives one call: per-account mirrors and sessions, and the handles kept in memory, a file or Redis."""

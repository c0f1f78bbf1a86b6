"""The embedded local backend: a Sync API engine over SQLite."""

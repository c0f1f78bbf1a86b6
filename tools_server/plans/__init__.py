"""Pure planning: tool input + the mirror -> Sync commands; what came back -> results; undo; pending batches."""

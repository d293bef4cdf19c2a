"""The engine: the tick, definition and splitting, brokerage, job and task moves, merges, replication, lifecycle."""

"""Pages of tasks, jobs, bulk actions and errors; selectors build their contexts."""

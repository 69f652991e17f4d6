"""Domain logic that views, tasks and commands call."""

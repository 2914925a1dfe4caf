"""The T2 auto-scheduler runner: backends of the core, executors, search and its CLI."""

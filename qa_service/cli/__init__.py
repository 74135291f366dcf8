"""The `qa-service` command line."""

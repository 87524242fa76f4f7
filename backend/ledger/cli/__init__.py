"""The `ledger` command (typer + rich)."""

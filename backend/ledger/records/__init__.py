"""Production records: EIP-712 messages devices sign about how a file was made (pure: no I/O)."""

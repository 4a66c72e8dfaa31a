"""Landing files -> `raw.transactions` (valid rows) and `raw.rejected_transactions` (quarantine)."""

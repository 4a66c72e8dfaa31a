"""`raw_transactions` and its checks."""

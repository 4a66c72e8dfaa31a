"""`customer_features` and its check."""

"""Per-customer features, computed in SQL by the compute engine."""

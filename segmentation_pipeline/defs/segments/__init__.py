"""`customer_segments`, its history, migration and profiles, and their checks."""

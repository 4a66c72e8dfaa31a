"""Great Expectations suites as code, the GE validation plumbing and exact counts in SQL."""

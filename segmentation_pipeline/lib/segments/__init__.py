"""Scoring customers into segments, and profiling, naming and advising on each segment."""

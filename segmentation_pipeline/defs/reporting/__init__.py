"""`segment_report`."""

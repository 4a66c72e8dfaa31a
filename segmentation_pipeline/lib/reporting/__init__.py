"""The HTML report, built from the figures the stages computed."""

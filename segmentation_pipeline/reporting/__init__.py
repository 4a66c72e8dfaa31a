"""Plots for the UI metadata and the HTML report."""

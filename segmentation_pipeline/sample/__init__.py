"""Seeded, streaming synthetic stand-in for Walmart's Black Friday dataset."""

from segmentation_pipeline.sample.facts import load_facts
from segmentation_pipeline.sample.generator import SampleSummary, write_sample

__all__ = ["SampleSummary", "load_facts", "write_sample"]

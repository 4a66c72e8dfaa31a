"""Seeded, streaming synthetic stand-in for Walmart's Black Friday dataset."""

from segmentation_pipeline.lib.ingest.facts import load_facts
from segmentation_pipeline.lib.sample.generator import SampleSummary, write_sample

__all__ = ["SampleSummary", "load_facts", "write_sample"]

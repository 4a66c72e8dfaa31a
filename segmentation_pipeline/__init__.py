"""segmentation_pipeline: nightly customer segmentation of retail transactions with Dagster."""

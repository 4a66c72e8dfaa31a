"""`segmentation_model` and its separation and stability checks."""

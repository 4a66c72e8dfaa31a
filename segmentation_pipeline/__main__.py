"""`python -m segmentation_pipeline` is the `segmentation` command."""

from segmentation_pipeline.cli import main

main()

"""Readers of the published marts never block the night, and see each night once published."""

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from segmentation_pipeline.cli import run_pipeline
from segmentation_pipeline.defs.publishing import PUBLISHED_DATABASE, published_dir
from segmentation_pipeline.settings import Settings


def test_a_reader_holding_the_published_marts_open_does_not_block_the_run(
    data_dir: Settings, small_landing: Path, instance: dg.DagsterInstance
) -> None:
    *earlier, last = sorted(small_landing.glob("*.csv"))
    for path in earlier:
        shutil.copy(path, data_dir.landing_dir)
    assert all(result.success for result in run_pipeline(data_dir, instance))
    published = published_dir()
    reader = duckdb.connect(str(published / PUBLISHED_DATABASE), read_only=True)
    newest = "SELECT max(last_purchase_date) FROM customer_features"
    try:
        assert reader.execute(newest).fetchone() == (date.fromisoformat(earlier[-1].stem),)
        # The next night lands while the reader is still connected.
        shutil.copy(last, data_dir.landing_dir)
        assert all(result.success for result in run_pipeline(data_dir, instance))
        # The same connection now reads the new night.
        assert reader.execute(newest).fetchone() == (date.fromisoformat(last.stem),)
        published_segments = reader.execute("SELECT * FROM customer_segments").df()
    finally:
        reader.close()
    with duckdb.connect(str(data_dir.warehouse_path), read_only=True) as con:
        warehouse_segments = con.execute("SELECT * FROM marts.customer_segments").df()
        marts = {
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            ).fetchall()
        }
    pd.testing.assert_frame_equal(
        published_segments.sort_values("user_id").reset_index(drop=True),
        warehouse_segments.sort_values("user_id").reset_index(drop=True),
    )
    # Every mart is published, and nothing half-written is left behind.
    assert {path.stem for path in published.glob("*.parquet")} == marts
    assert not list(published.glob("*.partial"))

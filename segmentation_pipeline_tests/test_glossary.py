"""Every column of every warehouse table is explained in the UI's column schema."""

import duckdb

from segmentation_pipeline.defs.metadata import column_schema
from segmentation_pipeline.glossary import describe_column, undescribed_columns
from segmentation_pipeline.settings import Settings


def test_every_warehouse_column_is_described(materialised: Settings) -> None:
    with duckdb.connect(str(materialised.warehouse_path), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('raw', 'marts')"
        ).fetchall()
        assert len(tables) >= 6
        for (table,) in tables:
            schema = column_schema(con, table)
            assert not undescribed_columns([column.name for column in schema.columns]), table
            assert all(column.description for column in schema.columns), table


def test_generated_column_families_read_naturally() -> None:
    assert describe_column("spend_share_cat_07") == (
        "share of the customer's spend in product category 7, 0..1 (shares sum to 1)"
    )
    assert describe_column("dominant_age_share") == (
        "share of the segment's customers with that age, 0..1"
    )
    assert describe_column("no_such_column") is None

"""Small helpers that turn warehouse facts into Dagster metadata shown in the UI."""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd

from segmentation_pipeline.glossary import describe_column
from segmentation_pipeline.lib.plots import Plot


def markdown_table(frame: pd.DataFrame, max_rows: int = 10) -> dg.MarkdownMetadataValue:
    """A preview of the first rows as a Markdown table."""
    return dg.MetadataValue.md(frame.head(max_rows).to_markdown(index=False, floatfmt=".4g"))


def column_schema(con: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    """The table's columns, types and meanings as Dagster shows them in the column-schema panel."""
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column,
                type=kind,
                description=describe_column(column),
                constraints=dg.TableColumnConstraints(nullable=nullable == "YES"),
            )
            for column, kind, nullable in rows
        ]
    )


def table_metadata(
    con: duckdb.DuckDBPyConnection, table: str, preview_sql: str | None = None
) -> dict[str, dg.RawMetadataValue]:
    """Row count, column schema and a preview: the metadata every warehouse table carries."""
    (rows,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    preview = con.execute(preview_sql or f"SELECT * FROM {table} LIMIT 10").df()
    return {
        "table": table,
        "dagster/row_count": int(rows),
        "dagster/column_schema": column_schema(con, table),
        "preview": markdown_table(preview),
    }


def plot_metadata(plot: Plot) -> dg.MarkdownMetadataValue:
    """The plot as an inline image, shown in the UI's metadata panel."""
    return dg.MetadataValue.md(plot.markdown())

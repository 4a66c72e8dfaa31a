"""Segment history: one scoring per data day, what drift and migration compare.

`marts.segment_history` holds, for each data day (`as_of_day`, the last day the loaded data
reaches), every customer's segment, the model version and time of the scoring, and the key
features the customer was scored on. `customer_segments` records its scoring in the transaction
that swaps its own table, so the two never disagree. Scoring the same day again (a retry, a
manual re-run) replaces that day's rows and nothing else: the previous day's scoring survives,
so drift keeps comparing with it. Days older than the retention
(`SEGMENTATION_HISTORY_RETENTION_DAYS`, default 90, counted back from the newest day in the
history) are deleted in the same transaction.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from segmentation_pipeline.lib.warehouse import WarehouseAccess
from segmentation_pipeline.settings import CUSTOMER_FEATURES_TABLE, SEGMENT_HISTORY_TABLE

# The features whose distribution drift is measured on: what a segment's name and value rest on.
HISTORY_FEATURES: tuple[str, ...] = (
    "transactions",
    "total_spend",
    "avg_ticket",
    "spend_per_active_day",
    "distinct_categories",
    "active_days",
)
# The data day a scoring belongs to: the last day the features (all loaded days) reach.
AS_OF_DAY_SQL = f"(SELECT CAST(max(last_purchase_date) AS DATE) FROM {CUSTOMER_FEATURES_TABLE})"


def record_scoring_sql(scored: str, retention_days: int) -> list[str]:
    """Statements that record the scoring in relation `scored` (user_id, segment_id,
    segment_name, model_version, scored_at) as its data day's history, replacing an earlier
    scoring of that day, and drop the days that fall out of the retention."""
    features = ", ".join(f"features.{column}" for column in HISTORY_FEATURES)
    rows = (
        f"SELECT {AS_OF_DAY_SQL} AS as_of_day, scored.user_id, scored.segment_id, "
        f"scored.segment_name, scored.model_version, scored.scored_at, {features} "
        f"FROM {scored} AS scored JOIN {CUSTOMER_FEATURES_TABLE} AS features USING (user_id)"
    )
    return [
        f"CREATE TABLE IF NOT EXISTS {SEGMENT_HISTORY_TABLE} AS {rows} LIMIT 0",
        f"DELETE FROM {SEGMENT_HISTORY_TABLE} WHERE as_of_day = {AS_OF_DAY_SQL}",
        f"INSERT INTO {SEGMENT_HISTORY_TABLE} BY NAME {rows}",
        f"DELETE FROM {SEGMENT_HISTORY_TABLE} WHERE as_of_day <= "
        f"(SELECT max(as_of_day) FROM {SEGMENT_HISTORY_TABLE}) - {int(retention_days)}",
    ]


def current_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The data day of the latest scoring, the one `marts.customer_segments` holds."""
    row = con.execute(
        f"SELECT as_of_day FROM {SEGMENT_HISTORY_TABLE} ORDER BY scored_at DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def day_before(con: duckdb.DuckDBPyConnection, day: date, gap_days: int = 1) -> date | None:
    """The latest data day in the history at least `gap_days` before `day` (None if none)."""
    (found,) = con.execute(
        f"SELECT max(as_of_day) FROM {SEGMENT_HISTORY_TABLE} WHERE as_of_day <= ?::DATE - ?",
        [day, gap_days],
    ).fetchone()
    return found


def scored_days(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Every data day in the history, oldest first."""
    rows = con.execute(
        f"SELECT DISTINCT as_of_day FROM {SEGMENT_HISTORY_TABLE} ORDER BY as_of_day"
    ).fetchall()
    return [day for (day,) in rows]


def read_scorings(warehouse: WarehouseAccess) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The latest scoring and the scoring of the data day before it (None when there is none)."""
    with warehouse.connect() as con:
        today = current_day(con)
        previous = day_before(con, today)
        query = f"SELECT * FROM {SEGMENT_HISTORY_TABLE} WHERE as_of_day = ? ORDER BY user_id"
        current_rows = con.execute(query, [today]).df()
        previous_rows = con.execute(query, [previous]).df() if previous else None
    return current_rows, previous_rows


def scoring_day(scoring: pd.DataFrame) -> str:
    """The data day (YYYY-MM-DD) of rows read from the history."""
    return f"{pd.Timestamp(scoring['as_of_day'].iloc[0]):%Y-%m-%d}"

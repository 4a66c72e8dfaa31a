"""The scorings that drift is measured between: this run's and the one before.

`marts.segment_snapshots` holds at most two snapshots, `current` and `previous`: each customer's
segment, model version and scoring time, with the key features the customer was scored on.
`customer_segments` rotates it in the transaction that swaps its own table, so the two never
disagree; the drift checks and the report read it.
"""

import pandas as pd

from segmentation_pipeline.resources import Warehouse
from segmentation_pipeline.settings import CUSTOMER_FEATURES_TABLE

SEGMENT_SNAPSHOTS_TABLE = "marts.segment_snapshots"
# The features whose distribution drift is measured on: what a segment's name and value rest on.
SNAPSHOT_FEATURES: tuple[str, ...] = (
    "transactions",
    "total_spend",
    "avg_ticket",
    "spend_per_active_day",
    "distinct_categories",
    "active_days",
)


def rotate_snapshots_sql() -> list[str]:
    """Statements that keep the outgoing scoring as `previous` and record the incoming one
    (the rows of `incoming_frame`, with their features) as `current`."""
    features = ", ".join(f"features.{column}" for column in SNAPSHOT_FEATURES)
    incoming = (
        f"SELECT 'current' AS snapshot, incoming.*, {features} FROM incoming_frame AS incoming "
        f"JOIN {CUSTOMER_FEATURES_TABLE} AS features USING (user_id)"
    )
    return [
        f"CREATE TABLE IF NOT EXISTS {SEGMENT_SNAPSHOTS_TABLE} AS {incoming} LIMIT 0",
        f"DELETE FROM {SEGMENT_SNAPSHOTS_TABLE} WHERE snapshot = 'previous'",
        f"UPDATE {SEGMENT_SNAPSHOTS_TABLE} SET snapshot = 'previous'",
        f"INSERT INTO {SEGMENT_SNAPSHOTS_TABLE} BY NAME {incoming}",
    ]


def read_snapshots(warehouse: Warehouse) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The current scoring and the previous one (None before the second scoring)."""
    snapshots = warehouse.read_df(f"SELECT * FROM {SEGMENT_SNAPSHOTS_TABLE}")
    current = snapshots[snapshots["snapshot"] == "current"]
    previous = snapshots[snapshots["snapshot"] == "previous"]
    return current, (previous if len(previous) else None)

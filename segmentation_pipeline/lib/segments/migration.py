"""Customer migration between segments: where did the previous day's and last week's customers go?

`marts.segment_migration` counts customers by (segment on `from_day`, segment on `to_day`), read
from `marts.segment_history`, for two periods ending on the latest scored day:
- "1 day": from the previous data day in the history;
- "7 days": from the latest data day at least 7 days earlier.
Customers scored on `to_day` only have no from-segment (from_segment_name "new customer");
customers scored on `from_day` only have no to-segment ("no longer scored"). `share_of_from` is
the row's share of its from-segment's customers, so a from-segment's shares add up to 1.
Segment ids carry over between model versions (see `lib/model/alignment.py`), so a move is a change
of behaviour, not of numbering.
"""

from datetime import date

import duckdb
import pandas as pd

from segmentation_pipeline.lib.segments.history import current_day, day_before
from segmentation_pipeline.lib.warehouse import WarehouseAccess, transaction
from segmentation_pipeline.settings import (
    SEGMENT_HISTORY_TABLE,
    SEGMENT_MIGRATION_TABLE,
)

# Window label -> how many days before the latest scored day its from-day lies, at least.
MIGRATION_PERIODS: dict[str, int] = {"1 day": 1, "7 days": 7}
NEW_CUSTOMER = "new customer"
NO_LONGER_SCORED = "no longer scored"
# How a note names the from-day of each period.
PERIOD_PHRASES: dict[str, str] = {"1 day": "the previous day's", "7 days": "last week's"}

MIGRATION_COLUMNS = (
    "period VARCHAR NOT NULL, from_day DATE NOT NULL, to_day DATE NOT NULL, "
    "from_segment_id INTEGER, from_segment_name VARCHAR NOT NULL, "
    "to_segment_id INTEGER, to_segment_name VARCHAR NOT NULL, "
    "customers BIGINT NOT NULL, share_of_from DOUBLE NOT NULL"
)
MIGRATION_SQL = f"""
WITH before AS (SELECT user_id, segment_id, segment_name FROM {SEGMENT_HISTORY_TABLE}
                WHERE as_of_day = $from_day),
     after AS (SELECT user_id, segment_id, segment_name FROM {SEGMENT_HISTORY_TABLE}
               WHERE as_of_day = $to_day),
     moves AS (SELECT before.segment_id AS from_segment_id,
                      coalesce(before.segment_name, '{NEW_CUSTOMER}') AS from_segment_name,
                      after.segment_id AS to_segment_id,
                      coalesce(after.segment_name, '{NO_LONGER_SCORED}') AS to_segment_name,
                      count(*) AS customers
               FROM before FULL OUTER JOIN after USING (user_id)
               GROUP BY ALL)
SELECT $period AS period, $from_day AS from_day, $to_day AS to_day, moves.*,
       customers / sum(customers) OVER (PARTITION BY from_segment_id) AS share_of_from
FROM moves
ORDER BY from_segment_id NULLS LAST, to_segment_id NULLS LAST
"""


def period_days(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[date, date]]:
    """Each period that has a from-day in the history: (from_day, to_day)."""
    to_day = current_day(con)
    periods = {}
    for period, gap in MIGRATION_PERIODS.items():
        from_day = day_before(con, to_day, gap) if to_day else None
        if from_day is not None:
            periods[period] = (from_day, to_day)
    return periods


def replace_migration(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[date, date]]:
    """Rebuild `marts.segment_migration` for the latest scored day; returns its periods."""
    periods = period_days(con)
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE {SEGMENT_MIGRATION_TABLE} ({MIGRATION_COLUMNS})")
        for period, (from_day, to_day) in periods.items():
            con.execute(
                f"INSERT INTO {SEGMENT_MIGRATION_TABLE} BY NAME {MIGRATION_SQL}",
                {"period": period, "from_day": from_day, "to_day": to_day},
            )
    return periods


def segment_label(segment_id: float | None, name: str) -> str:
    return name if pd.isna(segment_id) else f"{int(segment_id)} {name}"


def migration_matrix(migration: pd.DataFrame, period: str) -> pd.DataFrame:
    """Customers of one period: from-segment (rows) x to-segment (columns), by segment id."""
    rows = migration[migration["period"] == period]

    def labels(side: str) -> pd.Series:
        ordered = rows.sort_values(f"{side}_segment_id", na_position="last")
        ids, names = ordered[f"{side}_segment_id"], ordered[f"{side}_segment_name"]
        return pd.Series(
            [segment_label(i, name) for i, name in zip(ids, names, strict=True)], ordered.index
        )

    cells = pd.DataFrame({"from": labels("from"), "to": labels("to"), "n": rows["customers"]})
    matrix = cells.pivot_table(index="from", columns="to", values="n", aggfunc="sum", fill_value=0)
    return matrix.reindex(
        index=labels("from").unique(), columns=labels("to").unique(), fill_value=0
    )


def migration_notes(migration: pd.DataFrame, segment_ids: list[int]) -> dict[int, str]:
    """One line per segment: the largest move out of it over the longest period available,
    e.g. "12% of last week's (2025-11-22) High-value customers moved to Mid-value; 85% stayed"."""
    if migration.empty:
        return {segment: "No earlier scoring to compare with yet." for segment in segment_ids}
    period = "7 days" if (migration["period"] == "7 days").any() else "1 day"
    rows = migration[migration["period"] == period]
    from_day = rows["from_day"].iloc[0]
    day = f"{pd.Timestamp(from_day):%Y-%m-%d}"
    when = f"{PERIOD_PHRASES[period]} ({day})"
    notes = {}
    for segment in segment_ids:
        out = rows[rows["from_segment_id"] == segment]
        if out.empty:
            notes[segment] = f"New segment: nobody was in it on {day}."
            continue
        name = out["from_segment_name"].iloc[0]
        stayed = float(out.loc[out["to_segment_id"] == segment, "share_of_from"].sum())
        moved = out[out["to_segment_id"] != segment].sort_values("share_of_from")
        if moved.empty:
            notes[segment] = f"All of {when} {name} customers stayed."
            continue
        largest = moved.iloc[-1]
        notes[segment] = (
            f"{largest['share_of_from']:.0%} of {when} {name} customers moved to "
            f"{largest['to_segment_name']}; {stayed:.0%} stayed."
        )
    return notes


def read_migration(warehouse: WarehouseAccess) -> pd.DataFrame:
    return warehouse.read_df(f"SELECT * FROM {SEGMENT_MIGRATION_TABLE}")

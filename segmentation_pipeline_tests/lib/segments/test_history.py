"""Segment history on a real DuckDB file: one scoring per data day, replaced idempotently,
old days dropped past the retention, all in the transaction that swaps the segments table."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from segmentation_pipeline.defs.resources import Warehouse
from segmentation_pipeline.lib.segments.history import (
    HISTORY_FEATURES,
    read_scorings,
    record_scoring_sql,
    scored_days,
)
from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    CUSTOMER_SEGMENTS_TABLE,
    DEFAULT_HISTORY_RETENTION_DAYS,
    HISTORY_RETENTION_ENV,
    get_settings,
)

CUSTOMERS = 5
FIRST_DAY = date(2025, 11, 1)


def score(warehouse: Warehouse, day: date, segment: int, retention_days: int = 90) -> None:
    """Load features whose data ends on `day`, then publish a scoring that puts every customer
    in `segment`, as `customer_segments` does."""
    features = ", ".join(
        f"user_id * {index + 1} AS {name}" for index, name in enumerate(HISTORY_FEATURES)
    )
    scoring = pd.DataFrame(
        {
            "user_id": range(1, CUSTOMERS + 1),
            "segment_id": segment,
            "segment_name": f"segment {segment}",
            "model_version": "v1",
            "scored_at": datetime.now(UTC).replace(tzinfo=None),
        }
    )
    with warehouse.connect() as con:
        con.execute(
            f"CREATE OR REPLACE TABLE {CUSTOMER_FEATURES_TABLE} AS SELECT range AS user_id, "
            f"?::DATE AS last_purchase_date, {features} FROM range(1, {CUSTOMERS + 1})",
            [day],
        )
        warehouse.replace_table_from_frame(
            con,
            CUSTOMER_SEGMENTS_TABLE,
            scoring,
            statements_before=record_scoring_sql("incoming_frame", retention_days),
        )


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(database=str(tmp_path / "warehouse.duckdb"))


def days(warehouse: Warehouse) -> list[date]:
    with warehouse.connect() as con:
        return scored_days(con)


def test_scoring_a_day_again_replaces_that_day_and_keeps_the_previous_one(
    warehouse: Warehouse,
) -> None:
    yesterday, today = FIRST_DAY, FIRST_DAY + timedelta(days=1)
    score(warehouse, yesterday, segment=0)
    current, previous = read_scorings(warehouse)
    assert previous is None and len(current) == CUSTOMERS

    score(warehouse, today, segment=1)
    # A retry and a manual re-run of the same data day, the second with a different outcome.
    score(warehouse, today, segment=1)
    score(warehouse, today, segment=2)
    assert days(warehouse) == [yesterday, today]
    current, previous = read_scorings(warehouse)
    assert list(current["segment_id"]) == [2] * CUSTOMERS
    assert list(previous["segment_id"]) == [0] * CUSTOMERS
    assert set(current["as_of_day"].dt.date) == {today}
    assert set(previous["as_of_day"].dt.date) == {yesterday}
    # The key features the customers were scored on travel with the scoring.
    assert list(current["total_spend"]) == [1 * 2, 2 * 2, 3 * 2, 4 * 2, 5 * 2]


def test_a_new_day_is_compared_with_the_latest_earlier_day_even_after_a_gap(
    warehouse: Warehouse,
) -> None:
    for offset, segment in [(0, 0), (1, 1), (5, 2)]:
        score(warehouse, FIRST_DAY + timedelta(days=offset), segment)
    current, previous = read_scorings(warehouse)
    assert set(current["segment_id"]) == {2} and set(previous["segment_id"]) == {1}
    assert set(previous["as_of_day"].dt.date) == {FIRST_DAY + timedelta(days=1)}


def test_retention_drops_days_older_than_it_in_the_same_scoring(warehouse: Warehouse) -> None:
    scored = [FIRST_DAY + timedelta(days=offset) for offset in range(12)]
    for day in scored:
        score(warehouse, day, segment=0, retention_days=8)
    # The newest day and the 7 before it: enough for the 7-day migration.
    assert days(warehouse) == scored[-8:]
    with warehouse.connect() as con:
        (rows,) = con.execute("SELECT count(*) FROM marts.segment_history").fetchone()
    assert rows == 8 * CUSTOMERS


def test_retention_is_a_setting_with_a_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HISTORY_RETENTION_ENV, raising=False)
    assert get_settings().history_retention_days == DEFAULT_HISTORY_RETENTION_DAYS == 90
    monkeypatch.setenv(HISTORY_RETENTION_ENV, "30")
    assert get_settings().history_retention_days == 30
    for wrong in ("5", "ninety", "-3"):
        monkeypatch.setenv(HISTORY_RETENTION_ENV, wrong)
        with pytest.raises(ValueError, match=f"{HISTORY_RETENTION_ENV}='{wrong}'.*at least 8"):
            get_settings()

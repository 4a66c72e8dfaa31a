"""The feature SQL on hand-made rows whose answers are known."""

from datetime import date

import duckdb
import pytest

from segmentation_pipeline.lib.features.sql import CATEGORY_SHARE_COLUMNS, customer_features_sql
from segmentation_pipeline.lib.ingest.loader import RAW_TABLE_DDL

COLUMNS = (
    "User_ID, Product_ID, Gender, Age, Occupation, City_Category, Stay_In_Current_City_Years, "
    "Marital_Status, Product_Category, Purchase, transaction_date"
)
ROWS = [
    # Customer 1: three purchases over two days, categories 1 and 5.
    (1, "P00000001", "F", "26-35", 4, "B", "1", "0", 1, 1000, date(2025, 11, 1)),
    (1, "P00000002", "F", "26-35", 4, "B", "1", "0", 5, 3000, date(2025, 11, 1)),
    (1, "P00000003", "F", "26-35", 4, "B", "1", "0", 1, 4000, date(2025, 11, 2)),
    # Customer 2: demographics disagree; the combination on two rows wins over the newer one.
    (2, "P00000001", "M", "18-25", 7, "A", "4+", "1", 8, 500, date(2025, 11, 1)),
    (2, "P00000004", "M", "18-25", 7, "A", "4+", "1", 8, 700, date(2025, 11, 2)),
    (2, "P00000005", "M", "36-45", 7, "C", "4+", "1", 8, 800, date(2025, 11, 3)),
    # Customer 3: two rows, one each; the tie goes to the most recent day.
    (3, "P00000006", "F", "55+", 1, "A", "0", "0", 20, 100, date(2025, 11, 1)),
    (3, "P00000007", "M", "55+", 1, "A", "0", "0", 20, 300, date(2025, 11, 5)),
]


@pytest.fixture
def features() -> dict[int, dict]:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute(RAW_TABLE_DDL)
    con.executemany(
        f"INSERT INTO raw.transactions ({COLUMNS}) VALUES ({', '.join(['?'] * 11)})", ROWS
    )
    frame = con.execute(customer_features_sql()).df()
    return {int(row["user_id"]): row for row in frame.to_dict(orient="records")}


def test_one_row_per_customer(features: dict[int, dict]) -> None:
    assert sorted(features) == [1, 2, 3]


def test_behaviour_aggregates(features: dict[int, dict]) -> None:
    first = features[1]
    assert first["transactions"] == 3
    assert first["total_spend"] == 8000
    assert first["avg_ticket"] == pytest.approx(8000 / 3)
    assert first["distinct_products"] == 3
    assert first["distinct_categories"] == 2
    assert first["active_days"] == 2
    assert first["spend_per_active_day"] == pytest.approx(4000)
    assert str(first["first_purchase_date"])[:10] == "2025-11-01"
    assert str(first["last_purchase_date"])[:10] == "2025-11-02"


def test_category_spend_shares(features: dict[int, dict]) -> None:
    first = features[1]
    assert first["spend_share_cat_01"] == pytest.approx(5000 / 8000)
    assert first["spend_share_cat_05"] == pytest.approx(3000 / 8000)
    for customer in features.values():
        assert sum(customer[column] for column in CATEGORY_SHARE_COLUMNS) == pytest.approx(1)


def test_consistent_demographics_are_kept(features: dict[int, dict]) -> None:
    first = features[1]
    assert (first["gender"], first["age"], first["city_category"]) == ("F", "26-35", "B")
    assert (first["occupation"], first["stay_in_current_city_years"]) == (4, "1")
    assert not first["demographics_conflict"]


def test_conflicting_demographics_majority_wins_and_is_flagged(features: dict[int, dict]) -> None:
    second = features[2]
    assert (second["age"], second["city_category"]) == ("18-25", "A")
    assert second["demographics_conflict"]


def test_conflicting_demographics_tie_goes_to_latest_day(features: dict[int, dict]) -> None:
    third = features[3]
    assert third["gender"] == "M"
    assert third["demographics_conflict"]

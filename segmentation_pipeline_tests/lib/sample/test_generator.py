"""The synthetic Black Friday sample against the published facts of the real file."""

from __future__ import annotations

import re
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation_pipeline.lib.sample import SampleSummary, load_facts, write_sample
from segmentation_pipeline.lib.sample.population import ID_STRIDE, build_population, plan_copies
from segmentation_pipeline.settings import AGE_BANDS, DEMOGRAPHIC_COLUMNS, SOURCE_COLUMNS

FIRST_DAY, LAST_DAY = date(2025, 11, 1), date(2025, 11, 28)
BLACK_FRIDAY_WEEK = 5
SMALL_SCALE = 0.02
# Full-string patterns of each column, as formatted in the real file.
FORMATS = {
    "User_ID": r"10\d{5}",
    "Product_ID": r"P\d{8}",
    "Gender": r"F|M",
    "Age": "|".join(re.escape(band) for band in AGE_BANDS),
    "Occupation": r"\d|1\d|20",
    "City_Category": r"A|B|C",
    "Stay_In_Current_City_Years": r"[0-3]|4\+",
    "Marital_Status": r"0|1",
    "Product_Category": r"[1-9]|1\d|20",
    "Purchase": r"[1-9]\d*",
}
TXN_COLUMNS = [*DEMOGRAPHIC_COLUMNS, "Product_Category"]
USER_COLUMNS = ["Gender", "Age", "City_Category", "Stay_In_Current_City_Years", "Marital_Status"]


def _read(files: list[Path]) -> pd.DataFrame:
    # All as text: formats are checked on the exact strings written.
    return pd.concat(
        [pd.read_csv(path, dtype=str, keep_default_na=False) for path in files],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def facts() -> dict:
    return load_facts()


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleSummary, pd.DataFrame]:
    summary = write_sample(tmp_path_factory.mktemp("scale1"))
    return summary, _read(summary.files)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleSummary, pd.DataFrame]:
    summary = write_sample(tmp_path_factory.mktemp("small"), scale=SMALL_SCALE)
    return summary, _read(summary.files)


@pytest.fixture(scope="module")
def frame(full: tuple[SampleSummary, pd.DataFrame]) -> pd.DataFrame:
    return full[1]


@pytest.fixture(scope="module")
def per_customer(frame: pd.DataFrame) -> pd.DataFrame:
    purchase = frame["Purchase"].astype(int)
    grouped = purchase.groupby(frame["User_ID"])
    return pd.DataFrame({"txns": grouped.size(), "avg_purchase": grouped.mean()})


def test_summary_and_files(full: tuple[SampleSummary, pd.DataFrame], facts: dict) -> None:
    summary, frame = full
    days = [FIRST_DAY + timedelta(days=i) for i in range(28)]
    assert [path.name for path in summary.files] == [f"{day.isoformat()}.csv" for day in days]
    assert (summary.first_day, summary.last_day) == (FIRST_DAY, LAST_DAY)
    assert summary.rows == len(frame) == facts["rows"]
    assert summary.customers == frame["User_ID"].nunique() == facts["n_users"]
    assert summary.products == frame["Product_ID"].nunique() == facts["n_products"]
    assert not list(summary.files[0].parent.glob("*.partial"))


def test_files_are_plain_utf8_csv(full: tuple[SampleSummary, pd.DataFrame]) -> None:
    for path in full[0].files:
        content = path.read_bytes()
        assert b"\r" not in content
        text = content.decode("utf-8")
        assert text.startswith(",".join(SOURCE_COLUMNS) + "\n")
        assert text.endswith("\n")


@pytest.mark.parametrize("sample", ["full", "small"])
def test_values_are_formatted_like_the_real_data(
    sample: str, request: pytest.FixtureRequest
) -> None:
    frame = request.getfixturevalue(sample)[1]
    assert list(frame.columns) == list(SOURCE_COLUMNS)
    for column, pattern in FORMATS.items():
        assert frame[column].str.fullmatch(pattern).all(), column


def test_ids_and_products(frame: pd.DataFrame, facts: dict) -> None:
    first_id, last_id = facts["user_id_range"]
    user_ids = frame["User_ID"].astype(int)
    assert user_ids.between(first_id, last_id).all()
    assert (frame.groupby("Product_ID")["Product_Category"].nunique() == 1).all()


@pytest.mark.parametrize("column", TXN_COLUMNS)
def test_transaction_shares_match(frame: pd.DataFrame, facts: dict, column: str) -> None:
    published = pd.Series(facts["txn_counts"][column]) / facts["rows"]
    shares = frame[column].value_counts(normalize=True).reindex(published.index, fill_value=0)
    assert (shares - published).abs().max() < 0.01


@pytest.mark.parametrize("column", USER_COLUMNS)
def test_customer_shares_match(frame: pd.DataFrame, facts: dict, column: str) -> None:
    published = pd.Series(facts["user_counts"][column]) / facts["n_users"]
    customers = frame.drop_duplicates("User_ID")[column]
    shares = customers.value_counts(normalize=True).reindex(published.index, fill_value=0)
    assert (shares - published).abs().max() < 0.01


def test_purchase_by_category(frame: pd.DataFrame, facts: dict) -> None:
    purchase = frame["Purchase"].astype(int).groupby(frame["Product_Category"])
    stats = purchase.agg(["mean", "min", "max"])
    for category, (_, mean, _, low, _, high) in facts["purchase_by_product_category"].items():
        assert stats.loc[category, "mean"] == pytest.approx(mean, rel=0.03), category
        assert low <= stats.loc[category, "min"] <= stats.loc[category, "max"] <= high, category


def test_transactions_per_customer(per_customer: pd.DataFrame, facts: dict) -> None:
    txns = per_customer["txns"]
    assert txns.min() == facts["per_user"]["num_transactions"]["min"]
    assert 50 <= txns.median() <= 58
    assert 950 <= txns.max() <= 1100
    assert txns.mean() == pytest.approx(facts["per_user"]["num_transactions"]["mean"], rel=0.01)


def test_customers_are_consistent_and_rows_unique(frame: pd.DataFrame) -> None:
    assert not (frame == "").any().any()
    assert (frame.groupby("User_ID")[list(DEMOGRAPHIC_COLUMNS)].nunique() == 1).all().all()
    assert not frame.duplicated(["User_ID", "Product_ID"]).any()


def test_structure_of_the_real_data(
    frame: pd.DataFrame, per_customer: pd.DataFrame, facts: dict
) -> None:
    # Category mix varies per customer, so average spend does too.
    published_std = facts["per_user"]["avg_purchase"]["std"]
    assert per_customer["avg_purchase"].std() == pytest.approx(published_std, rel=0.2)
    # The heaviest buyers live mostly in City B.
    heaviest = per_customer["txns"].nlargest(len(per_customer) // 10).index
    cities = frame.drop_duplicates("User_ID").set_index("User_ID")["City_Category"]
    assert cities[heaviest].value_counts().idxmax() == "B"
    # A few products sell far more than the average one.
    sales = frame["Product_ID"].value_counts()
    assert 1400 <= sales.iloc[0] <= 2000
    assert sales.iloc[0] > 8 * sales.mean()


def test_black_friday_week_is_heavier(full: tuple[SampleSummary, pd.DataFrame]) -> None:
    rows = np.array([len(pd.read_csv(path, usecols=[0])) for path in full[0].files])
    assert rows.min() > 0
    ordinary, black_friday = rows[:-BLACK_FRIDAY_WEEK], rows[-BLACK_FRIDAY_WEEK:]
    assert black_friday.min() > 2 * ordinary.max()


def test_small_scale_keeps_the_constraints(
    small: tuple[SampleSummary, pd.DataFrame], facts: dict
) -> None:
    summary, frame = small
    assert summary.customers == frame["User_ID"].nunique() == round(facts["n_users"] * SMALL_SCALE)
    assert summary.rows == len(frame) == round(facts["rows"] * SMALL_SCALE)
    assert all(len(pd.read_csv(path, usecols=[0])) > 0 for path in summary.files)
    first_id, last_id = facts["user_id_range"]
    assert frame["User_ID"].astype(int).between(first_id, last_id).all()
    assert frame.groupby("User_ID").size().min() >= facts["per_user"]["num_transactions"]["min"]
    assert not frame.duplicated(["User_ID", "Product_ID"]).any()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    def contents(seed: int, name: str) -> list[bytes]:
        files = write_sample(tmp_path / name, seed=seed, scale=0.01).files
        return [path.read_bytes() for path in files]

    assert contents(7, "a") == contents(7, "b")
    assert contents(7, "a") != contents(8, "c")


def test_scale_up_copies_customers_under_new_ids(facts: dict) -> None:
    population = build_population(facts, np.random.default_rng(0))
    copies = list(plan_copies(population, 2.5, np.random.default_rng(1)))
    assert [copy.index for copy in copies] == [0, 1, 2]
    user_ids = np.concatenate([copy.user_ids for copy in copies])
    assert len(np.unique(user_ids)) == len(user_ids) == round(facts["n_users"] * 2.5)
    for copy in copies:
        assert (copy.user_ids == population.user_ids[copy.members] + copy.index * ID_STRIDE).all()
    counts = np.concatenate([copy.txn_counts for copy in copies])
    assert counts.sum() == round(facts["rows"] * 2.5)
    assert counts.min() >= 6
    assert counts.max() <= 1026


def test_memory_does_not_grow_with_scale(tmp_path: Path) -> None:
    def peak(scale: float) -> int:
        tracemalloc.start()
        try:
            write_sample(tmp_path / str(scale), scale=scale)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # 4x the rows; holding them in memory would need about 4x the peak.
    assert peak(1.0) < 1.5 * peak(0.25)


def test_existing_days_are_replaced_and_other_files_kept(tmp_path: Path) -> None:
    stale = tmp_path / "2025-11-01.csv"
    stale.write_text("stale\n")
    unrelated = tmp_path / "2025-10-31.csv"
    unrelated.write_text("keep\n")
    summary = write_sample(tmp_path, scale=0.001, first_day=FIRST_DAY, last_day=FIRST_DAY)
    assert summary.files == [stale]
    assert stale.read_text().startswith("User_ID,")
    assert unrelated.read_text() == "keep\n"


@pytest.mark.parametrize(
    "arguments",
    [{"scale": 0}, {"scale": 1e-6}, {"first_day": LAST_DAY, "last_day": FIRST_DAY}],
)
def test_rejects_impossible_arguments(tmp_path: Path, arguments: dict) -> None:
    with pytest.raises(ValueError):
        write_sample(tmp_path, **arguments)

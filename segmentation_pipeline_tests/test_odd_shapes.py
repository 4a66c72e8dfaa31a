"""Small and odd data sets through the whole pipeline: valid marts, or one clear error.

Each shape is landed as contract CSV files (`sample/planted.write_landing`) and run with the
CLI's `run_pipeline`, as a new user would.
"""

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from segmentation_pipeline.cli import print_summary, run_pipeline
from segmentation_pipeline.definitions import defs
from segmentation_pipeline.defs.resources import ModelStore
from segmentation_pipeline.lib.sample.planted import write_landing
from segmentation_pipeline.settings import PRODUCT_CATEGORIES, SOURCE_COLUMNS, Settings

DEMOGRAPHICS = {
    "Gender": ["F", "M"],
    "Age": ["18-25", "26-35", "36-45", "46-50"],
    "Occupation": [1, 4, 7, 12],
    "City_Category": ["A", "B", "C"],
    "Stay_In_Current_City_Years": ["0", "1", "4+"],
    "Marital_Status": [0, 1],
}


def transactions(
    customers: int,
    per_customer: int | list[int],
    categories: list[int] | None = None,
    days: int = 4,
    identical: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """Rows in SOURCE_COLUMNS plus `day`; `identical` gives every customer the same rows."""
    rng = np.random.default_rng(seed)
    counts = [per_customer] * customers if isinstance(per_customer, int) else per_customer
    categories = categories or list(PRODUCT_CATEGORIES)
    frames = []
    for customer, count in enumerate(counts):
        draw = np.random.default_rng(seed) if identical else rng
        category = draw.choice(categories, count)
        frame = pd.DataFrame(
            {
                "User_ID": 1_000_001 + customer,
                "Product_ID": [f"P{c * 10_000 + i:08d}" for i, c in enumerate(category)],
                **{name: draw.choice(values) for name, values in DEMOGRAPHICS.items()},
                "Product_Category": category,
                "Purchase": draw.integers(500, 20_000, count),
                "day": draw.integers(0, days, count),
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[[*SOURCE_COLUMNS, "day"]]


def table(settings: Settings, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).df()


def assert_valid_marts(settings: Settings, instance: dg.DagsterInstance, customers: int) -> dict:
    segments = table(settings, "SELECT * FROM marts.customer_segments")
    profiles = table(settings, "SELECT * FROM marts.segment_profiles ORDER BY segment_id")
    card = ModelStore().load_card()
    assert len(segments) == segments["user_id"].nunique() == customers
    assert len(profiles) == card["k"] == segments["segment_id"].nunique()
    assert profiles["customers"].sum() == customers
    assert profiles["segment_name"].is_unique
    assert profiles["segment_name"].str.contains("buyers, ").all()
    assert np.isfinite(segments["distance_to_centroid"]).all()
    assert (settings.reports_dir / "segment_report.html").exists()
    separation = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("segmentation_model"), "segment_separation"), limit=1
    )
    assert separation and separation[0].evaluation is not None
    return card


SHAPES = {
    "one customer": (transactions(1, 5), 1),
    "twenty customers": (transactions(20, 12), 20),
    # The reported crash: no category reaches 10% of any segment's spend.
    "spend spread evenly over all categories": (transactions(60, 26), 60),
    "every customer identical": (transactions(30, 8, identical=True), 30),
    "a single category only": (transactions(80, 10, categories=[5]), 80),
    "a single day": (transactions(80, 10, days=1), 80),
    "a customer with one transaction": (transactions(50, [1] + [15] * 49), 50),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_shape_gives_valid_marts(
    shape: str, data_dir: Settings, instance: dg.DagsterInstance, capsys: pytest.CaptureFixture
) -> None:
    rows, customers = SHAPES[shape]
    write_landing(rows, data_dir.landing_dir)
    results = run_pipeline(data_dir, instance)
    assert all(result.success for result in results)
    card = assert_valid_marts(data_dir, instance, customers)
    if shape in ("one customer", "every customer identical"):
        # One segment: said in the report and in the CLI summary.
        assert card["k"] == 1 and card["separation"]["weak"]
        report = (data_dir.reports_dir / "segment_report.html").read_text()
        assert "segments are weakly separated" in report
        capsys.readouterr()
        print_summary(data_dir)
        assert "treat them as a partition, not as natural groups" in capsys.readouterr().out


def test_fewer_customers_than_k_min(data_dir: Settings, instance: dg.DagsterInstance) -> None:
    write_landing(transactions(3, 6), data_dir.landing_dir)
    assert all(result.success for result in run_pipeline(data_dir, instance))
    result = defs.resolve_job_def("segmentation_job").execute_in_process(
        instance=instance,
        run_config={"ops": {"segmentation_model": {"config": {"k_min": 4, "k_max": 6}}}},
    )
    assert result.success
    card = assert_valid_marts(data_dir, instance, 3)
    assert card["k"] <= 3


def test_days_without_a_single_valid_row_are_one_clear_failure(
    data_dir: Settings, instance: dg.DagsterInstance
) -> None:
    """Landed days that hold only a header: nothing to segment. The run fails once (no
    retries), at the model, saying so; no mart is published."""
    for day in ("2025-11-01", "2025-11-02"):
        (data_dir.landing_dir / f"{day}.csv").write_text(",".join(SOURCE_COLUMNS) + "\n")
    with pytest.raises(dg.Failure, match=r"No customers to segment: marts\.customer_features is"):
        run_pipeline(data_dir, instance)
    (run,) = instance.get_runs()
    (failure,) = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    assert failure.event_log_entry.step_key == "segmentation_model"
    retried = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY
    ).records
    assert not retried
    with duckdb.connect(str(data_dir.warehouse_path), read_only=True) as con:
        marts = {
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            ).fetchall()
        }
    assert "customer_segments" not in marts and "segment_profiles" not in marts

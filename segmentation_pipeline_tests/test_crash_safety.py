"""A run SIGKILLed in the middle of the load, the features, the model or the scoring leaves the
previous night intact, and the next `segmentation run` leaves the warehouse consistent.

Real `segmentation run` processes; the kill is injected by segmentation_pipeline_tests.crash
just before the named asset commits (after all its writes), the worst moment.
"""

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from segmentation_pipeline_tests.crash import CRASH_IN_ENV
from segmentation_pipeline_tests.support import REPO_ROOT
from segmentation_pipeline_tests.support.runs import Project

NEXT_NIGHT_DAYS = 8
STATE_SQL = {
    "days": "SELECT CAST(transaction_date AS VARCHAR) AS day, count(*) AS rows "
    "FROM raw.transactions GROUP BY ALL ORDER BY day",
    "loads": "SELECT CAST(transaction_date AS VARCHAR) AS day, file_sha256, rows_loaded "
    "FROM raw.landing_loads ORDER BY day",
    "features": "SELECT * FROM marts.customer_features ORDER BY user_id",
    "segments": "SELECT * FROM marts.customer_segments ORDER BY user_id",
    "profiles": "SELECT * FROM marts.segment_profiles ORDER BY segment_id",
}


def warehouse_state(data: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        return {name: con.execute(sql).df() for name, sql in STATE_SQL.items()}


def current_model(data: Path) -> str | None:
    pointer = data / "models" / "current.json"
    return json.loads(pointer.read_text())["version"] if pointer.exists() else None


def assert_consistent(project: Project) -> None:
    """Every landed day once, marts computed from exactly the raw layer, the model complete."""
    landing = sorted((project.data / "landing" / "transactions").glob("*.csv"))
    with duckdb.connect(str(project.data / "warehouse.duckdb"), read_only=True) as con:
        loads = con.execute(
            "SELECT CAST(transaction_date AS VARCHAR), count(*), sum(rows_loaded) "
            "FROM raw.landing_loads GROUP BY ALL"
        ).fetchall()
        raw_rows = dict(
            con.execute(
                "SELECT CAST(transaction_date AS VARCHAR), count(*) FROM raw.transactions "
                "GROUP BY ALL"
            ).fetchall()
        )
        raw_customers, raw_spend = con.execute(
            "SELECT count(DISTINCT User_ID), sum(Purchase) FROM raw.transactions"
        ).fetchone()
        features = con.execute(
            "SELECT count(*), count(DISTINCT user_id), sum(total_spend) "
            "FROM marts.customer_features"
        ).fetchone()
        unsegmented = con.execute(
            "SELECT count(*) FROM marts.customer_features f "
            "FULL JOIN marts.customer_segments s USING (user_id) "
            "WHERE f.user_id IS NULL OR s.segment_id IS NULL"
        ).fetchone()[0]
        scored_by = {
            version
            for (version,) in con.execute(
                "SELECT DISTINCT model_version FROM marts.customer_segments"
            ).fetchall()
        }
    assert {day: (1, raw_rows[day]) for day in raw_rows} == {
        day: (count, rows) for day, count, rows in loads
    }
    assert sorted(raw_rows) == [path.stem for path in landing]
    assert features == (raw_customers, raw_customers, raw_spend)
    assert unsegmented == 0
    version = current_model(project.data)
    folder = project.data / "models" / version
    assert (folder / "model.joblib").stat().st_size > 0
    assert json.loads((folder / "model_card.json").read_text())["version"] == version
    assert scored_by == {version}


@pytest.fixture(scope="module")
def first_night(tmp_path_factory: pytest.TempPathFactory, small_landing: Path) -> Path:
    """A project after a complete first night on all days but the last eight (so the next
    night's data ends 8 days later and the model is refitted: every step writes)."""
    project = Project(tmp_path_factory.mktemp("first_night"), small_landing)
    for path in sorted(project.landing.glob("*.csv"))[-NEXT_NIGHT_DAYS:]:
        path.unlink()
    run = project.run()
    assert run.returncode == 0, run.stdout + run.stderr
    return project.home.parent


MARTS = ["features", "segments", "profiles"]


# Killed in an asset: that asset's writes and everything after it are as they were before.
@pytest.mark.parametrize(
    ("asset", "unchanged", "model_unchanged"),
    [
        ("raw_transactions", ["days", "loads", *MARTS], True),
        ("customer_features", MARTS, True),
        ("segmentation_model", ["segments", "profiles"], True),
        ("customer_segments", ["segments", "profiles"], False),
    ],
)
def test_a_run_killed_mid_step_leaves_no_half_step_and_the_next_run_is_consistent(
    asset: str,
    unchanged: list[str],
    model_unchanged: bool,
    first_night: Path,
    small_landing: Path,
    tmp_path: Path,
) -> None:
    shutil.copytree(first_night, tmp_path, dirs_exist_ok=True)
    project = Project(tmp_path)
    before = warehouse_state(project.data)
    model_before = current_model(project.data)
    next_night = sorted(small_landing.glob("*.csv"))[-NEXT_NIGHT_DAYS:]
    for path in next_night:
        shutil.copy(path, project.landing)

    crashed = project.run(
        extra_env={CRASH_IN_ENV: asset, "PYTHONPATH": str(REPO_ROOT)},
        module="segmentation_pipeline_tests.crash",
    )
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr  # SIGKILL, at that step
    after_crash = warehouse_state(project.data)
    for name in unchanged:
        pd.testing.assert_frame_equal(after_crash[name], before[name], obj=f"{name} after kill")
    assert (current_model(project.data) == model_before) is model_unchanged

    again = project.run()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Cleaned up run" in again.stdout
    assert_consistent(project)
    assert next_night[-1].stem in set(warehouse_state(project.data)["days"]["day"])
    assert current_model(project.data) != model_before  # refitted on the new data

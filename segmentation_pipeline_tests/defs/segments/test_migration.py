"""Customer migration through real runs: days land, customers change behaviour, the counts of
`marts.segment_migration` match the scorings, the profiles and the report say where they went."""

import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from segmentation_pipeline.cli import run_pipeline
from segmentation_pipeline.defs.resources import ModelStore
from segmentation_pipeline.lib.ingest.landing import landed_days, landing_file
from segmentation_pipeline.settings import Settings
from segmentation_pipeline_tests.support.reports import assert_pngs, parse_report

# Customers of the lowest-spending segment who suddenly buy this much on the last day.
BIG_SPENDERS = 4
BIG_PURCHASE = 90_000  # the contract allows up to 100,000 per row
BIG_PURCHASE_ROWS = 10


def table(settings: Settings, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).df()


def run(settings: Settings, instance: dg.DagsterInstance) -> pd.DataFrame:
    """Load what has landed, rebuild the marts; the published segments."""
    assert all(result.success for result in run_pipeline(settings, instance))
    return table(settings, "SELECT user_id, segment_id FROM marts.customer_segments")


def scored_by(settings: Settings) -> set[str]:
    return set(
        table(settings, "SELECT DISTINCT model_version FROM marts.customer_segments")[
            "model_version"
        ]
    )


def expected_moves(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Customers per (from, to) segment, computed here from the two published scorings."""
    moves = before.merge(after, on="user_id", how="outer", suffixes=("_from", "_to"))
    return (
        moves.groupby(["segment_id_from", "segment_id_to"], dropna=False)
        .size()
        .rename("customers")
        .reset_index()
        .set_axis(["from_segment_id", "to_segment_id", "customers"], axis=1)
        .sort_values(["from_segment_id", "to_segment_id"], ignore_index=True)
    )


def migration(settings: Settings, period: str) -> pd.DataFrame:
    return table(
        settings,
        "SELECT from_segment_id, to_segment_id, customers FROM marts.segment_migration "
        f"WHERE period = '{period}' ORDER BY from_segment_id, to_segment_id",
    )


def test_migration_between_consecutive_days_and_over_a_week(
    landed: Settings, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    days = landed_days(landed.landing_dir)
    # The model is fitted on night 1, refitted on night 2 (7 days newer), kept on night 3: the
    # last night's moves are changes of behaviour under one model.
    week_ago, yesterday, today = days[-9], days[-2], days[-1]
    held_back = tmp_path / "held_back"
    held_back.mkdir()
    for day in days[-8:]:
        shutil.move(landing_file(landed.landing_dir, day), held_back)

    def land(*landing: str) -> None:
        for day in landing:
            shutil.move(held_back / f"{day}.csv", landing_file(landed.landing_dir, day))

    # Night 1: data up to 8 days before the last day. Nothing to compare with yet.
    on_week_ago = run(landed, instance)
    assert table(landed, "SELECT count(*) AS n FROM marts.segment_migration")["n"][0] == 0
    notes = table(landed, "SELECT migration_note FROM marts.segment_profiles")["migration_note"]
    assert (notes == "No earlier scoring to compare with yet.").all()

    # Night 2: seven more days.
    land(*days[-8:-1])
    on_yesterday = run(landed, instance)
    version = ModelStore().current_version()

    # Night 3: the last day, on which a few of the lowest spenders buy big.
    profiles = table(landed, "SELECT segment_id, avg_spend FROM marts.segment_profiles")
    lowest = profiles.loc[profiles["avg_spend"].idxmin(), "segment_id"]
    spenders = on_yesterday.loc[on_yesterday["segment_id"] == lowest, "user_id"]
    spenders = spenders.head(BIG_SPENDERS).tolist()
    earlier = pd.concat(
        pd.read_csv(landing_file(landed.landing_dir, day), dtype=str)
        for day in landed_days(landed.landing_dir)
    )
    # One of each big spender's own earlier purchases again, large and ten times over, each time
    # for another amount (identical rows would be quarantined as duplicates): the demographics
    # stay the customer's own.
    big = earlier[earlier["User_ID"].astype(int).isin(spenders)].drop_duplicates("User_ID")
    land(today)
    rows = pd.read_csv(landing_file(landed.landing_dir, today), dtype=str)
    big_rows = [big.assign(Purchase=BIG_PURCHASE - copy) for copy in range(BIG_PURCHASE_ROWS)]
    pd.concat([rows, *big_rows]).to_csv(landing_file(landed.landing_dir, today), index=False)
    on_today = run(landed, instance)
    assert table(landed, "SELECT count(*) AS n FROM raw.rejected_transactions")["n"][0] == 0
    assert scored_by(landed) == {version}

    # The counts are exactly those of the published scorings, for both periods.
    for period, before in [("1 day", on_yesterday), ("7 days", on_week_ago)]:
        pd.testing.assert_frame_equal(
            migration(landed, period), expected_moves(before, on_today), check_dtype=False
        )
    spans = table(
        landed, "SELECT DISTINCT period, from_day, to_day FROM marts.segment_migration"
    ).set_index("period")
    assert spans.loc["1 day", "from_day"].date().isoformat() == yesterday
    assert spans.loc["7 days", "from_day"].date().isoformat() == week_ago
    assert (spans["to_day"].dt.date.astype(str) == today).all()
    shares = table(
        landed,
        "SELECT period, from_segment_id, sum(share_of_from) AS total "
        "FROM marts.segment_migration GROUP BY ALL",
    )
    assert (shares["total"] - 1).abs().max() < 1e-9

    # Spend is one of many features, so not every big spender need leave; those who left and
    # those who stayed are each counted in their cell.
    profiles = table(
        landed, "SELECT segment_id, avg_spend, migration_note FROM marts.segment_profiles"
    ).set_index("segment_id")
    moved = on_today.set_index("user_id").loc[spenders, "segment_id"]
    assert (moved != lowest).any()
    one_day = migration(landed, "1 day").set_index(["from_segment_id", "to_segment_id"])
    for destination, customers in moved.value_counts().items():
        assert one_day.loc[(lowest, destination), "customers"] >= customers

    # Every profile says where last week's customers of its segment went.
    note = re.compile(
        rf"(\d+% of last week's \({week_ago}\) .+ customers moved to .+; \d+% stayed\."
        rf"|All of last week's \({week_ago}\) .+ customers stayed\."
        rf"|New segment: nobody was in it on {week_ago}\.)"
    )
    assert profiles["migration_note"].map(note.fullmatch).all(), profiles["migration_note"]

    # The heatmap is in the UI metadata and in the report, with the notes.
    sections = parse_report(landed)
    assert len(sections["migration"]["images"]) == 1
    assert_pngs(sections["migration"]["images"])
    for text in profiles["migration_note"]:
        assert text in sections["migration"]["text"]
    event = instance.get_latest_materialization_event(dg.AssetKey("segment_migration"))
    metadata = event.asset_materialization.metadata
    assert_pngs([metadata["migration_heatmap"].value])
    assert metadata["periods"].value == ["1 day", "7 days"]
    assert metadata["1_day_span"].value == f"{yesterday}..{today}"

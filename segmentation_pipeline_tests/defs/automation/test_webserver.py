"""`dagster dev` as `make ui` starts it: the asset graph, schedule and sensor over GraphQL, a
run launched through GraphQL, and the lineage page rendered in headless Chromium (Debian's
package, driven by Playwright: nothing is downloaded at run time)."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import sync_playwright

from segmentation_pipeline_tests.defs.automation.deployment import (
    SIX_DAYS,
    Dagster,
    Service,
    deployment_dirs,
    free_port,
    tag,
)
from segmentation_pipeline_tests.support import BIN, EXPECTED_ASSETS, REPO_ROOT, wait_until

ASSETS = sorted(EXPECTED_ASSETS)
ARTIFACTS = REPO_ROOT / "test-artifacts"

ASSET_GRAPH_QUERY = """
{ assetNodes {
    assetKey { path } groupName kinds description
    owners { ... on TeamAssetOwner { team } }
    dependencyKeys { path }
    isPartitioned partitionDefinition { type description }
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
} }
"""


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory, six_day_landing: Path) -> Iterator[Dagster]:
    root = tmp_path_factory.mktemp("dagster_dev")
    env = deployment_dirs(root, six_day_landing, REPO_ROOT / ".dagster" / "dagster.yaml")
    port = free_port()
    service = Service(
        "dagster-dev",
        [str(BIN / "dagster"), "dev", "--host", "127.0.0.1", "--port", str(port)],
        env,
        root,
    )
    client = Dagster(port)
    try:
        wait_until(client.ready, 120, lambda: f"dagster dev on {port}\n{service.log()[-3000:]}")
        client.data_dir = Path(env["SEGMENTATION_DATA_DIR"])
        yield client
    finally:
        service.stop()
        # The exact process we started is gone, and so is its whole process group.
        assert service.process.poll() is not None
        assert not service.group_alive()


def test_asset_graph_over_graphql(dev: Dagster) -> None:
    nodes = {node["assetKey"]["path"][0]: node for node in dev(ASSET_GRAPH_QUERY)["assetNodes"]}
    assert set(nodes) == set(ASSETS)
    parents = {
        name: sorted(key["path"][0] for key in node["dependencyKeys"])
        for name, node in nodes.items()
    }
    assert parents == {
        "raw_transactions": [],
        "customer_features": ["raw_transactions"],
        "segmentation_model": ["customer_features"],
        "customer_segments": ["segmentation_model"],
        "segment_migration": ["customer_segments"],
        "segment_profiles": ["customer_segments", "segment_migration"],
        "segment_report": ["segment_profiles"],
        "published_marts": ["customer_features", "customer_segments", "segment_profiles"],
    }
    for name, node in nodes.items():
        assert node["description"] and node["kinds"] and node["owners"], name
        assert node["groupName"] != "default", name
    raw = nodes["raw_transactions"]
    assert raw["isPartitioned"] and raw["partitionDefinition"]["type"] == "TIME_WINDOW"
    assert "Daily" in raw["partitionDefinition"]["description"]
    checks = {
        name: {check["name"]: check["blocking"] for check in node["assetChecksOrError"]["checks"]}
        for name, node in nodes.items()
    }
    assert checks["raw_transactions"] == {
        "raw_transactions_contract": True,
        "raw_transactions_accounting": True,
    }
    assert checks["customer_features"] == {"customer_features_contract": True}
    assert checks["customer_segments"]["customer_segments_contract"] is True


def test_schedule_and_sensor_are_listed_and_running(dev: Dagster) -> None:
    instigators = dev.instigators()
    schedule, sensor = instigators["nightly_refresh"], instigators["landing_sensor"]
    assert (schedule["cronSchedule"], schedule["executionTimezone"]) == ("0 2 * * *", "UTC")
    assert schedule["scheduleState"]["status"] == "RUNNING"
    assert sensor["sensorState"]["status"] == "RUNNING"


def test_sensor_loads_the_landed_days_in_one_refresh(dev: Dagster) -> None:
    def sensor_run_done() -> dict | None:
        runs = [run for run in dev.runs() if tag(run, "trigger") == "landing_sensor"]
        return runs[0] if runs and runs[0]["status"] in {"SUCCESS", "FAILURE"} else None

    run = wait_until(sensor_run_done, 240, "the landing sensor's run")
    dev.assert_succeeded([run])
    assert run["jobName"] == "refresh_job"
    assert tag(run, "dagster/asset_partition_range_start") == SIX_DAYS[0]
    assert tag(run, "dagster/asset_partition_range_end") == SIX_DAYS[-1]


def test_a_run_launched_through_graphql_succeeds(dev: Dagster) -> None:
    run_id = dev.launch_run("ingest_job", {"dagster/partition": SIX_DAYS[2]})
    runs = dev.wait_for_quiet(240)
    (launched,) = [run for run in runs if run["runId"] == run_id]
    assert launched["status"] == "SUCCESS"
    with duckdb.connect(str(dev.data_dir / "warehouse.duckdb"), read_only=True) as con:
        days = con.execute(
            "SELECT count(DISTINCT transaction_date) FROM raw.transactions"
        ).fetchone()
    assert days == (len(SIX_DAYS),)


def test_lineage_page_renders_every_asset_in_chromium(dev: Dagster) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: `make test` installs Debian's chromium package"
    groups = ["ingest", "features", "model", "segments", "reporting", "publishing"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        # The lineage of the first asset, all the way downstream: the whole graph, by group.
        page.goto(
            f"{dev.base}/assets/raw_transactions?view=lineage&lineageScope=downstream&lineageDepth=6"
        )
        for text in [*ASSETS, *groups]:
            page.get_by_text(text, exact=True).first.wait_for(timeout=90_000)
        skip = page.get_by_role("button", name="Skip")  # the first-visit community dialog
        if skip.count():
            skip.first.click()
        text = page.inner_text("body")
        page.wait_for_timeout(1000)  # let the last layout settle
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "asset_lineage.png")
        browser.close()
    assert all(name in text for name in ASSETS)
    assert (ARTIFACTS / "asset_lineage.png").stat().st_size > 10_000

"""The analysts' door: deploy/webserver-readonly.sh serves lineage, checks and metadata, and
refuses to launch runs or backfills or to stop the sensor (real webserver, real GraphQL)."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from segmentation_pipeline_tests.defs.automation.deployment import (
    LAUNCH_BACKFILL,
    LAUNCH_RUN,
    LOCATION,
    REPOSITORY,
    SIX_DAYS,
    Dagster,
    Service,
    deployment_dirs,
    free_port,
)
from segmentation_pipeline_tests.support import BIN, REPO_ROOT, wait_until

LINEAGE_CHECKS_AND_METADATA = """
{ assetNodes {
    assetKey { path }
    dependencyKeys { path }
    assetChecksOrError { ... on AssetChecks { checks { name
        executionForLatestMaterialization { status } } } }
    assetMaterializations(limit: 1) { metadataEntries { label } }
} }
"""
STOP_SENSOR = """
mutation($id: String!) { stopSensor(id: $id) { __typename } }
"""


@pytest.fixture(scope="module")
def readonly(tmp_path_factory: pytest.TempPathFactory, six_day_landing: Path) -> Iterator[Dagster]:
    root = tmp_path_factory.mktemp("readonly")
    env = deployment_dirs(root, six_day_landing, REPO_ROOT / ".dagster" / "dagster.yaml")
    # Something to inspect: one night, run as the operators would.
    run = subprocess.run(
        [sys.executable, "-m", "segmentation_pipeline", "run"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    port = free_port()
    # The script defaults to the project's .venv; the tests run in whichever venv they were given.
    env.update(READONLY_HOST="127.0.0.1", READONLY_PORT=str(port), DAGSTER_BIN=str(BIN))
    service = Service(
        "readonly-webserver",
        ["bash", str(REPO_ROOT / "deploy" / "webserver-readonly.sh")],
        env,
        root,
    )
    client = Dagster(port)
    try:
        wait_until(client.ready, 120, lambda: f"the read-only webserver\n{service.log()[-3000:]}")
        yield client
    finally:
        service.stop()
        assert not service.group_alive()


def test_lineage_checks_and_metadata_answer(readonly: Dagster) -> None:
    nodes = {
        node["assetKey"]["path"][0]: node
        for node in readonly(LINEAGE_CHECKS_AND_METADATA)["assetNodes"]
    }
    assert [key["path"] for key in nodes["customer_features"]["dependencyKeys"]] == [
        ["raw_transactions"]
    ]
    checks = {
        check["name"]: check["executionForLatestMaterialization"]["status"]
        for check in nodes["raw_transactions"]["assetChecksOrError"]["checks"]
    }
    assert checks == {
        "raw_transactions_contract": "SUCCEEDED",
        "raw_transactions_accounting": "SUCCEEDED",
    }
    (latest,) = nodes["customer_segments"]["assetMaterializations"]
    assert "dagster/row_count" in {entry["label"] for entry in latest["metadataEntries"]}


def test_launching_runs_and_backfills_and_stopping_the_sensor_are_refused(
    readonly: Dagster,
) -> None:
    runs_before = len(readonly.runs())
    launch = readonly(
        LAUNCH_RUN,
        params={
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "jobName": "refresh_job",
            },
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": SIX_DAYS[0]}]},
        },
    )["launchPipelineExecution"]
    assert launch["__typename"] == "UnauthorizedError"
    backfill = readonly(
        LAUNCH_BACKFILL,
        params={"assetSelection": [{"path": ["raw_transactions"]}], "partitionNames": SIX_DAYS},
    )["launchPartitionBackfill"]
    assert backfill["__typename"] == "UnauthorizedError"
    sensor = readonly.instigators()["landing_sensor"]["sensorState"]
    assert readonly(STOP_SENSOR, id=sensor["id"])["stopSensor"]["__typename"] == "UnauthorizedError"
    assert len(readonly.runs()) == runs_before

"""Real services for the operations tests: a PostgreSQL server, Dagster processes, GraphQL.

Each process is started in its own session so a test stops exactly the process group it
started (the PID it launched and that PID's children), and nothing else.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from segmentation_pipeline_tests.support import REPO_ROOT, wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """A long-running process we started, with its log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stoppable exactly, and only it
        )
        self.pid = self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(10)
        # Children (code servers, run workers) share the group; none may outlive the test.
        with suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        wait_until(lambda: not self.group_alive(), 20, f"{self.name}'s processes to exit", 0.2)
        self._log.close()

    def group_alive(self) -> bool:
        """Whether any process of the group we started is still running."""
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        return True


def postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries (initdb) are not installed")
    return found[-1].parent


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL server on loopback; yields its connection URL.

    The server refuses to run as root, so as root it runs as the `postgres` system user on a
    folder that user owns.
    """
    tools = postgres_bin()
    base = Path(tempfile.mkdtemp(prefix="segmentation-pg-"))
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True)

    run(str(tools / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
    run(
        str(tools / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(base / "server.log"),
        "-w",
        "-o",
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1",
        "start",
    )
    try:
        run(
            str(tools / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "dagster"
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/dagster"
    finally:
        run(str(tools / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


class GraphQL:
    """A tiny client for the webserver's GraphQL endpoint."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/server_info", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.base}/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]


LOCATION = "segmentation_pipeline"
REPOSITORY = "__repository__"
TERMINAL_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}

RUNS_QUERY = """
{ runsOrError(limit: 100) { ... on Runs { results {
    runId status jobName tags { key value } } } } }
"""
INSTIGATORS_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
  ... on RepositoryLocation { repositories {
    schedules { name cronSchedule executionTimezone
      scheduleState { id status ticks(limit: 10) { status skipReason runIds } } }
    sensors { name sensorState { id status ticks(limit: 10) { status skipReason runIds } } }
} } } } } } }
"""
LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }
"""
LAUNCH_RUN = """
mutation($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
"""
RUN_ERRORS = """
query($id: ID!) { runOrError(runId: $id) { ... on Run { eventConnection { events {
  __typename ... on MessageEvent { message }
  ... on ErrorEvent { error { message } } } } } } }
"""
BACKFILL_STATUS = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status runs(limit: 20) { runId status } } } }
"""


def tag(run: dict[str, Any], key: str) -> str | None:
    return next((item["value"] for item in run["tags"] if item["key"] == key), None)


class Dagster(GraphQL):
    """The operations a test performs through the webserver, as a user of the UI would."""

    def runs(self) -> list[dict[str, Any]]:
        return self(RUNS_QUERY)["runsOrError"]["results"]

    def instigators(self) -> dict[str, dict[str, Any]]:
        (entry,) = self(INSTIGATORS_QUERY)["workspaceOrError"]["locationEntries"]
        (repository,) = entry["locationOrLoadError"]["repositories"]
        return {item["name"]: item for item in repository["schedules"] + repository["sensors"]}

    def launch_backfill(self, asset: str, days: list[str]) -> str:
        result = self(
            LAUNCH_BACKFILL,
            params={"assetSelection": [{"path": [asset]}], "partitionNames": days},
        )["launchPartitionBackfill"]
        assert result["__typename"] == "LaunchBackfillSuccess", result
        return result["backfillId"]

    def launch_run(self, job: str, tags: dict[str, str] | None = None) -> str:
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "jobName": job,
            },
            "executionMetadata": {
                "tags": [{"key": key, "value": value} for key, value in (tags or {}).items()]
            },
        }
        result = self(LAUNCH_RUN, params=params)["launchPipelineExecution"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return result["run"]["runId"]

    def backfill(self, backfill_id: str) -> dict[str, Any]:
        return self(BACKFILL_STATUS, id=backfill_id)["partitionBackfillOrError"]

    def assert_succeeded(self, runs: list[dict[str, Any]]) -> None:
        """Every run succeeded; otherwise name each other run with its error events, so a
        failure in CI says why (the instance is gone once the test ends)."""
        failed = [run for run in runs if run["status"] != "SUCCESS"]
        details = []
        for run in failed:
            events = self(RUN_ERRORS, id=run["runId"])["runOrError"]["eventConnection"]["events"]
            errors = [
                f"{event['__typename']}: {event.get('message')} {event['error']['message']}"
                for event in events
                if event.get("error")
            ]
            details.append(f"{run['runId']} {run['jobName']} {run['status']}: {errors}")
        assert not failed, "\n".join(details)

    def wait_for_quiet(self, timeout: float) -> list[dict[str, Any]]:
        """Wait until no run is queued or in progress; return every run."""

        def settled() -> list[dict[str, Any]] | None:
            runs = self.runs()
            return (
                runs
                if runs and all(run["status"] in TERMINAL_RUN_STATUSES for run in runs)
                else None
            )

        return wait_until(settled, timeout, "all runs to finish", every=2)


SIX_DAYS = [f"2025-11-0{day}" for day in range(1, 7)]


def deployment_dirs(root: Path, landing: Path, instance_yaml: Path) -> dict[str, str]:
    """A data dir holding a copy of `landing`, and a DAGSTER_HOME with `instance_yaml`."""
    home, data = root / "dagster_home", root / "data"
    home.mkdir(parents=True)
    shutil.copy(instance_yaml, home / "dagster.yaml")
    shutil.copytree(landing, data / "landing" / "transactions")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SEGMENTATION_DATA_DIR": str(data),
    }


def data_lines(landing: Path, day: str) -> int:
    return len((landing / f"{day}.csv").read_text().splitlines()) - 1

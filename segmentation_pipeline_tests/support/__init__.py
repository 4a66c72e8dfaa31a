"""What several test packages share: the repo's paths, waiting on a condition, the assets.

The one place tests import helpers from (test modules and conftests import nothing from each
other); `crash.py` and `defs/automation/deployment.py` sit beside the tests that use them.
"""

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

# The running interpreter's environment, whichever venv it is (`make test VENV=...`).
BIN = Path(sys.executable).parent


def wait_until(
    predicate: Callable[[], Any],
    timeout: float,
    what: str | Callable[[], str],
    every: float = 1.0,
):
    """Poll until `predicate` returns something truthy; fail with `what` after `timeout` s.

    `what` may be a callable, evaluated on failure (e.g. to show a service's latest log).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    description = what() if callable(what) else what
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {description}")


EXPECTED_ASSETS = {
    "raw_transactions",
    "customer_features",
    "segmentation_model",
    "customer_segments",
    "segment_migration",
    "segment_profiles",
    "segment_report",
    "published_marts",
}

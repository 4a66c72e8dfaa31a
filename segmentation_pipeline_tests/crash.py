"""`segmentation` with a SIGKILL injected at a chosen point, for the crash-safety tests.

    SEGMENTATION_TEST_CRASH_IN=customer_features python -m segmentation_pipeline_tests.crash run

kills the process (as the OOM killer would: no cleanup, no exception handler) the first time
the named asset is about to commit a warehouse transaction, i.e. after all its writes and
before COMMIT; `segmentation_model` is killed after its version folder is written and before
the current-model pointer moves. The pipeline itself is not changed: the hook wraps the
transaction helper and the pointer move before the pipeline's modules are imported.
"""

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from segmentation_pipeline.lib import warehouse

CRASH_IN_ENV = "SEGMENTATION_TEST_CRASH_IN"


def inside(function_name: str) -> bool:
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code.co_name == function_name and "segmentation_pipeline" in (
            frame.f_code.co_filename
        ):
            return True
        frame = frame.f_back
    return False


def kill_if_inside(function_name: str) -> None:
    if inside(function_name):
        os.kill(os.getpid(), signal.SIGKILL)


def install(target: str) -> None:
    committing = warehouse.transaction

    @contextmanager
    def transaction_killed_before_commit(
        con: duckdb.DuckDBPyConnection,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        with committing(con):
            yield con
            kill_if_inside(target)

    warehouse.transaction = transaction_killed_before_commit
    # Imported after the hook, so every module that imports `transaction` binds the wrapper.
    from segmentation_pipeline.defs import resources

    point_to = resources.ModelStore._point_to

    def point_to_killed_before(self: resources.ModelStore, version: str) -> None:
        kill_if_inside(target)
        point_to(self, version)

    resources.ModelStore._point_to = point_to_killed_before


if __name__ == "__main__":
    install(os.environ[CRASH_IN_ENV])
    from segmentation_pipeline.cli import main  # imported after the hook, so it sees it

    sys.exit(main(sys.argv[1:]))

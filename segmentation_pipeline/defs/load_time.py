"""The settings Dagster fixes when it loads the code location, read once, here.

Dagster reads a partitions definition, a schedule's cron and the resources it binds when it
loads `definitions.py`; changing these takes a reload (restart `dagster dev`, or "Reload" in the
UI):
- `SEGMENTATION_PARTITION_START`: the first daily partition (`partitions.py`);
- `SEGMENTATION_SCHEDULE_CRON`, `SEGMENTATION_SCHEDULE_TIMEZONE`: when `nightly_refresh` runs
  (`automation.py`);
- `SEGMENTATION_ENGINE`, `SEGMENTATION_SPARK_MASTER`, `SEGMENTATION_SPARK_CONF`: the compute
  engine bound as `compute_engine` (`definitions.py`).
Everything else (the data dir and its layout, engine limits, lock wait, history retention) is
read by the resources and assets when a run or a tick needs it, so tests and the CLI can point
one loaded definition at another folder.
"""

from segmentation_pipeline.settings import get_settings

LOAD_TIME_SETTINGS = get_settings()

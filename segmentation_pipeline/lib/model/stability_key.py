"""Where a model version's stability figures are kept: keyed by the data they were measured on
(see defs/model/stability.py, the `segment_stability` check)."""

import duckdb

from segmentation_pipeline.settings import CUSTOMER_FEATURES_TABLE

STABILITY_FILE = "stability"


def stability_data_key(con: duckdb.DuckDBPyConnection) -> str:
    """What the figures were computed on: the features' data window and a hash of their content
    (order-independent, in SQL), e.g. `20251101-20251130-00c3a9e1f2b4d5e6`."""
    first, last, content = con.execute(
        f"SELECT min(first_purchase_date), max(last_purchase_date), bit_xor(hash(features)) "
        f"FROM {CUSTOMER_FEATURES_TABLE} AS features"
    ).fetchone()
    return f"{first:%Y%m%d}-{last:%Y%m%d}-{content:016x}"


def stability_file(data_key: str) -> str:
    return f"{STABILITY_FILE}-{data_key}"

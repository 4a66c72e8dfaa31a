"""A Great Expectations outcome as the AssetCheckResult every GE check returns."""

from typing import Any

import dagster as dg
import pandas as pd

from segmentation_pipeline.defs.metadata import markdown_table
from segmentation_pipeline.lib.quality.validation import SuiteOutcome


def check_result(
    outcome: SuiteOutcome, extra_metadata: dict[str, Any] | None = None
) -> dg.AssetCheckResult:
    """An AssetCheckResult carrying, per expectation, success and unexpected counts and values."""
    table = pd.DataFrame(
        [
            {
                "expectation": item.expectation,
                "column": item.column,
                "success": item.success,
                "unexpected_count": item.unexpected_count,
                "unexpected_percent": item.unexpected_percent,
                "unexpected_examples": ", ".join(map(str, item.unexpected_examples)) or "-",
                "observed": "-" if item.observed_value is None else str(item.observed_value),
                **(
                    {"unexpected_in_all_rows": item.unexpected_in_all_rows}
                    if outcome.rows_counted_exactly is not None
                    else {}
                ),
            }
            for item in outcome.outcomes
        ]
    )
    failed = [f"{item.expectation}({item.column})" for item in outcome.failed]
    validated = f"{outcome.rows} rows"
    if outcome.rows_counted_exactly is not None:
        validated += f" (a sample; exact counts in the engine over {outcome.rows_counted_exactly})"
    return dg.AssetCheckResult(
        passed=outcome.success,
        description=(
            f"{outcome.suite}: all {len(outcome.outcomes)} expectations met on {validated}"
            if outcome.success
            else f"{outcome.suite}: failed {', '.join(failed)}"
        ),
        metadata={
            "suite": outcome.suite,
            "rows_validated": outcome.rows,
            **(
                {"rows_counted_exactly": outcome.rows_counted_exactly}
                if outcome.rows_counted_exactly is not None
                else {}
            ),
            "expectations": len(outcome.outcomes),
            "expectations_failed": len(failed),
            "unexpected_total": int(table["unexpected_count"].sum()) if len(table) else 0,
            "results": markdown_table(table, max_rows=len(table)),
            "expectation_results": dg.MetadataValue.json(table.to_dict(orient="records")),
            **(extra_metadata or {}),
        },
    )

"""Run a Great Expectations 1.x suite on a pandas frame (`defs.metadata.check_result` turns
the outcome into an AssetCheckResult).

GE is imported lazily (it costs seconds to import) and runs in an ephemeral context with its
progress bars off, so checks log cleanly in scheduled, non-interactive runs.
"""

from __future__ import annotations

import importlib
import logging
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

UNEXPECTED_EXAMPLES = 5

# With the [spark] extra installed, GE's import loads pyspark, which warns that it does not yet
# support pandas 3; GE never hands pyspark a pandas frame here, so the warning says nothing to
# the user (and would be a second line on the CLI's stderr).
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)


def prefetch_great_expectations() -> None:
    """Start importing GE in a background thread.

    The import takes seconds; an asset whose blocking check needs GE calls this first, so the
    import overlaps the asset's own (GIL-releasing) DuckDB work instead of following it.
    """
    threading.Thread(
        target=importlib.import_module, args=("great_expectations",), daemon=True
    ).start()


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict with the numbers behind it."""

    expectation: str
    column: str
    success: bool
    unexpected_count: int
    unexpected_percent: float
    unexpected_examples: list[Any]
    observed_value: Any
    # Rows breaking the rule among all rows (counted in the engine) when GE saw a sample.
    unexpected_in_all_rows: int | None = None


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    rows: int
    outcomes: list[ExpectationOutcome]
    # All rows the exact counts covered, when GE validated a sample of them.
    rows_counted_exactly: int | None = None

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]


def _expectation_label(config: dict[str, Any]) -> str:
    kwargs = config.get("kwargs", {})
    column = kwargs.get("column") or kwargs.get("column_list") or ""
    return ", ".join(column) if isinstance(column, list) else str(column)


def validate_frame(
    frame: pd.DataFrame,
    suite_name: str,
    build_expectations: Callable[[], Sequence[Expectation]],
) -> SuiteOutcome:
    """Validate `frame` against the expectations that `build_expectations` returns."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas(name=f"{suite_name}_source")
        .add_dataframe_asset(name=f"{suite_name}_frame")
        .add_batch_definition_whole_dataframe(f"{suite_name}_batch")
    )
    # Given whole to the suite: adding them one by one re-saves the suite and compares each
    # new expectation with every earlier one (quadratic, seconds for a 50-column suite).
    suite = context.suites.add(
        gx.ExpectationSuite(name=suite_name, expectations=list(build_expectations()))
    )
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite_name}_validation", data=batch_definition, suite=suite)
    )
    # GE 1.x does not recognise pandas 3's default "str" dtype; the nullable "string" dtype it
    # knows keeps type checks per column instead of per value.
    text_columns = {column: "string" for column in frame.columns if frame[column].dtype == "str"}
    result = validation.run(
        batch_parameters={"dataframe": frame.astype(text_columns)},
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": UNEXPECTED_EXAMPLES,
        },
    )
    outcomes = []
    for item in result.results:
        details = item.result or {}
        config = item.expectation_config.to_json_dict()
        outcomes.append(
            ExpectationOutcome(
                expectation=config["type"],
                column=_expectation_label(config),
                success=bool(item.success),
                unexpected_count=int(details.get("unexpected_count") or 0),
                unexpected_percent=round(float(details.get("unexpected_percent") or 0.0), 4),
                unexpected_examples=list(details.get("partial_unexpected_list") or [])[
                    :UNEXPECTED_EXAMPLES
                ],
                observed_value=details.get("observed_value"),
            )
        )
    return SuiteOutcome(suite=suite_name, rows=len(frame), outcomes=outcomes)


def with_exact_counts(
    outcome: SuiteOutcome, rows: int, exact: dict[tuple[str, str], int]
) -> SuiteOutcome:
    """GE's verdicts on a sample, each also required to hold on all `rows` per `exact` counts."""
    outcomes = []
    for item in outcome.outcomes:
        count = exact.get((item.expectation, item.column))
        outcomes.append(
            replace(
                item,
                success=item.success and not count,
                unexpected_in_all_rows=count,
            )
        )
    return replace(outcome, outcomes=outcomes, rows_counted_exactly=rows)

"""The `segment_separation` check: are the segments natural groups, or a partition of one blob?

K-Means always returns K segments, even when customers form a single cloud. The model's fit
measures, at the chosen K, how much more the segments reduce the spread of customers than the
same K would on a structureless reference (see `lib/model/k_selection.py`, "separation"): the gap
statistic against a uniform reference aligned with the data's principal axes. The figures are
stored in the model card at fit time, so this check costs nothing and holds for kept models.
Passes when the separation is clear; otherwise warns, and the report and the CLI summary say:
"segments are weakly separated: treat them as a partition, not as natural groups".
"""

import dagster as dg

from segmentation_pipeline.defs.model.assets import segmentation_model
from segmentation_pipeline.defs.resources import ModelStore
from segmentation_pipeline.lib.model.separation import separation_sentence


# Blocking like every check of the project (it orders the check before the segments); as a WARN
# it never stops the run.
@dg.asset_check(
    asset=segmentation_model,
    blocking=True,
    description="WARN when the segments separate customers no better than a structureless "
    "reference would (gap statistic at the chosen K).",
)
def segment_separation(model_store: ModelStore) -> dg.AssetCheckResult:
    """Separation of the current model's segments, from the figures in its model card."""
    card = model_store.load_card()
    separation = card["separation"]
    return dg.AssetCheckResult(
        passed=not separation["weak"],
        severity=dg.AssetCheckSeverity.WARN,
        description=separation_sentence(separation),
        metadata={"model_version": card["version"], "k": card["k"], **separation},
    )

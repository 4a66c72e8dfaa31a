"""The `segment_stability` check: are the current model's segments reproducible, or noise?

Subsample refits (see `lib/model/stability.py`) give the adjusted Rand index overall and each
segment's Jaccard similarity. The check passes when the mean Jaccard over segments is stable
in Hennig's bands (`lib/model/stability.py`: unstable, doubtful, stable, highly stable); otherwise
it warns.

The figures belong to a model version AND the data it was measured on: a kept model scores new
data every night, and its segments may hold on the data it was fitted on and dissolve on today's.
So they are keyed by (model version, data key) and kept as
`models/<version>/stability-<first day>-<last day>-<content hash>.json`: recomputed (about 1.3 s
on the default sample) the first time a version meets a data window, reused when the same
version checks the same data again (a retry, a re-run).
"""

import time

import dagster as dg

from segmentation_pipeline.defs.metadata import markdown_table, plot_metadata
from segmentation_pipeline.defs.model.assets import segmentation_model
from segmentation_pipeline.defs.resources import ModelStore, Warehouse
from segmentation_pipeline.lib.model.sampling import read_fit_sample_of
from segmentation_pipeline.lib.model.spec import STABILITY_SUBSAMPLES
from segmentation_pipeline.lib.model.stability import (
    JACCARD_BAND_FLOORS,
    STABLE_MEAN_JACCARD,
    Stability,
    jaccard_band,
)
from segmentation_pipeline.lib.model.stability_key import stability_data_key, stability_file
from segmentation_pipeline.lib.plots import stability_plot
from segmentation_pipeline.settings import WAREHOUSE_POOL


# Blocking orders it before `customer_segments` and the report that shows its figures; as a
# WARN it never stops the run: unstable segments are published, flagged.
@dg.asset_check(
    asset=segmentation_model,
    blocking=True,
    pool=WAREHOUSE_POOL,
    description=f"WARN unless the mean Jaccard over {STABILITY_SUBSAMPLES} subsample refits on "
    f"today's data is >= {STABLE_MEAN_JACCARD} (clusterboot).",
)
def segment_stability(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse, model_store: ModelStore
) -> dg.AssetCheckResult:
    """Subsample stability of the current model on today's data: ARI and Jaccard per segment."""
    # scikit-learn is imported here, not at module load, to keep the code location quick to load.
    from segmentation_pipeline.lib.model.stability import subsample_stability

    started = time.perf_counter()
    model, card = model_store.load()
    with warehouse.connect() as con:
        data_key = stability_data_key(con)
    stored = model_store.load_json(card["version"], stability_file(data_key))
    if stored is None:
        # The model's sweep customers (a nested sample of its fit): bounded time at any scale.
        features = read_fit_sample_of(warehouse, card).sweep_features
        stability = subsample_stability(features, model, card["config"]["random_state"])
        model_store.save_json(card["version"], stability_file(data_key), stability.to_json())
    else:
        stability = Stability.from_json(stored)
        context.log.info(f"Stability of model {card['version']} on data {data_key} reused")
    per_segment = stability.per_segment().assign(
        segment_name=lambda frame: frame["segment_id"].astype(str).map(card["segment_names"])
    )
    band = jaccard_band(stability.mean_jaccard)
    weak = per_segment.loc[per_segment["mean_jaccard"] < STABLE_MEAN_JACCARD, "segment_id"]
    window = card["data_window"]
    return dg.AssetCheckResult(
        passed=stability.stable,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"mean Jaccard {stability.mean_jaccard:.3f} ({band}; passes from "
            f"{STABLE_MEAN_JACCARD}), mean ARI {sum(stability.ari) / len(stability.ari):.3f} "
            f"over {stability.subsamples} refits on {stability.fraction:.0%} of customers "
            f"(data {data_key})"
        ),
        metadata={
            "model_version": card["version"],
            "data_key": data_key,
            "model_data_window": f"{window['first_day']}..{window['last_day']}",
            "mean_jaccard": stability.mean_jaccard,
            "band": band,
            "mean_ari": sum(stability.ari) / len(stability.ari),
            "min_ari": min(stability.ari),
            "segments_below_stable": [int(segment) for segment in weak],
            "per_segment": markdown_table(per_segment, max_rows=len(per_segment)),
            "stability_plot": plot_metadata(
                stability_plot(per_segment, stability.ari, JACCARD_BAND_FLOORS)
            ),
            "subsamples": stability.subsamples,
            "subsample_fraction": stability.fraction,
            "kmeans_restarts": stability.restarts,
            "customers": stability.customers,
            "computed_this_run": stored is None,
            "refit_seconds": stability.seconds,
            "seconds": round(time.perf_counter() - started, 3),
        },
    )

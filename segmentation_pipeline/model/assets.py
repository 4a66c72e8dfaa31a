"""The `segmentation_model` asset: K choice, fit, version, model card."""

import hashlib
import time
from importlib import metadata as package_metadata

import dagster as dg
import pandas as pd

from segmentation_pipeline.features.assets import customer_features
from segmentation_pipeline.metadata import markdown_table
from segmentation_pipeline.model.spec import MODEL_FEATURES
from segmentation_pipeline.reporting.plots import k_selection_plot
from segmentation_pipeline.resources import ModelStore, Warehouse
from segmentation_pipeline.segments.profiling import name_segments, profile_segments
from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    K_MAX,
    K_MIN,
    MIN_SEGMENT_SHARE,
    RANDOM_STATE,
    SILHOUETTE_SAMPLE_SIZE,
    WAREHOUSE_POOL,
)

LIBRARIES = ("scikit-learn", "pandas", "numpy", "duckdb", "dagster")


class SegmentationModelConfig(dg.Config):
    """K range and seed; set `k` to pin the number of segments instead of choosing it."""

    k: int | None = None
    k_min: int = K_MIN
    k_max: int = K_MAX
    random_state: int = RANDOM_STATE
    silhouette_sample_size: int = SILHOUETTE_SAMPLE_SIZE
    min_segment_share: float = MIN_SEGMENT_SHARE


def features_fingerprint(features: pd.DataFrame, config: SegmentationModelConfig) -> str:
    """Content hash of the training data and settings: equal inputs give an equal version."""
    digest = hashlib.sha256()
    ordered = features.sort_values("user_id", kind="stable").reset_index(drop=True)
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    digest.update(config.model_dump_json().encode())
    return digest.hexdigest()


@dg.asset(
    deps=[customer_features],
    group_name="model",
    kinds={"scikitlearn", "python"},
    owners=["team:data-science"],
    pool=WAREHOUSE_POOL,
    tags={"layer": "model"},
)
def segmentation_model(
    context: dg.AssetExecutionContext,
    config: SegmentationModelConfig,
    warehouse: Warehouse,
    model_store: ModelStore,
) -> dg.MaterializeResult:
    """K-Means segmentation model (encoding + scaling + KMeans), persisted with a model card.

    K is chosen over `k_min..k_max`: among K whose smallest segment is actionable, the elbow
    region of the inertia curve says how many segments the data supports, and within it the
    best mean of Calinski-Harabasz, Davies-Bouldin and sampled silhouette wins; see
    `model/k_selection.py` and the per-K table below. Pin it with config `k`. Same data and
    config give the same model and version. Written to `models/<version>/` with `model_card.json`.
    """
    # scikit-learn is imported here, not at module load, to keep the code location quick to load.
    from segmentation_pipeline.model.k_selection import chosen_k, sweep_k
    from segmentation_pipeline.model.training import fit_model

    started = time.perf_counter()
    features = warehouse.read_df(f"SELECT * FROM {CUSTOMER_FEATURES_TABLE}")
    k_values = range(config.k_min, config.k_max + 1)
    k_table = sweep_k(
        features,
        k_values,
        random_state=config.random_state,
        silhouette_sample=config.silhouette_sample_size,
        min_segment_share=config.min_segment_share,
    )
    k = config.k or chosen_k(k_table)
    swept = time.perf_counter()
    model = fit_model(features, k, config.random_state)
    segment_ids, _ = model.assign(features)
    members = features.assign(segment_id=segment_ids)
    names = name_segments(members, profile_segments(members))
    sizes = pd.Series(segment_ids).value_counts().sort_index()

    first_day = pd.Timestamp(features["first_purchase_date"].min()).date().isoformat()
    last_day = pd.Timestamp(features["last_purchase_date"].max()).date().isoformat()
    version = f"{last_day.replace('-', '')}-{features_fingerprint(features, config)[:10]}"
    card = {
        "version": version,
        "k": k,
        "k_chosen_by": "config" if config.k else "elbow region of inertia, then CH, DB, silhouette",
        "k_table": k_table.round(6).to_dict(orient="records"),
        "features": list(MODEL_FEATURES),
        "rows": len(features),
        "data_window": {"first_day": first_day, "last_day": last_day},
        "segment_sizes": {str(segment): int(count) for segment, count in sizes.items()},
        "segment_names": {str(segment): name for segment, name in names.items()},
        "config": config.model_dump(),
        "libraries": {name: package_metadata.version(name) for name in LIBRARIES},
    }
    folder = model_store.save(version, model, card)
    context.log.info(f"Model {version} with K={k} saved to {folder}")
    shown = k_table[
        [
            "k",
            "inertia",
            "calinski_harabasz",
            "davies_bouldin",
            "silhouette",
            "knee",
            "smallest_segment_share",
            "eligible",
            "elbow_region",
            "separation_score",
            "chosen",
        ]
    ]
    return dg.MaterializeResult(
        metadata={
            "model_version": version,
            "k": k,
            "k_selection": markdown_table(shown, max_rows=len(shown)),
            "k_selection_plot": dg.MetadataValue.md(k_selection_plot(k_table)),
            "customers": len(features),
            "segment_sizes": card["segment_sizes"],
            "segment_names": card["segment_names"],
            "model_path": dg.MetadataValue.path(str(folder)),
            "data_window": f"{first_day}..{last_day}",
            "k_sweep_seconds": round(swept - started, 3),
            "seconds": round(time.perf_counter() - started, 3),
        },
        data_version=dg.DataVersion(version),
    )

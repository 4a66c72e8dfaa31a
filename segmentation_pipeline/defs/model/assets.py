"""The `segmentation_model` asset: refit or keep, K choice, fit, identity, version, model card."""

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from importlib import metadata as package_metadata
from typing import Any, Literal

import dagster as dg
import pandas as pd

from segmentation_pipeline.defs.features.assets import customer_features
from segmentation_pipeline.defs.metadata import markdown_table, plot_metadata
from segmentation_pipeline.defs.resources import ModelStore, ModelStoreError, Warehouse
from segmentation_pipeline.lib.model.profiling import name_segments, profile_segments
from segmentation_pipeline.lib.model.sampling import (
    FIT_SAMPLE_MAX_CUSTOMERS,
    FitSample,
    read_fit_sample,
)
from segmentation_pipeline.lib.model.spec import MODEL_SPEC
from segmentation_pipeline.lib.plots import Plot, k_selection_plot
from segmentation_pipeline.settings import (
    CUSTOMER_FEATURES_TABLE,
    K_MAX,
    K_MIN,
    MIN_SEGMENT_SHARE,
    RANDOM_STATE,
    SILHOUETTE_SAMPLE_SIZE,
    WAREHOUSE_POOL,
)

LIBRARIES = ("scikit-learn", "pandas", "numpy", "scipy", "duckdb", "dagster")
# How often "auto" refits: a model whose data ends this many days before today's is refitted.
REFIT_EVERY_DAYS = 7
# Settings that change the fit; the refit cadence is not one of them.
CADENCE_SETTINGS = ("refit", "refit_every_days")
K_TABLE_SHOWN = [
    "k",
    "inertia",
    "calinski_harabasz",
    "davies_bouldin",
    "silhouette",
    "reference_silhouette",
    "silhouette_gain",
    "gap",
    "gap_sd",
    "gap_step",
    "smallest_segment_share",
    "beats_reference",
    "adds_structure",
    "eligible",
    "silhouette_tie",
    "prediction_strength",
    "raised",
    "chosen",
]


class SegmentationModelConfig(dg.Config):
    """K range and seed (set `k` to pin the number of segments), and when to refit.

    `refit`: "auto" keeps the current model while it was fitted with the same features and
    settings on data ending less than `refit_every_days` before today's, and refits otherwise;
    "always" refits now (on demand); "never" keeps the current model whatever its age. With no
    model yet, "auto" and "always" fit one and "never" fails.
    """

    k: int | None = None
    k_min: int = K_MIN
    k_max: int = K_MAX
    random_state: int = RANDOM_STATE
    silhouette_sample_size: int = SILHOUETTE_SAMPLE_SIZE
    min_segment_share: float = MIN_SEGMENT_SHARE
    refit: Literal["auto", "always", "never"] = "auto"
    refit_every_days: int = REFIT_EVERY_DAYS
    max_fit_customers: int = FIT_SAMPLE_MAX_CUSTOMERS

    def fit_settings(self) -> dict[str, Any]:
        return self.model_dump(exclude=set(CADENCE_SETTINGS))


@dataclass(frozen=True)
class RefitDecision:
    refit: bool
    reason: str


def decide_refit(
    config: SegmentationModelConfig, card: dict[str, Any] | None, last_day: date
) -> RefitDecision:
    """Refit or keep the current model (described by `card`), given today's last data day."""
    if card is None:
        if config.refit == "never":
            raise dg.Failure(
                description="refit='never' but no model exists yet: run once with refit 'auto'."
            )
        return RefitDecision(True, "no model yet")
    if config.refit != "auto":
        return RefitDecision(config.refit == "always", f"refit={config.refit!r}")
    spec_changed = sorted(key for key, value in MODEL_SPEC.items() if card.get(key) != value)
    if spec_changed:
        return RefitDecision(True, f"the model spec changed: {', '.join(spec_changed)}")
    changed = sorted(
        name for name, value in config.fit_settings().items() if card["config"].get(name) != value
    )
    if changed:
        return RefitDecision(True, f"settings changed: {', '.join(changed)}")
    age = (last_day - date.fromisoformat(card["data_window"]["last_day"])).days
    return RefitDecision(
        age >= config.refit_every_days,
        f"today's data ends {age} days after the model's (refit every "
        f"{config.refit_every_days} days)",
    )


def features_fingerprint(features: pd.DataFrame, config: SegmentationModelConfig) -> str:
    """Content hash of the training data, the model spec and the fit settings: equal inputs give
    an equal version."""
    digest = hashlib.sha256()
    ordered = features.sort_values("user_id", kind="stable").reset_index(drop=True)
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    digest.update(json.dumps([MODEL_SPEC, config.fit_settings()], sort_keys=True).encode())
    return digest.hexdigest()


# The K-selection plot of a version, drawn once beside its card: a kept model shows it nightly.
K_SELECTION_PLOT_FILE = "k_selection_plot"


def k_selection_plot_of(model_store: ModelStore, card: dict[str, Any]) -> Plot:
    """The version's K-selection plot: the one stored beside its card, else drawn and stored."""
    stored = model_store.load_json(card["version"], K_SELECTION_PLOT_FILE)
    if stored is not None:
        return Plot(**stored)
    plot = k_selection_plot(pd.DataFrame(card["k_table"]))
    model_store.save_json(card["version"], K_SELECTION_PLOT_FILE, asdict(plot))
    return plot


def _model_result(
    model_store: ModelStore,
    card: dict[str, Any],
    sample: FitSample,
    reason: str,
    refit: bool,
    seconds: dict[str, float],
) -> dg.MaterializeResult:
    """What every materialisation shows about the model in use, refitted or kept."""
    k_table = pd.DataFrame(card["k_table"])
    window = card["data_window"]
    return dg.MaterializeResult(
        metadata={
            "model_version": card["version"],
            "k": card["k"],
            "k_selection": markdown_table(
                k_table.reindex(columns=K_TABLE_SHOWN), max_rows=len(k_table)
            ),
            "separation": card.get("separation"),
            "k_selection_plot": plot_metadata(k_selection_plot_of(model_store, card)),
            "segment_sizes": card["segment_sizes"],
            "segment_names": card["segment_names"],
            "lineage": card.get("lineage"),
            "model_path": dg.MetadataValue.path(str(model_store.version_dir(card["version"]))),
            "model_data_window": f"{window['first_day']}..{window['last_day']}",
            "refit": refit,
            "refit_reason": reason,
            "data_window": f"{sample.first_day}..{sample.last_day}",
            "customers": sample.customers,
            **{name: round(value, 3) for name, value in seconds.items()},
        },
        data_version=dg.DataVersion(card["version"]),
    )


def _kept_card(
    model_store: ModelStore, decision: RefitDecision, current: str | None, version: str
) -> tuple[dict[str, Any], str]:
    """The card of the model kept (the current one, or the existing fit of this very data) and
    why it is kept; that version becomes current."""
    # Versions are never overwritten: a fit of the same data and settings would be this one.
    kept = version if decision.refit else current
    reason = decision.reason
    if decision.refit:
        reason += f", but version {kept} already holds a fit of this data and these settings"
    if kept != current:
        model_store.restore(kept)
    return model_store.load_card(kept), reason


def _choose_k(config: SegmentationModelConfig, sample: FitSample) -> tuple[pd.DataFrame, int]:
    """The per-K evidence on the sweep customers, and the K it (or the config) chooses."""
    from segmentation_pipeline.lib.model.k_selection import chosen_k, sweep_k

    k_table = sweep_k(
        sample.sweep_features,
        range(config.k_min, config.k_max + 1),
        random_state=config.random_state,
        silhouette_sample=config.silhouette_sample_size,
        min_segment_share=config.min_segment_share,
    )
    return k_table, chosen_k(k_table, pinned=config.k)


@dataclass(frozen=True)
class NewFit:
    """A refit before it is saved: the model, the per-K evidence, the segments' lineage, names
    and sizes on the fitted customers."""

    model: Any
    k_table: pd.DataFrame
    alignment: Any
    names: dict[int, str]
    sizes: pd.Series
    k_sweep_seconds: float


def _fit_card(
    config: SegmentationModelConfig,
    sample: FitSample,
    fit: NewFit,
    decision: RefitDecision,
    version: str,
) -> dict[str, Any]:
    """The model card of a new fit: what it was fitted on, how K was chosen, its segments."""
    from segmentation_pipeline.lib.model.k_selection import K_RULE, separation
    from segmentation_pipeline.lib.model.training import used_features

    preprocess = fit.model.pipeline["preprocess"]
    return {
        "version": version,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "refit_reason": decision.reason,
        "k": fit.model.k,
        "k_chosen_by": "config" if config.k else K_RULE,
        "k_table": fit.k_table.round(6).to_dict(orient="records"),
        "separation": separation(fit.k_table, fit.model.k),
        # The columns the model uses: every candidate that varies in the training data.
        "features": used_features(preprocess),
        "feature_weights": preprocess.transformer_weights,
        # With structure weighting: each family's own gap gain and its variance multiplier.
        "family_structure": getattr(preprocess, "family_structure", None),
        **MODEL_SPEC,
        "rows": len(sample.features),
        "fit_sample": sample.card(),
        "data_window": {
            "first_day": sample.first_day.isoformat(),
            "last_day": sample.last_day.isoformat(),
        },
        "segment_sizes": {str(segment): int(count) for segment, count in fit.sizes.items()},
        "segment_names": {str(segment): name for segment, name in fit.names.items()},
        "lineage": fit.alignment.card(),
        "next_segment_id": fit.alignment.next_segment_id,
        "config": config.model_dump(),
        "libraries": {name: package_metadata.version(name) for name in LIBRARIES},
    }


def _fit(
    config: SegmentationModelConfig,
    sample: FitSample,
    model_store: ModelStore,
    previous_card: dict[str, Any] | None,
) -> NewFit:
    """Choose K, fit, and carry segment ids and names over from the previous model."""
    # scikit-learn is imported here, not at module load, to keep the code location quick to load.
    from segmentation_pipeline.lib.model.alignment import (
        align_to_previous,
        carry_over_names,
        first_alignment,
    )
    from segmentation_pipeline.lib.model.training import fit_model

    started = time.perf_counter()
    k_table, k = _choose_k(config, sample)
    k_sweep_seconds = time.perf_counter() - started
    features = sample.features
    model = fit_model(features, k, config.random_state)
    if previous_card is None:
        alignment = first_alignment(model)
    else:
        previous_model, _ = model_store.load(previous_card["version"])
        model, alignment = align_to_previous(model, features, previous_model, previous_card)
    members = features.assign(segment_id=model.assign(features)[0])
    names = carry_over_names(
        name_segments(members, profile_segments(members)),
        previous_card["segment_names"] if previous_card else {},
        alignment,
    )
    sizes = members["segment_id"].value_counts().sort_index()
    return NewFit(model, k_table, alignment, names, sizes, k_sweep_seconds)


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
    """K-Means segmentation model (encoding + scaling + KMeans), versioned with a model card.

    Refit cadence (config `refit`, default "auto"): the current model is kept while its data
    ends less than `refit_every_days` (7) before today's and its features and settings are
    unchanged; `customer_segments` then scores everyone with it. "always" refits on demand.

    On a refit, the features are chosen from the data (every category share, pulled toward the
    average customer's by a prior of a few transactions, behaviour and demographic that varies,
    each family weighted equally; see `lib/model/training.py`) and K is
    chosen over `k_min..k_max`: among K whose smallest segment is actionable and whose gap gain
    beats a structureless reference and the previous K's, the highest silhouette gain over the
    references wins (near ties: the largest K), and the gap statistic says whether the segments
    are natural groups (check `segment_separation`); see `lib/model/k_selection.py` and the
    per-K table below. Pin it with config `k`. Segment ids carry
    over from the previous model (Hungarian matching of centroids, `lib/model/alignment.py`); the
    first model numbers them by average spend (0 = highest). Same data and settings give the
    same version; every version is kept in `models/<version>/` with `model_card.json`.
    """
    started = time.perf_counter()
    sample = read_fit_sample(warehouse, config.max_fit_customers, config.random_state)
    if not sample.customers:  # every landed day empty, or every row rejected
        raise dg.Failure(
            f"No customers to segment: {CUSTOMER_FEATURES_TABLE} is empty because no valid "
            "transaction was loaded (see raw.landing_loads and raw.rejected_transactions); "
            "land days with transactions",
            allow_retries=False,
        )
    try:
        current = model_store.current_version_or_none()
        previous_card = model_store.load_card(current) if current else None
    except ModelStoreError as error:  # a damaged store: retrying cannot repair it
        raise dg.Failure(str(error), allow_retries=False) from error
    decision = decide_refit(config, previous_card, sample.last_day)
    version = f"{sample.last_day:%Y%m%d}-{features_fingerprint(sample.features, config)[:10]}"
    if not decision.refit or model_store.has_version(version):
        card, reason = _kept_card(model_store, decision, current, version)
        context.log.info(f"Model {card['version']} kept: {reason}")
        seconds = {"seconds": time.perf_counter() - started}
        return _model_result(model_store, card, sample, reason, refit=False, seconds=seconds)
    fit = _fit(config, sample, model_store, previous_card)
    card = _fit_card(config, sample, fit, decision, version)
    folder = model_store.save(version, fit.model, card)
    context.log.info(f"Model {version} with K={card['k']} saved to {folder} ({decision.reason})")
    seconds = {"k_sweep_seconds": fit.k_sweep_seconds, "seconds": time.perf_counter() - started}
    return _model_result(model_store, card, sample, decision.reason, refit=True, seconds=seconds)

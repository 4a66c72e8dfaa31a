"""Fit the segmentation model: a scikit-learn Pipeline of encoding, scaling and K-Means.

The preprocessing is chosen from the data at fit time (`feature_blocks`): a column that does not
vary (a category nobody buys, a single city, a single day) is dropped, and each family's weight
makes its total variance equal to its FAMILY_WEIGHTS entry, whatever its number of columns:
- basket: spend shares pulled toward the average customer's (`basket_cat_*`, see
  `lib/features/sql.py`), centred, not standardised (a rare category's noise would otherwise
  weigh as much as the main categories' signal), weight sqrt(w / total variance of the shares);
- behaviour: log1p where heavy-tailed, standardised, weight sqrt(w / columns); active days and
  recency are centred and scaled by the length of the data window instead (see
  `build_preprocessor`);
- demographics: one-hot indicators, weight sqrt(w / attributes) (an attribute's indicators
  carry at most a variance of 1).
Every step is per column (elementwise transform, affine scaling, constant block weight), so the
fitted pipeline can be rewritten as SQL over `marts.customer_features`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from segmentation_pipeline.lib.model.family_weights import (
    FAMILY_BLOCKS,
    family_structure,
    structure_multipliers,
)
from segmentation_pipeline.lib.model.spec import (
    BASKET_FEATURES,
    DEMOGRAPHIC_FEATURES,
    FAMILY_WEIGHTING,
    FAMILY_WEIGHTS,
    KMEANS_RESTARTS,
    LINEAR_BEHAVIOUR_FEATURES,
    LOG_BEHAVIOUR_FEATURES,
    MODEL_FEATURES,
)
from segmentation_pipeline.settings import get_settings

# Every fit (model, K sweep, stability refits) imports this module first: bound the threads
# of OpenMP (K-Means) and BLAS (distances) alike, both spin while they wait.
threadpool_limits(limits=get_settings().model_threads)


def _varying(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    return [column for column in columns if frame[column].nunique(dropna=False) > 1]


def _window_days(features: pd.DataFrame) -> int:
    first = pd.Timestamp(features["first_purchase_date"].min())
    last = pd.Timestamp(features["last_purchase_date"].max())
    return (last - first).days + 1


def build_preprocessor(
    features: pd.DataFrame, weighting: str = FAMILY_WEIGHTING
) -> ColumnTransformer:
    """Encoding, scaling and family weights for these customers (see the module docstring).

    With `weighting` "structure", each family's variance is then multiplied by its share of the
    cluster structure the families carry on their own (`lib/model/family_weights.py`); the
    structure and multipliers are kept on the preprocessor as `family_structure` (model card).
    """
    inputs = model_inputs(features)
    basket = _varying(inputs, BASKET_FEATURES)
    log_behaviour = _varying(inputs, LOG_BEHAVIOUR_FEATURES)
    linear_behaviour = _varying(inputs, LINEAR_BEHAVIOUR_FEATURES)
    demographics = _varying(inputs, DEMOGRAPHIC_FEATURES)
    behaviour_columns = len(log_behaviour) + len(linear_behaviour)
    blocks: list[tuple[str, object, list[str], float]] = []
    if basket:
        variance = float(inputs[basket].var(ddof=0).sum())
        weight = np.sqrt(FAMILY_WEIGHTS["basket"] / variance)
        blocks.append(("basket", StandardScaler(with_std=False), basket, weight))
    behaviour_weight = np.sqrt(FAMILY_WEIGHTS["behaviour"] / max(behaviour_columns, 1))
    if log_behaviour:
        log_scaler = make_pipeline(FunctionTransformer(np.log1p), StandardScaler())
        blocks.append(("behaviour_log", log_scaler, log_behaviour, behaviour_weight))
    if linear_behaviour:
        # Days in the window (active days, recency) are centred and scaled by the window, not
        # by their spread: over a short window nearly everyone bought on most days and on the
        # last one, and standardising would blow a step of a day or two up into a gap along
        # which K-Means splits an archetype (half of the overcounts on planted data,
        # `benchmarks/k_rule_study.py`). sqrt(12) / window days gives a standard deviation of 1
        # to days spread evenly over the window.
        scale = np.sqrt(12) / _window_days(features)
        in_window = StandardScaler(with_std=False)
        blocks.append(("behaviour_days", in_window, linear_behaviour, behaviour_weight * scale))
    if demographics:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        weight = np.sqrt(FAMILY_WEIGHTS["demographics"] / len(demographics))
        blocks.append(("demographics", encoder, demographics, weight))
    if not blocks:
        # Nothing varies (one customer, or identical customers): one column of zeros.
        blocks.append(("behaviour", StandardScaler(), [LOG_BEHAVIOUR_FEATURES[0]], 1.0))
    preprocessor = ColumnTransformer(
        [(name, transformer, columns) for name, transformer, columns, _ in blocks],
        transformer_weights={name: float(weight) for name, _, _, weight in blocks},
    )
    if weighting == "structure":
        weigh_by_structure(preprocessor, inputs)
    return preprocessor


def weigh_by_structure(preprocessor: ColumnTransformer, inputs: pd.DataFrame) -> None:
    """Scale each family's block weights by sqrt(its structure multiplier), in place."""
    fitted = clone(preprocessor)
    structure = family_structure(fitted, fitted.fit_transform(inputs))
    if len(structure) < 2:
        return
    multipliers = structure_multipliers(structure)
    family_of = {block: family for family, blocks in FAMILY_BLOCKS.items() for block in blocks}
    preprocessor.set_params(
        transformer_weights={
            name: weight * float(np.sqrt(multipliers[family_of[name]]))
            for name, weight in preprocessor.transformer_weights.items()
        }
    )
    preprocessor.family_structure = {
        "gap_gain": structure,
        "variance_multiplier": {family: round(m, 4) for family, m in multipliers.items()},
    }


def used_features(preprocessor: ColumnTransformer) -> list[str]:
    """The columns a (fitted or not) preprocessor reads, in block order."""
    return [column for _, _, columns in preprocessor.transformers for column in columns]


def model_inputs(features: pd.DataFrame, columns: Sequence[str] = MODEL_FEATURES) -> pd.DataFrame:
    """The model's input columns (the candidates, unless given), typed for the encoders
    (categories as text)."""
    frame = features.loc[:, list(columns)].copy()
    for column in frame.columns.intersection(DEMOGRAPHIC_FEATURES):
        frame[column] = frame[column].astype(str)
    return frame


def kmeans(k: int, random_state: int, restarts: int = KMEANS_RESTARTS) -> KMeans:
    return KMeans(n_clusters=k, n_init=restarts, random_state=random_state)


def build_pipeline(
    features: pd.DataFrame, k: int, random_state: int, restarts: int = KMEANS_RESTARTS
) -> Pipeline:
    """Encoding and scaling chosen from `features`, then K-Means."""
    return Pipeline(
        [
            ("preprocess", build_preprocessor(features)),
            ("kmeans", kmeans(k, random_state, restarts)),
        ]
    )


def refit_pipeline(model: SegmentationModel, random_state: int, restarts: int) -> Pipeline:
    """An unfitted copy of the model's pipeline (same columns and weights), another seed."""
    pipeline = clone(model.pipeline)
    pipeline.set_params(kmeans__random_state=random_state, kmeans__n_init=restarts)
    return pipeline


@dataclass
class SegmentationModel:
    """A fitted pipeline plus the mapping from K-Means labels to segment ids.

    For a first model the ids are ordered by value (0 spends most); a refit carries the previous
    model's ids over to the segments it matches (see `lib/model/alignment.py`).
    """

    pipeline: Pipeline
    segment_of_label: dict[int, int]

    @property
    def k(self) -> int:
        return len(self.segment_of_label)

    def inputs(self, features: pd.DataFrame) -> pd.DataFrame:
        """The columns this model was fitted on: a model kept from a release with other
        candidate columns (then refitted, or pinned with refit 'never') still reads its own."""
        return model_inputs(features, self.pipeline.feature_names_in_)

    def assign(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Segment id and distance to that segment's centroid for each customer."""
        distances = self.pipeline.transform(self.inputs(features))
        labels = distances.argmin(axis=1)
        segment_ids = np.array([self.segment_of_label[int(label)] for label in labels])
        return segment_ids, distances[np.arange(len(labels)), labels]


def fit_model(features: pd.DataFrame, k: int, random_state: int) -> SegmentationModel:
    """Fit the pipeline with K segments; segment 0 is the one whose customers spend most."""
    # Stable row order: the same customers in another order give the same model.
    ordered = features.sort_values("user_id", kind="stable").reset_index(drop=True)
    pipeline = build_pipeline(ordered, k, random_state)
    labels = pipeline.fit_predict(model_inputs(ordered))
    mean_spend = pd.Series(ordered["total_spend"].to_numpy(dtype=float)).groupby(labels).mean()
    ranking = mean_spend.sort_values(ascending=False, kind="stable").index
    return SegmentationModel(
        pipeline=pipeline,
        segment_of_label={int(label): rank for rank, label in enumerate(ranking)},
    )

"""Fit the segmentation model: a scikit-learn Pipeline of encoding, scaling and K-Means."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from segmentation_pipeline.model.spec import (
    DEMOGRAPHIC_FEATURES,
    DEMOGRAPHIC_WEIGHT,
    KMEANS_RESTARTS,
    LINEAR_FEATURES,
    LOG_FEATURES,
    MODEL_FEATURES,
)
from segmentation_pipeline.settings import get_settings

# Every fit (model, K sweep, stability refits) imports this module first: bound the threads
# of OpenMP (K-Means) and BLAS (distances) alike, both spin while they wait.
threadpool_limits(limits=get_settings().model_threads)


def build_preprocessor() -> ColumnTransformer:
    """Encoding and scaling shared by the K sweep and the final model."""
    return ColumnTransformer(
        [
            (
                "behaviour_log",
                make_pipeline(FunctionTransformer(np.log1p), StandardScaler()),
                list(LOG_FEATURES),
            ),
            ("behaviour", StandardScaler(), list(LINEAR_FEATURES)),
            (
                "demographics",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(DEMOGRAPHIC_FEATURES),
            ),
        ],
        transformer_weights={
            "behaviour_log": 1.0,
            "behaviour": 1.0,
            "demographics": DEMOGRAPHIC_WEIGHT,
        },
    )


def model_inputs(features: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns, typed for the encoders (categories as text)."""
    frame = features.loc[:, list(MODEL_FEATURES)].copy()
    for column in DEMOGRAPHIC_FEATURES:
        frame[column] = frame[column].astype(str)
    return frame


def kmeans(k: int, random_state: int, restarts: int = KMEANS_RESTARTS) -> KMeans:
    return KMeans(n_clusters=k, n_init=restarts, random_state=random_state)


def build_pipeline(k: int, random_state: int, restarts: int = KMEANS_RESTARTS) -> Pipeline:
    """Encoding and scaling, then K-Means: what the model and the stability refits fit."""
    return Pipeline(
        [("preprocess", build_preprocessor()), ("kmeans", kmeans(k, random_state, restarts))]
    )


@dataclass
class SegmentationModel:
    """A fitted pipeline plus the mapping from K-Means labels to segment ids.

    For a first model the ids are ordered by value (0 spends most); a refit carries the previous
    model's ids over to the segments it matches (see `model/alignment.py`).
    """

    pipeline: Pipeline
    segment_of_label: dict[int, int]

    @property
    def k(self) -> int:
        return len(self.segment_of_label)

    def assign(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Segment id and distance to that segment's centroid for each customer."""
        inputs = model_inputs(features)
        distances = self.pipeline.transform(inputs)
        labels = distances.argmin(axis=1)
        segment_ids = np.array([self.segment_of_label[int(label)] for label in labels])
        return segment_ids, distances[np.arange(len(labels)), labels]


def fit_model(features: pd.DataFrame, k: int, random_state: int) -> SegmentationModel:
    """Fit the pipeline with K segments; segment 0 is the one whose customers spend most."""
    pipeline = build_pipeline(k, random_state)
    # Stable row order: the same customers in another order give the same model.
    ordered = features.sort_values("user_id", kind="stable").reset_index(drop=True)
    labels = pipeline.fit_predict(model_inputs(ordered))
    mean_spend = pd.Series(ordered["total_spend"].to_numpy(dtype=float)).groupby(labels).mean()
    ranking = mean_spend.sort_values(ascending=False, kind="stable").index
    return SegmentationModel(
        pipeline=pipeline,
        segment_of_label={int(label): rank for rank, label in enumerate(ranking)},
    )

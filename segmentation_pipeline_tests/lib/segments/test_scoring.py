"""In-engine scoring equals scikit-learn: same segment and distance for every customer."""

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from segmentation_pipeline.lib.model.spec import (
    BASKET_FEATURES,
    DEMOGRAPHIC_FEATURES,
    LINEAR_BEHAVIOUR_FEATURES,
    LOG_BEHAVIOUR_FEATURES,
)
from segmentation_pipeline.lib.model.training import SegmentationModel, fit_model, model_inputs
from segmentation_pipeline.lib.segments.scoring import (
    MODEL_CENTROIDS_TABLE,
    MODEL_COLUMNS_TABLE,
    UnsupportedPipelineError,
    model_tables,
    score_in_engine,
)
from segmentation_pipeline_tests.support.customers import (
    CUSTOMERS,
    customers,
    generic_pipeline,
    sklearn_scores,
)


def engine_scores(model: SegmentationModel, features: pd.DataFrame) -> pd.DataFrame:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.register("incoming", features)
    con.execute("CREATE TABLE scored_features AS SELECT * FROM incoming")
    return score_in_engine(con, model, "v1", source="scored_features")


def test_generic_pipeline_scores_equal_sklearn_including_an_unseen_category() -> None:
    train = customers(seed=1)
    pipeline = generic_pipeline(k=4).fit(train.drop(columns="user_id"))
    # Segment ids other than the labels, as a refit carries ids over.
    model = SegmentationModel(pipeline=pipeline, segment_of_label={0: 7, 1: 3, 2: 0, 3: 5})
    scored = customers(seed=2, cities=("A", "B", "C", "Z"))  # "Z" was not seen at fit
    assert (scored["city"] == "Z").sum() > 0

    engine = engine_scores(model, scored)
    segments, distances = sklearn_scores(model, scored.drop(columns="user_id"))

    assert engine["user_id"].tolist() == scored["user_id"].tolist()
    assert engine["segment_id"].tolist() == segments.tolist()
    np.testing.assert_allclose(engine["distance_to_centroid"], distances, rtol=0, atol=1e-9)


def test_the_product_model_scores_equal_its_own_assign() -> None:
    rng = np.random.default_rng(3)
    features = pd.DataFrame(
        {
            "user_id": np.arange(1, CUSTOMERS + 1, dtype="int64"),
            "first_purchase_date": pd.Timestamp("2025-11-01"),
            "last_purchase_date": pd.Timestamp("2025-11-28"),
        }
    )
    # Every family of the product's preprocessing: basket shares (centred), log1p behaviour,
    # recency scaled by the window, one-hot demographics, each with its weight.
    shares = rng.dirichlet(np.ones(len(BASKET_FEATURES)), CUSTOMERS)
    for index, column in enumerate(BASKET_FEATURES):
        features[column] = shares[:, index]
    for column in LOG_BEHAVIOUR_FEATURES:
        features[column] = rng.poisson(rng.choice([2, 30], CUSTOMERS)) + 1
    for column in LINEAR_BEHAVIOUR_FEATURES:
        features[column] = rng.integers(0, 28, CUSTOMERS)
    for column in DEMOGRAPHIC_FEATURES:
        features[column] = rng.choice(["x", "y", "z"], CUSTOMERS)
    model = fit_model(features, k=3, random_state=0)

    engine = engine_scores(model, features)
    segments, distances = model.assign(features)

    assert engine["segment_id"].tolist() == segments.tolist()
    np.testing.assert_allclose(engine["distance_to_centroid"], distances, rtol=0, atol=1e-9)
    model_columns, centroids = model_tables(model)
    width = model.pipeline["preprocess"].transform(model_inputs(features)).shape[1]
    assert len(model_columns) == width
    assert len(centroids) == width * model.k


def test_the_tables_are_published_with_the_model_version() -> None:
    pipeline = generic_pipeline(k=2).fit(customers(seed=1).drop(columns="user_id"))
    model = SegmentationModel(pipeline=pipeline, segment_of_label={0: 0, 1: 1})
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.register("incoming", customers(seed=1))
    con.execute("CREATE TABLE scored_features AS SELECT * FROM incoming")
    score_in_engine(con, model, "20251128-abc", source="scored_features")
    transforms = dict(
        con.execute(
            f"SELECT transform, count(*) FROM {MODEL_COLUMNS_TABLE} GROUP BY ALL"
        ).fetchall()
    )
    assert transforms == {"log1p": 2, "identity": 3, "one_hot": 5}
    assert con.execute(
        f"SELECT DISTINCT model_version FROM {MODEL_CENTROIDS_TABLE}"
    ).fetchall() == [("20251128-abc",)]


def test_an_unsupported_step_is_refused() -> None:
    pipeline = Pipeline(
        [
            (
                "preprocess",
                ColumnTransformer([("odd", FunctionTransformer(np.sqrt), ["spend"])]),
            ),
            ("kmeans", KMeans(n_clusters=2, n_init=1, random_state=0)),
        ]
    ).fit(customers(seed=1))
    with pytest.raises(UnsupportedPipelineError, match="odd"):
        model_tables(SegmentationModel(pipeline=pipeline, segment_of_label={0: 0, 1: 1}))

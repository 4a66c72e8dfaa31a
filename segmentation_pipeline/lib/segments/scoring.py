"""Score every customer in the engine: the fitted pipeline as two tables, nearest centroid in SQL.

The fitted scikit-learn pipeline (a ColumnTransformer, then K-Means) is walked generically into
- `marts.model_columns`: one row per column of the model space, in the pipeline's output order:
  the source feature, the elementwise transform (`identity`, `log1p`, or `one_hot` with the
  category it indicates), the centre and scale subtracted and divided, and the block weight;
- `marts.model_centroids`: one row per segment and model column, the centroid's coordinate.
From these two tables alone, `scoring_sql` writes plain SQL (CASE, LEAST, sqrt) that gives each
customer its nearest centroid's segment id and the distance, as K-Means' transform does, so any
SQL engine can score every customer without the model object or Python.

Supported within each named transformer: a FunctionTransformer of np.log1p (or none), then a
StandardScaler (with or without mean/std); or a OneHotEncoder with handle_unknown="ignore" (an
unseen category scores 0 on every indicator, as in scikit-learn); "passthrough" blocks. Anything
else raises, rather than score differently from the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from segmentation_pipeline.lib.warehouse import replace_table_from_frame
from segmentation_pipeline.settings import CUSTOMER_FEATURES_TABLE

if TYPE_CHECKING:
    import duckdb

    from segmentation_pipeline.lib.model.training import SegmentationModel

MODEL_COLUMNS_TABLE = "marts.model_columns"
MODEL_CENTROIDS_TABLE = "marts.model_centroids"
# Below this, ln(1 + x) loses digits to the rounding of 1 + x: the series is exact there.
LOG1P_SERIES_BELOW = 1e-4


class UnsupportedPipelineError(ValueError):
    """A fitted step that the SQL scorer cannot reproduce exactly."""


def _elementwise_columns(
    block: str, steps: list[Any], columns: list[str], weight: float
) -> list[dict[str, Any]]:
    """Columns of a block made of an optional log1p, then an optional StandardScaler."""
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    transform = "identity"
    center = np.zeros(len(columns))
    scale = np.ones(len(columns))
    scaled = False
    for step in steps:
        if isinstance(step, FunctionTransformer) and not scaled and transform == "identity":
            if step.func is np.log1p:
                transform = "log1p"
            elif step.func is not None:
                raise UnsupportedPipelineError(f"{block}: function {step.func!r} is not supported")
        elif isinstance(step, StandardScaler) and not scaled:
            if step.with_mean:
                center = np.asarray(step.mean_, dtype=float)
            if step.with_std:
                scale = np.asarray(step.scale_, dtype=float)
            scaled = True
        elif step != "passthrough":
            raise UnsupportedPipelineError(f"{block}: step {step!r} is not supported here")
    return [
        {
            "block": block,
            "source_feature": column,
            "transform": transform,
            "category": None,
            "center": float(center[index]),
            "scale": float(scale[index]),
            "weight": weight,
        }
        for index, column in enumerate(columns)
    ]


def _one_hot_columns(
    block: str, encoder: Any, columns: list[str], weight: float
) -> list[dict[str, Any]]:
    if encoder.drop is not None or getattr(encoder, "infrequent_categories_", None) is not None:
        raise UnsupportedPipelineError(f"{block}: dropped or infrequent categories")
    if encoder.handle_unknown != "ignore":
        raise UnsupportedPipelineError(f"{block}: handle_unknown must be 'ignore'")
    return [
        {
            "block": block,
            "source_feature": column,
            "transform": "one_hot",
            "category": str(category),
            "center": 0.0,
            "scale": 1.0,
            "weight": weight,
        }
        for column, categories in zip(columns, encoder.categories_, strict=True)
        for category in categories
    ]


def model_tables(model: SegmentationModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fitted pipeline as (model columns, centroids) frames."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    preprocess, kmeans = model.pipeline[:-1], model.pipeline[-1]
    if len(preprocess) != 1 or not isinstance(preprocess[0], ColumnTransformer):
        raise UnsupportedPipelineError("the pipeline must be one ColumnTransformer, then K-Means")
    transformer = preprocess[0]
    weights = transformer.transformer_weights or {}
    rows: list[dict[str, Any]] = []
    for block, fitted, selected in transformer.transformers_:
        # Columns may be selected by position: name them as the frame the model was fitted on.
        columns = [
            transformer.feature_names_in_[column]
            if isinstance(column, int | np.integer)
            else column
            for column in selected
        ]
        if fitted == "drop" or not columns:
            continue
        weight = float(weights.get(block, 1.0))
        steps = [step for _, step in fitted.steps] if isinstance(fitted, Pipeline) else [fitted]
        if len(steps) == 1 and isinstance(steps[0], OneHotEncoder):
            rows += _one_hot_columns(block, steps[0], columns, weight)
        else:
            rows += _elementwise_columns(block, steps, columns, weight)
    model_columns = pd.DataFrame(rows)
    model_columns.insert(0, "position", range(len(model_columns)))
    centers = np.asarray(kmeans.cluster_centers_, dtype=float)
    if centers.shape[1] != len(model_columns):
        raise UnsupportedPipelineError(
            f"{len(model_columns)} model columns read from the pipeline, "
            f"but the centroids have {centers.shape[1]}"
        )
    centroids = pd.DataFrame(
        [
            {
                "label": label,
                "segment_id": model.segment_of_label[label],
                "position": position,
                "value": float(centers[label, position]),
            }
            for label in range(centers.shape[0])
            for position in range(centers.shape[1])
        ]
    )
    return model_columns, centroids


def _number(value: float) -> str:
    # repr round-trips a float exactly; the cast keeps SQL from reading it as a DECIMAL.
    return f"CAST({float(value)!r} AS DOUBLE)"


def _column_sql(column: pd.Series) -> str:
    """One model-space coordinate of a customer, as an expression over the feature table."""
    source = column["source_feature"]
    if column["transform"] == "one_hot":
        category = str(column["category"]).replace("'", "''")
        value = f"CASE WHEN CAST({source} AS VARCHAR) = '{category}' THEN 1.0 ELSE 0.0 END"
        return f"{value} * {_number(column['weight'])}"
    value = f"CAST({source} AS DOUBLE)"
    if column["transform"] == "log1p":
        value = (
            f"CASE WHEN abs({value}) < {LOG1P_SERIES_BELOW} "
            f"THEN {value} - {value} * {value} / 2 + {value} * {value} * {value} / 3 "
            f"ELSE ln(1 + {value}) END"
        )
    return (
        f"(({value}) - {_number(column['center'])}) / {_number(column['scale'])} "
        f"* {_number(column['weight'])}"
    )


def scoring_sql(
    model_columns: pd.DataFrame, centroids: pd.DataFrame, source: str = CUSTOMER_FEATURES_TABLE
) -> str:
    """SELECT user_id, segment_id, distance_to_centroid for every row of `source`.

    Ties go to the lowest K-Means label, as numpy's argmin does.
    """
    ordered = model_columns.sort_values("position")
    coordinates = ",\n        ".join(
        f"{_column_sql(column)} AS x{int(column['position'])}" for _, column in ordered.iterrows()
    )
    distances = []
    segment_of_label = {}
    for label, centroid in centroids.sort_values(["label", "position"]).groupby("label"):
        squares = " + ".join(
            f"(x{int(position)} - {_number(value)}) * (x{int(position)} - {_number(value)})"
            for position, value in zip(centroid["position"], centroid["value"], strict=True)
        )
        distances.append(f"sqrt({squares}) AS d{int(label)}")
        segment_of_label[int(label)] = int(centroid["segment_id"].iloc[0])
    labels = sorted(segment_of_label)
    nearest = " ".join(
        f"WHEN d{label} = nearest THEN {segment_of_label[label]}" for label in labels
    )
    return f"""
    WITH model_space AS (
        SELECT user_id,
        {coordinates}
        FROM {source}
    ), distances AS (
        SELECT user_id, {", ".join(distances)} FROM model_space
    ), nearest AS (
        SELECT *, LEAST({", ".join(f"d{label}" for label in labels)}) AS nearest FROM distances
    )
    SELECT user_id, CAST(CASE {nearest} END AS INTEGER) AS segment_id,
        nearest AS distance_to_centroid
    FROM nearest
    """


def publish_model_tables(
    con: duckdb.DuckDBPyConnection, model: SegmentationModel, version: str
) -> None:
    """Replace the model tables with `model`'s (tagged with its version), in one transaction."""
    model_columns, centroids = model_tables(model)
    for table, frame in ((MODEL_COLUMNS_TABLE, model_columns), (MODEL_CENTROIDS_TABLE, centroids)):
        replace_table_from_frame(con, table, frame.assign(model_version=version))


def published_scoring_sql(
    con: duckdb.DuckDBPyConnection,
    model: SegmentationModel,
    version: str,
    source: str = CUSTOMER_FEATURES_TABLE,
) -> str:
    """Publish the model tables, then write the scoring SELECT from them as read back, so any
    engine (DuckDB here, Spark through `spark/`) scores from exactly what the tables say."""
    publish_model_tables(con, model, version)
    model_columns = con.execute(f"SELECT * FROM {MODEL_COLUMNS_TABLE}").df()
    centroids = con.execute(f"SELECT * FROM {MODEL_CENTROIDS_TABLE}").df()
    return scoring_sql(model_columns, centroids, source)


def score_in_engine(
    con: duckdb.DuckDBPyConnection,
    model: SegmentationModel,
    version: str,
    source: str = CUSTOMER_FEATURES_TABLE,
) -> pd.DataFrame:
    """Publish the model tables, then score every customer of `source` from them, by user_id."""
    sql = published_scoring_sql(con, model, version, source)
    return con.execute(f"SELECT * FROM ({sql}) ORDER BY user_id").df()

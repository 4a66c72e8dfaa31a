"""The same aggregation and K sweep as the pipeline, in bare pandas + scikit-learn.

No validation, no persistence, no orchestration: the floor the pipeline is compared with.
Usage: python benchmarks/bare_baseline.py LANDING_DIR
"""

import resource
import sys
import time
from pathlib import Path


def main(landing: Path) -> None:
    started = time.perf_counter()
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    imported = time.perf_counter()
    frames = [pd.read_csv(path).assign(day=path.stem) for path in sorted(landing.glob("*.csv"))]
    rows = pd.concat(frames, ignore_index=True)
    loaded = time.perf_counter()

    by_user = rows.groupby("User_ID")
    features = by_user.agg(
        transactions=("Purchase", "size"),
        total_spend=("Purchase", "sum"),
        avg_ticket=("Purchase", "mean"),
        distinct_products=("Product_ID", "nunique"),
        distinct_categories=("Product_Category", "nunique"),
        active_days=("day", "nunique"),
        gender=("Gender", "first"),
        age=("Age", "first"),
        city_category=("City_Category", "first"),
        marital_status=("Marital_Status", "first"),
    )
    spend = rows.pivot_table(
        index="User_ID", columns="Product_Category", values="Purchase", aggfunc="sum", fill_value=0
    )
    shares = spend.div(spend.sum(axis=1), axis=0)
    for category in (1, 5, 8):
        features[f"share_{category}"] = shares[category]
    aggregated = time.perf_counter()

    log_columns = ["transactions", "total_spend", "distinct_products", "active_days"]
    linear = ["avg_ticket", "distinct_categories", "share_1", "share_5", "share_8"]
    demographics = ["gender", "age", "city_category", "marital_status"]
    features[demographics] = features[demographics].astype(str)
    matrix = ColumnTransformer(
        [
            ("log", make_pipeline(FunctionTransformer(np.log1p), StandardScaler()), log_columns),
            ("linear", StandardScaler(), linear),
            ("demo", OneHotEncoder(sparse_output=False), demographics),
        ],
        transformer_weights={"log": 1.0, "linear": 1.0, "demo": 0.5},
    ).fit_transform(features)
    for k in range(2, 11):
        labels = KMeans(n_clusters=k, n_init=10, random_state=42).fit_predict(matrix)
        calinski_harabasz_score(matrix, labels)
        davies_bouldin_score(matrix, labels)
        silhouette_score(matrix, labels, sample_size=3000, random_state=42)
    swept = time.perf_counter()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bare: {len(rows):,} rows, {len(features):,} customers")
    print(f"  imports     {imported - started:6.2f} s")
    print(f"  read csv    {loaded - imported:6.2f} s")
    print(f"  aggregate   {aggregated - loaded:6.2f} s")
    print(f"  K sweep     {swept - aggregated:6.2f} s")
    print(f"  total       {swept - started:6.2f} s   peak RSS {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""The pipeline's analysis as a notebook would do it, in bare pandas + scikit-learn.

Same per-customer features (every category's spend share, behaviour with recency, demographics),
same family weights, same K evidence (K = 1..10 on a sample of 2,000 customers, the gap
statistic against 5 uniform references along the principal axes, the silhouette), then the
final fit on every customer and a per-segment profile. No validation, no persistence, no
orchestration, no checks, no report: the floor the pipeline is compared with.
Usage: python benchmarks/bare_baseline.py LANDING_DIR
"""

import resource
import sys
import time
from pathlib import Path

SAMPLE = 2000
REFERENCES = 5
SEED = 42


def main(landing: Path) -> None:
    started = time.perf_counter()
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.metrics import silhouette_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    imported = time.perf_counter()
    frames = [
        pd.read_csv(path).assign(day=pd.Timestamp(path.stem))
        for path in sorted(landing.glob("*.csv"))
    ]
    rows = pd.concat(frames, ignore_index=True)
    loaded = time.perf_counter()

    by_user = rows.groupby("User_ID")
    features = by_user.agg(
        total_spend=("Purchase", "sum"),
        transactions=("Purchase", "size"),
        active_days=("day", "nunique"),
        avg_ticket=("Purchase", "mean"),
        distinct_categories=("Product_Category", "nunique"),
        last_day=("day", "max"),
        gender=("Gender", "first"),
        age=("Age", "first"),
        occupation=("Occupation", "first"),
        city_category=("City_Category", "first"),
        stay_in_current_city_years=("Stay_In_Current_City_Years", "first"),
        marital_status=("Marital_Status", "first"),
    )
    features["days_since_last_purchase"] = (rows["day"].max() - features["last_day"]).dt.days
    spend = rows.pivot_table(
        index="User_ID", columns="Product_Category", values="Purchase", aggfunc="sum", fill_value=0
    )
    shares = spend.div(spend.sum(axis=1), axis=0).add_prefix("share_")
    features = features.join(shares)
    aggregated = time.perf_counter()

    basket = list(shares.columns)
    log_behaviour = ["total_spend", "transactions", "avg_ticket", "distinct_categories"]
    in_window = ["active_days", "days_since_last_purchase"]
    demographics = ["gender", "age", "occupation", "city_category"]
    demographics += ["stay_in_current_city_years", "marital_status"]
    features[demographics] = features[demographics].astype(str)
    window = (rows["day"].max() - rows["day"].min()).days + 1
    behaviour_weight = np.sqrt(1 / (len(log_behaviour) + len(in_window)))
    preprocessor = ColumnTransformer(
        [
            ("basket", StandardScaler(with_std=False), basket),
            ("log", make_pipeline(FunctionTransformer(np.log1p), StandardScaler()), log_behaviour),
            ("days", StandardScaler(with_std=False), in_window),
            ("demo", OneHotEncoder(sparse_output=False), demographics),
        ],
        transformer_weights={
            "basket": np.sqrt(1 / features[basket].var(ddof=0).sum()),
            "log": behaviour_weight,
            "days": behaviour_weight * np.sqrt(12) / window,
            "demo": np.sqrt(1 / len(demographics)),
        },
    )
    matrix = preprocessor.fit_transform(features)
    rng = np.random.default_rng(SEED)
    sample = matrix[np.sort(rng.choice(len(matrix), min(SAMPLE, len(matrix)), replace=False))]
    centre = sample.mean(axis=0)
    _, _, axes = np.linalg.svd(sample - centre, full_matrices=False)
    spread = ((sample - centre) @ axes.T).std(axis=0)
    references = [
        rng.uniform(-np.sqrt(3), np.sqrt(3), (len(sample), len(spread))) * spread @ axes + centre
        for _ in range(REFERENCES)
    ]
    sweep = []
    for k in range(1, 11):
        fit = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit(sample)
        reference_log_w = [
            np.log(KMeans(n_clusters=k, n_init=2, random_state=SEED).fit(draw).inertia_)
            for draw in references
        ]
        gap = np.mean(reference_log_w) - np.log(fit.inertia_)
        silhouette = silhouette_score(sample, fit.labels_) if k > 1 else np.nan
        sweep.append({"k": k, "gap": gap, "silhouette": silhouette})
    table = pd.DataFrame(sweep)
    k = int(table.loc[table["silhouette"].idxmax(), "k"])
    swept = time.perf_counter()

    features["segment"] = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit_predict(matrix)
    profiles = features.groupby("segment")[["total_spend", "transactions", "avg_ticket"]].mean()
    fitted = time.perf_counter()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bare: {len(rows):,} rows, {len(features):,} customers, K = {k}")
    print(profiles.round(1).to_string())
    print(f"  imports     {imported - started:6.2f} s")
    print(f"  read csv    {loaded - imported:6.2f} s")
    print(f"  aggregate   {aggregated - loaded:6.2f} s")
    print(f"  K sweep     {swept - aggregated:6.2f} s")
    print(f"  fit/profile {fitted - swept:6.2f} s")
    print(f"  total       {fitted - started:6.2f} s   peak RSS {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

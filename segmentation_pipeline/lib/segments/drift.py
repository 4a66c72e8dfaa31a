"""Drift between data days: did today's scoring move away from the previous data day's?

Measured on `marts.segment_history` (one scoring per data day, see `lib/segments/history.py`): the
latest scoring against the scoring of the data day before it, whatever happened in between (a
re-run of the same day replaces that day's scoring, never the previous day's). With the
population stability index,
PSI = sum over bins of (current share - previous share) * ln(current share / previous share),
empty bins floored at PSI_FLOOR. Usual reading: below 0.1 stable, 0.1 to 0.25 moderate,
above 0.25 significant.

- `segment_drift`: PSI of the segment shares, and the share of customers present in both
  scorings whose segment changed (where they went: `segment_migration`). Warns when PSI > 0.25
  or more than 20% changed segment.
- `feature_drift`: PSI of each key feature, binned by the previous scoring's deciles. Warns when
  any feature's PSI > 0.25.

Both are warnings (severity WARN): drift is a reason to look, not to stop publishing segments.
The arithmetic lives here; the two checks in defs/segments/drift.py.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmentation_pipeline.lib.segments.history import HISTORY_FEATURES, scoring_day

PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.25
CHANGED_SEGMENT_LIMIT = 0.2
PSI_BINS = 10
PSI_FLOOR = 1e-4


def psi(previous_shares: np.ndarray, current_shares: np.ndarray) -> float:
    previous = np.clip(np.asarray(previous_shares, dtype=float), PSI_FLOOR, None)
    current = np.clip(np.asarray(current_shares, dtype=float), PSI_FLOOR, None)
    return float(np.sum((current - previous) * np.log(current / previous)))


def psi_band(value: float) -> str:
    if value > PSI_SIGNIFICANT:
        return "significant"
    return "moderate" if value >= PSI_MODERATE else "stable"


def binned_psi(previous: pd.Series, current: pd.Series, bins: int = PSI_BINS) -> float:
    """PSI of a numeric feature over the previous scoring's quantile bins (ties merge bins)."""
    edges = np.unique(np.quantile(previous, np.linspace(0, 1, bins + 1)[1:-1]))

    def shares(values: pd.Series) -> np.ndarray:
        counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
        return counts / len(values)

    return psi(shares(previous), shares(current))


@dataclass(frozen=True)
class SegmentDrift:
    previous_day: str
    current_day: str
    previous_version: str
    current_version: str
    # segment_id, previous_share, current_share
    shares: pd.DataFrame
    psi: float
    customers_compared: int
    customers_changed: int
    new_customers: int
    gone_customers: int

    @property
    def changed_share(self) -> float:
        return self.customers_changed / max(self.customers_compared, 1)

    @property
    def drifted(self) -> bool:
        return self.psi > PSI_SIGNIFICANT or self.changed_share > CHANGED_SEGMENT_LIMIT


def measure_segment_drift(previous: pd.DataFrame, current: pd.DataFrame) -> SegmentDrift:
    shares = (
        pd.DataFrame(
            {
                "previous_share": previous["segment_id"].value_counts(normalize=True),
                "current_share": current["segment_id"].value_counts(normalize=True),
            }
        )
        .fillna(0.0)
        .rename_axis("segment_id")
        .sort_index()
        .reset_index()
    )
    both = previous[["user_id", "segment_id"]].merge(
        current[["user_id", "segment_id"]], on="user_id", suffixes=("_previous", "_current")
    )
    return SegmentDrift(
        previous_day=scoring_day(previous),
        current_day=scoring_day(current),
        previous_version=str(previous["model_version"].iloc[0]),
        current_version=str(current["model_version"].iloc[0]),
        shares=shares,
        psi=psi(shares["previous_share"], shares["current_share"]),
        customers_compared=len(both),
        customers_changed=int((both["segment_id_previous"] != both["segment_id_current"]).sum()),
        new_customers=int((~current["user_id"].isin(previous["user_id"])).sum()),
        gone_customers=int((~previous["user_id"].isin(current["user_id"])).sum()),
    )


def measure_feature_drift(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """One row per key feature: PSI, its band and the medians before and now."""
    rows = []
    for feature in HISTORY_FEATURES:
        value = binned_psi(previous[feature].astype(float), current[feature].astype(float))
        rows.append(
            {
                "feature": feature,
                "psi": value,
                "band": psi_band(value),
                "previous_median": float(previous[feature].median()),
                "current_median": float(current[feature].median()),
            }
        )
    return pd.DataFrame(rows)


FIRST_DAY = "First data day in the segment history: no previous day to compare with yet."

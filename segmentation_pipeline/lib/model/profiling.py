"""Segment profiles, readable names, the high-value flag and recommended actions.

Works on "members": the customer features with each customer's segment_id. The model asset
names segments from its training members (names belong to the model, so they carry over to
score-only runs); the `segment_profiles` asset profiles today's members under those names.

Explanations: for each segment, the features that tell it apart most, by standardised centroid
difference (segment mean - mean of all customers) / standard deviation of all customers, over
the behaviour, the spend share of every category and the model's demographics (as 0/1
indicators, e.g. `city_category=C`); the DISTINGUISHING_FEATURES largest in absolute value, with
their sign, e.g. "avg_ticket +1.42 sd".

Naming rules (documented in the README):
- value tier from the segment's average spend per customer against all customers' average:
  >= HIGH_VALUE_SPEND_RATIO -> "High-value" (the high-value flag), >= 0.5 -> "Mid-value",
  else "Low-value";
- frequency from average transactions per customer against the overall average:
  >= 1.25 -> "frequent", <= 0.75 -> "occasional", else "regular";
- the basket: "category N focus" when the segment spends at least SIGNATURE_LIFT times the
  overall share on its signature category (the one it over-buys most among the categories that
  hold at least 10% of its spend), else nothing (also when no category reaches 10%);
- the dominant city, and the narrowest run of adjacent age bands holding 60% of the segment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmentation_pipeline.lib.features.sql import CATEGORY_SHARE_COLUMNS
from segmentation_pipeline.lib.model.spec import DEMOGRAPHIC_FEATURES
from segmentation_pipeline.settings import AGE_BANDS, HIGH_VALUE_SPEND_RATIO, PRODUCT_CATEGORIES

AGE_COVERAGE = 0.6
YOUNG_BANDS = ("0-17", "18-25", "26-35")
PROFILED_DEMOGRAPHICS = (
    "gender",
    "age",
    "city_category",
    "marital_status",
    "occupation",
    "stay_in_current_city_years",
)
TOP_CATEGORIES = 3
SIGNATURE_LIFT = 1.3
BEHAVIOUR_FEATURES = (
    "transactions",
    "total_spend",
    "avg_ticket",
    "spend_per_active_day",
    "distinct_products",
    "distinct_categories",
    "active_days",
)
PROFILE_FEATURES = BEHAVIOUR_FEATURES + CATEGORY_SHARE_COLUMNS
DISTINGUISHING_FEATURES = 5


def value_tier(spend_ratio: float) -> str:
    if spend_ratio >= HIGH_VALUE_SPEND_RATIO:
        return "High-value"
    return "Mid-value" if spend_ratio >= 0.5 else "Low-value"


def frequency_word(frequency_ratio: float) -> str:
    if frequency_ratio >= 1.25:
        return "frequent"
    return "occasional" if frequency_ratio <= 0.75 else "regular"


def age_span(age_shares: dict[str, float]) -> str:
    """Narrowest run of adjacent age bands, grown from the largest, covering AGE_COVERAGE."""
    shares = [age_shares.get(band, 0.0) for band in AGE_BANDS]
    low = high = max(range(len(shares)), key=lambda index: shares[index])
    while sum(shares[low : high + 1]) < AGE_COVERAGE:
        left = shares[low - 1] if low > 0 else -1.0
        right = shares[high + 1] if high < len(shares) - 1 else -1.0
        if right > left:
            high += 1
        else:
            low -= 1
    first, last = AGE_BANDS[low], AGE_BANDS[high]
    if first == last:
        return first
    start = first.split("-")[0]
    return f"{start}+" if last.endswith("+") else f"{start}-{last.split('-')[1]}"


def recommended_actions(
    high_value: bool, young_share: float, top_categories: list[int], ticket_ratio: float
) -> list[str]:
    """The mission's playbook applied to one segment."""
    categories = ", ".join(str(category) for category in top_categories)
    actions = [f"Personalised campaigns built on product categories {categories}."]
    if young_share >= 0.5:
        actions.append(
            "Omnichannel and digital first: app, social and online offers for a younger segment."
        )
    if high_value:
        actions.append(
            "Loyalty and retention programme for high spenders: VIP tier, early access, "
            "dedicated service."
        )
        actions.append("Premium pricing: bundles and early-access offers rather than discounts.")
    elif ticket_ratio < 1:
        actions.append("Segment pricing: targeted discounts and bundles to lift the basket value.")
    else:
        actions.append("Segment offers: frequency rewards to bring these buyers back more often.")
    return actions


def _dominant(members: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """Most common value of `attribute` per segment and its share (ties: the smaller value)."""
    shares = (
        members.groupby("segment_id")[attribute]
        .value_counts(normalize=True)
        .rename("share")
        .reset_index()
        .sort_values(["segment_id", "share", attribute], ascending=[True, False, True])
        .drop_duplicates("segment_id")
        .set_index("segment_id")
    )
    return shares.rename(
        columns={attribute: f"dominant_{attribute}", "share": f"dominant_{attribute}_share"}
    )


def _category_spend_shares(members: pd.DataFrame) -> pd.DataFrame:
    """Share of each segment's revenue per product category (segments x categories)."""
    spend = members[list(CATEGORY_SHARE_COLUMNS)].mul(members["total_spend"], axis=0)
    spend.columns = list(PRODUCT_CATEGORIES)
    by_segment = spend.groupby(members["segment_id"]).sum()
    return by_segment.div(by_segment.sum(axis=1), axis=0)


def profile_segments(members: pd.DataFrame) -> pd.DataFrame:
    """One row per segment with its figures, dominant demographics, top categories and flags."""
    grouped = members.groupby("segment_id")
    profile = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue": grouped["total_spend"].sum(),
            "avg_spend": grouped["total_spend"].mean(),
            "avg_transactions": grouped["transactions"].mean(),
            "avg_active_days": grouped["active_days"].mean(),
            "avg_distinct_categories": grouped["distinct_categories"].mean(),
        }
    )
    profile["customer_share"] = profile["customers"] / profile["customers"].sum()
    profile["revenue_share"] = profile["revenue"] / profile["revenue"].sum()
    profile["avg_ticket"] = profile["revenue"] / grouped["transactions"].sum()
    profile["spend_index"] = profile["avg_spend"] / members["total_spend"].mean()
    profile["frequency_index"] = profile["avg_transactions"] / members["transactions"].mean()
    profile["ticket_index"] = profile["avg_ticket"] / (
        members["total_spend"].sum() / members["transactions"].sum()
    )
    profile["high_value"] = profile["spend_index"] >= HIGH_VALUE_SPEND_RATIO
    profile["young_share"] = members["age"].isin(YOUNG_BANDS).groupby(members["segment_id"]).mean()
    for attribute in PROFILED_DEMOGRAPHICS:
        profile = profile.join(_dominant(members.astype({attribute: str}), attribute))
    category_shares = _category_spend_shares(members)
    overall_shares = (
        members[list(CATEGORY_SHARE_COLUMNS)].mul(members["total_spend"], axis=0).sum()
        / members["total_spend"].sum()
    ).to_numpy()
    profile["top_categories"] = category_shares.apply(
        lambda row: [int(c) for c in row[row > 0].nlargest(TOP_CATEGORIES).index], axis=1
    )
    # The category whose share of the segment's spend most exceeds its share overall, among those
    # holding at least 10% of it; none when the spend is spread thinly (no category reaches 10%).
    lift = category_shares.div(overall_shares, axis=1).where(category_shares >= 0.1)
    has_signature = lift.notna().any(axis=1)
    profile["signature_category"] = (
        lift.fillna(-np.inf).idxmax(axis=1).where(has_signature).astype("Int64")
    )
    profile["signature_category_lift"] = lift.max(axis=1)
    profile["recommended_actions"] = [
        recommended_actions(row.high_value, row.young_share, row.top_categories, row.ticket_index)
        for row in profile.itertuples()
    ]
    return profile.reset_index()


def name_segments(members: pd.DataFrame, profile: pd.DataFrame) -> dict[int, str]:
    """A readable, unique name per segment, e.g. "High-value frequent buyers, City B, 26-45"."""
    names: dict[int, str] = {}
    for row in profile.itertuples():
        age_shares = members.loc[members["segment_id"] == row.segment_id, "age"].value_counts(
            normalize=True
        )
        where = "City" if row.dominant_city_category_share >= 0.5 else "mostly City"
        # A segment without a signature category (lift NaN) is named without one.
        basket = (
            f"category {row.signature_category} focus, "
            if row.signature_category_lift >= SIGNATURE_LIFT
            else ""
        )
        names[int(row.segment_id)] = (
            f"{value_tier(row.spend_index)} {frequency_word(row.frequency_index)} buyers, "
            f"{basket}{where} {row.dominant_city_category}, {age_span(age_shares.to_dict())}"
        )
    # Segments that read alike are told apart by their dominant gender, then by their id.
    for qualifier in ("gender", "id"):
        clashes = [s for s, name in names.items() if list(names.values()).count(name) > 1]
        genders = profile.set_index("segment_id")["dominant_gender"]
        for segment in clashes:
            word = {"M": "mostly men", "F": "mostly women"}.get(genders[segment], "")
            names[segment] += f" ({word})" if qualifier == "gender" else f" (segment {segment})"
    return names


def standardised_differences(
    members: pd.DataFrame, columns: tuple[str, ...] = PROFILE_FEATURES
) -> pd.DataFrame:
    """(segment mean - overall mean) / overall std, segments x columns; 0 for a constant column."""
    values = members[list(columns)].astype(float)
    spread = values.std(ddof=0).replace(0.0, np.inf)
    return (values.groupby(members["segment_id"]).mean() - values.mean()) / spread


def distinguishing_features(
    members: pd.DataFrame, top: int = DISTINGUISHING_FEATURES
) -> dict[int, list[str]]:
    """Per segment, the `top` features furthest from all customers, e.g. "avg_ticket +1.42 sd"."""
    indicators = pd.get_dummies(
        members[list(DEMOGRAPHIC_FEATURES)].astype(str), prefix_sep="=", dtype=float
    )
    explained = pd.concat([members[["segment_id", *PROFILE_FEATURES]], indicators], axis=1)
    differences = standardised_differences(explained, PROFILE_FEATURES + tuple(indicators.columns))
    return {
        int(segment): [
            f"{feature} {row[feature]:+.2f} sd"
            for feature in row.abs().sort_values(ascending=False, kind="stable").index[:top]
        ]
        for segment, row in differences.iterrows()
    }

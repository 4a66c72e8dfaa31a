"""What every warehouse column means, with its unit: shown in the UI's column-schema panel.

One entry per column name; families of generated columns (a spend share and a basket column per
product category, a dominant value and its share per demographic) are described by pattern. A
column the glossary does not know is reported by `undescribed_columns`, which the tests run over
every table, so a new column cannot reach the UI unexplained.
"""

from __future__ import annotations

import re

SOURCE_COLUMNS_DOC: dict[str, str] = {
    "User_ID": "customer identifier, as in the source file",
    "Product_ID": "product identifier, 'P' + 8 digits",
    "Gender": "customer gender: F or M",
    "Age": "customer age band: 0-17, 18-25, 26-35, 36-45, 46-50, 51-55, 55+",
    "Occupation": "masked occupation code, 0..20",
    "City_Category": "masked city category: A, B or C",
    "Stay_In_Current_City_Years": "years in the current city: 0, 1, 2, 3 or 4+",
    "Marital_Status": "0 = single, 1 = married",
    "Product_Category": "masked product category, 1..20",
    "Purchase": "amount of the transaction, in the source currency",
}

COLUMN_DOCS: dict[str, str] = {
    **SOURCE_COLUMNS_DOC,
    # raw layer
    "transaction_date": "the day of the landing file the row came from (the partition)",
    "source_file": "path of the landing file",
    "line_number": "1-based line of the row in its landing file (the header is line 1)",
    "reasons": "every data-contract rule the row breaks",
    "rejected_at": "when the row was quarantined (UTC)",
    "file_sha256": "SHA-256 of the landing file's bytes: the content it was loaded from",
    "data_lines": "non-blank lines after the header, counted apart from the CSV parser",
    "rows_loaded": "rows of the file that entered raw.transactions",
    "rows_rejected": "rows of the file quarantined in raw.rejected_transactions",
    "ignored_columns": "extra columns of the file, not part of the contract (ignored)",
    "loaded_at": "when the file was loaded (UTC)",
    # customer features
    "user_id": "customer identifier",
    "gender": "customer gender: F or M (the combination seen on most rows)",
    "age": "customer age band (the combination seen on most rows)",
    "occupation": "masked occupation code, 0..20 (the combination seen on most rows)",
    "city_category": "masked city category A/B/C (the combination seen on most rows)",
    "stay_in_current_city_years": "years in the current city, 0..4+ (most rows)",
    "marital_status": "0 = single, 1 = married (the combination seen on most rows)",
    "demographics_conflict": "true when the customer's rows disagree on demographics",
    "transactions": "number of purchases in the data window",
    "total_spend": "sum of Purchase over the data window, in the source currency",
    "avg_ticket": "average Purchase per transaction, in the source currency",
    "spend_per_active_day": "total spend divided by the days with at least one purchase",
    "distinct_products": "number of different products bought",
    "distinct_categories": "number of different product categories bought (1..20)",
    "active_days": "days with at least one purchase",
    "first_purchase_date": "day of the customer's first purchase in the data window",
    "last_purchase_date": "day of the customer's last purchase in the data window",
    "days_since_last_purchase": "days from the last purchase to the last day of data (recency)",
    # segments
    "segment_id": "segment number, stable across model versions",
    "segment_name": "readable segment name: value tier, frequency, basket, city, ages",
    "distance_to_centroid": "distance to the segment's centre in the model's scaled space",
    "model_version": "model version that produced the row (models/<version>/)",
    "scored_at": "when the customer was scored (UTC)",
    # the model as tables (scoring in the engine)
    "position": "the column's place in the model's scaled space (0-based)",
    "block": "the feature family the model column belongs to (its ColumnTransformer block)",
    "source_feature": "the customer_features column the model column is computed from",
    "transform": "elementwise transform of the source: identity, log1p or one_hot",
    "category": "for one_hot: the source value the column indicates (1 if equal, else 0)",
    "center": "subtracted after the transform (the fitted mean; 0 when not centred)",
    "scale": "divided by after centring (the fitted standard deviation; 1 when not scaled)",
    "weight": "the family's weight, multiplied in last",
    "label": "K-Means' own cluster number, mapped to segment_id",
    "value": "the centroid's coordinate on the model column at `position`",
    # history and migration
    "as_of_day": "the data day a scoring belongs to: the last loaded day when it was scored",
    "period": "'1 day' or '7 days': how far apart the two compared scorings are",
    "from_day": "data day of the earlier scoring",
    "to_day": "data day of the later scoring (the latest)",
    "from_segment_id": "segment on from_day (empty for a customer new since then)",
    "from_segment_name": "segment name on from_day, or 'new customer'",
    "to_segment_id": "segment on to_day (empty for a customer no longer scored)",
    "to_segment_name": "segment name on to_day, or 'no longer scored'",
    "share_of_from": "customers / customers of the from-segment, 0..1 (sums to 1 per segment)",
    # profiles
    "customers": "customers in the segment",
    "customer_share": "share of all customers in the segment, 0..1",
    "revenue": "total spend of the segment's customers, in the source currency",
    "revenue_share": "share of all revenue from the segment, 0..1",
    "avg_spend": "average total spend per customer, in the source currency",
    "avg_transactions": "average number of purchases per customer",
    "high_value": "true when average spend is at least 1.25x the average customer's",
    "avg_active_days": "average days with a purchase per customer",
    "avg_distinct_categories": "average number of product categories bought per customer",
    "spend_index": "average spend / average spend of all customers (1 = average)",
    "frequency_index": "average transactions / average of all customers (1 = average)",
    "ticket_index": "segment's average ticket / all customers' average ticket",
    "young_share": "share of customers aged under 36, 0..1",
    "top_categories": "the product categories with the most revenue in the segment",
    "signature_category": "the category the segment over-buys most against all customers",
    "signature_category_lift": "segment's spend share in its signature category / overall share",
    "recommended_actions": "what marketing should do for the segment",
    "distinguishing_features": "features furthest from all customers, in standard deviations",
    "migration_note": "the largest move out of the segment over the last 7 days (else 1 day)",
}

COLUMN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"spend_share_cat_(\d+)"),
        "share of the customer's spend in product category {0}, 0..1 (shares sum to 1)",
    ),
    (
        re.compile(r"basket_cat_(\d+)"),
        "the model's basket: spend share of category {0} pulled toward the average customer's by "
        "a prior of a few transactions, 0..1",
    ),
    (re.compile(r"dominant_(\w+)_share"), "share of the segment's customers with that {0}, 0..1"),
    (re.compile(r"dominant_(\w+)"), "most common {0} in the segment"),
)


def describe_column(name: str) -> str | None:
    """What the column means and its unit, or None when the glossary does not know it."""
    if name in COLUMN_DOCS:
        return COLUMN_DOCS[name]
    for pattern, template in COLUMN_PATTERNS:
        match = pattern.fullmatch(name)
        if match:
            return template.format(match.group(1).lstrip("0"))
    return None


def undescribed_columns(names: list[str]) -> list[str]:
    return [name for name in names if describe_column(name) is None]

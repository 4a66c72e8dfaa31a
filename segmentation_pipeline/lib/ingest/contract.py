"""The raw-layer data contract: the domains a landing row must respect, stated once.

The loader turns these into SQL that tags each row with every rule it breaks, and the Great
Expectations suite for `raw.transactions` reads the same values, so the two cannot drift apart.
"""

from __future__ import annotations

from segmentation_pipeline.settings import AGE_BANDS, PRODUCT_CATEGORIES, SOURCE_COLUMNS

ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "Gender": ("F", "M"),
    "Age": AGE_BANDS,
    "City_Category": ("A", "B", "C"),
    "Stay_In_Current_City_Years": ("0", "1", "2", "3", "4+"),
    "Marital_Status": ("0", "1"),
}
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "User_ID": (1, 2**62),
    "Occupation": (0, 20),
    "Product_Category": (min(PRODUCT_CATEGORIES), max(PRODUCT_CATEGORIES)),
    # The published maximum is 23,961; anything past 100,000 is a unit or parsing error.
    "Purchase": (1, 100_000),
}
PRODUCT_ID_PATTERN = r"^P\d{8}$"

# Column types in raw.transactions (the source names are kept so the contract reads like the file).
RAW_COLUMN_TYPES: dict[str, str] = {
    column: ("BIGINT" if column in INTEGER_RANGES else "VARCHAR") for column in SOURCE_COLUMNS
}


def sql_text(value: str) -> str:
    """`value` as a SQL string literal, for the rules written out as SQL."""
    return "'" + value.replace("'", "''") + "'"

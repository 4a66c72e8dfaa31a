"""Profiles, names and recommended actions on hand-made segment members."""

import pandas as pd
import pytest

from segmentation_pipeline.lib.features.sql import CATEGORY_SHARE_COLUMNS, category_share_column
from segmentation_pipeline.lib.model.profiling import (
    age_span,
    distinguishing_features,
    frequency_word,
    name_segments,
    profile_segments,
    recommended_actions,
    standardised_differences,
    value_tier,
)


def member(segment: int, spend: float, transactions: int, age: str, city: str, **kwargs) -> dict:
    shares = dict.fromkeys(CATEGORY_SHARE_COLUMNS, 0.0)
    shares.update(kwargs.pop("shares", {category_share_column(1): 1.0}))
    return {
        "segment_id": segment,
        "total_spend": spend,
        "transactions": transactions,
        "active_days": 5,
        "distinct_categories": 2,
        "gender": kwargs.pop("gender", "M"),
        "age": age,
        "city_category": city,
        "marital_status": "0",
        "occupation": 4,
        "stay_in_current_city_years": "1",
        **shares,
    }


@pytest.fixture
def members() -> pd.DataFrame:
    heavy = [member(0, 900_000, 300, "26-35", "B") for _ in range(3)]
    heavy.append(member(0, 900_000, 300, "36-45", "B"))
    light = [
        member(1, 50_000, 10, "55+", "C", shares={category_share_column(5): 1.0}) for _ in range(4)
    ]
    return pd.DataFrame(heavy + light)


def test_profile_figures(members: pd.DataFrame) -> None:
    profile = profile_segments(members).set_index("segment_id")
    assert list(profile["customers"]) == [4, 4]
    assert profile.loc[0, "revenue_share"] == pytest.approx(3_600_000 / 3_800_000)
    assert profile.loc[0, "avg_ticket"] == pytest.approx(3000)
    assert profile.loc[0, "dominant_city_category"] == "B"
    assert profile.loc[0, "dominant_age"] == "26-35"
    assert profile.loc[0, "dominant_age_share"] == pytest.approx(0.75)
    assert bool(profile.loc[0, "high_value"]) and not bool(profile.loc[1, "high_value"])
    assert profile.loc[1, "top_categories"][0] == 5
    assert profile.loc[0, "young_share"] == pytest.approx(0.75)


def test_names_describe_value_frequency_basket_city_and_age(members: pd.DataFrame) -> None:
    names = name_segments(members, profile_segments(members))
    assert names == {
        0: "High-value frequent buyers, City B, 26-35",
        1: "Low-value occasional buyers, category 5 focus, City C, 55+",
    }


def test_spend_spread_evenly_gives_no_signature_category(members: pd.DataFrame) -> None:
    # The reported crash: no category reaches 10% of any segment's spend.
    even = members.copy()
    even[list(CATEGORY_SHARE_COLUMNS)] = 1 / len(CATEGORY_SHARE_COLUMNS)
    profile = profile_segments(even)
    assert profile["signature_category"].isna().all()
    assert profile["top_categories"].map(len).eq(3).all()
    names = name_segments(even, profile)
    assert names == {
        0: "High-value frequent buyers, City B, 26-35",
        1: "Low-value occasional buyers, City C, 55+",
    }


def test_a_single_category_is_the_only_top_category(members: pd.DataFrame) -> None:
    assert profile_segments(members)["top_categories"].tolist() == [[1], [5]]


def test_names_that_read_alike_are_made_unique(members: pd.DataFrame) -> None:
    twins = members.copy()
    twins["segment_id"] = [0, 0, 0, 0, 1, 1, 2, 2]
    twins.loc[twins["segment_id"] == 2, "gender"] = "F"
    names = name_segments(twins, profile_segments(twins))
    assert len(set(names.values())) == 3
    assert names[2].endswith("(mostly women)")


@pytest.mark.parametrize(
    ("shares", "expected"),
    [
        ({"26-35": 0.7, "36-45": 0.3}, "26-35"),
        ({"26-35": 0.4, "36-45": 0.3, "18-25": 0.2}, "26-45"),
        ({"51-55": 0.3, "55+": 0.4}, "51+"),
        ({"0-17": 0.5, "18-25": 0.2}, "0-25"),
    ],
)
def test_age_span(shares: dict[str, float], expected: str) -> None:
    assert age_span(shares) == expected


def test_tiers_and_frequency_words() -> None:
    assert [value_tier(ratio) for ratio in (2.0, 1.25, 0.9, 0.4)] == [
        "High-value",
        "High-value",
        "Mid-value",
        "Low-value",
    ]
    assert [frequency_word(ratio) for ratio in (1.5, 1.0, 0.5)] == [
        "frequent",
        "regular",
        "occasional",
    ]


def test_recommended_actions_follow_the_playbook() -> None:
    high_young = " ".join(recommended_actions(True, 0.7, [1, 5, 8], 1.1))
    assert "Personalised campaigns" in high_young and "1, 5, 8" in high_young
    assert "Omnichannel" in high_young
    assert "Loyalty and retention" in high_young
    low_old = " ".join(recommended_actions(False, 0.2, [5], 0.8))
    assert "Omnichannel" not in low_old and "Loyalty" not in low_old
    assert "Segment pricing" in low_old


def test_standardised_differences_and_distinguishing_features() -> None:
    shares = dict.fromkeys(CATEGORY_SHARE_COLUMNS, 0.05)
    rows = [
        {
            "segment_id": segment,
            "transactions": 10,
            "total_spend": spend,
            "avg_ticket": ticket,
            "spend_per_active_day": 50.0,
            "distinct_products": 10,
            "distinct_categories": 3,
            "active_days": 5,
            "gender": "M",
            "age": "26-35",
            "city_category": city,
            "marital_status": "0",
            "occupation": 4,
            "stay_in_current_city_years": "1",
            **shares,
        }
        for segment, spend, ticket, city in [
            (0, 1000, 110, "B"),
            (0, 1000, 90, "B"),
            (1, 100, 100, "B"),
            (1, 100, 60, "C"),
        ]
    ]
    members = pd.DataFrame(rows)
    differences = standardised_differences(members)
    # Spend: mean 550, std 450, so the segments sit at +1 and -1 sd.
    assert differences.loc[0, "total_spend"] == pytest.approx(1.0)
    assert differences.loc[1, "total_spend"] == pytest.approx(-1.0)
    # Ticket: mean 90, std sqrt(350); segment means 100 and 80.
    assert differences.loc[0, "avg_ticket"] == pytest.approx(10 / 350**0.5)
    # A feature nobody differs on distinguishes no one.
    assert (differences["transactions"] == 0).all()

    explained = distinguishing_features(members, top=3)
    # City C: a share of 1/4 overall (std sqrt(3)/4), 1/2 in segment 1: +0.577 sd.
    assert explained == {
        0: ["total_spend +1.00 sd", "city_category=B +0.58 sd", "city_category=C -0.58 sd"],
        1: ["total_spend -1.00 sd", "city_category=B -0.58 sd", "city_category=C +0.58 sd"],
    }

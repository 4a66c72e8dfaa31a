"""Refit cadence decisions and the model store: versions kept, listed and restored."""

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from segmentation_pipeline.defs.model.assets import SegmentationModelConfig, decide_refit
from segmentation_pipeline.defs.resources import ModelStore, ModelStoreError
from segmentation_pipeline.lib.model.spec import MODEL_SPEC


def card(last_day: str = "2025-11-28", **config: object) -> dict:
    return {
        "version": f"{last_day.replace('-', '')}-abc",
        **MODEL_SPEC,
        "config": {**SegmentationModelConfig().model_dump(), **config},
        "data_window": {"first_day": "2025-11-01", "last_day": last_day},
    }


@pytest.mark.parametrize(
    ("config", "model_card", "today", "refit", "reason"),
    [
        ({}, None, "2025-11-28", True, "no model yet"),
        ({}, card(), "2025-11-28", False, "0 days after"),
        ({}, card(), "2025-12-04", False, "6 days after"),
        ({}, card(), "2025-12-05", True, "7 days after"),
        ({"refit_every_days": 1}, card(), "2025-11-29", True, "refit every 1 days"),
        ({"k": 3}, card(), "2025-11-28", True, "settings changed: k"),
        (
            {},
            {**card(), "candidate_features": ["total_spend"]},
            "2025-11-28",
            True,
            "model spec changed: candidate_features",
        ),
        (
            {},
            {**card(), "basket_prior_transactions": 3, "family_weighting": "structure"},
            "2025-11-28",
            True,
            "model spec changed: basket_prior_transactions, family_weighting",
        ),
        ({"refit": "always"}, card(), "2025-11-28", True, "refit='always'"),
        ({"refit": "never"}, card(), "2026-03-01", False, "refit='never'"),
        # The cadence itself is not a fit setting: changing it does not force a refit.
        ({"refit_every_days": 30}, card(), "2025-12-05", False, "refit every 30 days"),
    ],
)
def test_refit_decision(
    config: dict, model_card: dict | None, today: str, refit: bool, reason: str
) -> None:
    decision = decide_refit(
        SegmentationModelConfig(**config), model_card, date.fromisoformat(today)
    )
    assert decision.refit is refit
    assert reason in decision.reason


def test_never_without_a_model_fails_clearly() -> None:
    with pytest.raises(dg.Failure, match="no model exists yet"):
        decide_refit(SegmentationModelConfig(refit="never"), None, date(2025, 11, 28))


def test_versions_are_kept_listed_and_restored(tmp_path: Path) -> None:
    store = ModelStore(root=str(tmp_path / "models"))
    assert store.current_version_or_none() is None
    older, newer = card("2025-11-21"), card("2025-11-28")
    store.save(newer["version"], {"model": 2}, newer)
    store.save(older["version"], {"model": 1}, older)
    assert store.current_version() == older["version"]
    assert [c["version"] for c in store.list_cards()] == [older["version"], newer["version"]]

    assert store.restore(newer["version"]) == older["version"]
    model, current = store.load()
    assert model == {"model": 2} and current == newer
    store.save_json(newer["version"], "stability", {"mean": 0.9})
    assert store.load_json(newer["version"], "stability") == {"mean": 0.9}
    assert store.load_json(older["version"], "stability") is None
    with pytest.raises(ValueError, match="No model version 'nope'"):
        store.restore("nope")
    assert store.current_version() == newer["version"]


@pytest.mark.parametrize(
    ("pointer", "problem"),
    [
        ('{"version": "20251128-gone"}', "names version 20251128-gone, which is not kept"),
        ('{"vers', "is unreadable"),
    ],
)
def test_a_damaged_pointer_says_how_to_repair_it(
    tmp_path: Path, pointer: str, problem: str
) -> None:
    store = ModelStore(root=str(tmp_path / "models"))
    kept = card()
    store.save(kept["version"], {"model": 1}, kept)
    (tmp_path / "models" / "current.json").write_text(pointer)
    with pytest.raises(ModelStoreError, match=problem) as raised:
        store.current_version_or_none()
    assert f"segmentation model restore VERSION` (kept: {kept['version']})" in str(raised.value)
    assert store.restore(kept["version"]) == (None if "unreadable" in problem else "20251128-gone")
    assert store.current_version() == kept["version"]


def test_a_damaged_card_is_named(tmp_path: Path) -> None:
    store = ModelStore(root=str(tmp_path / "models"))
    kept = card()
    store.save(kept["version"], {"model": 1}, kept)
    damaged = tmp_path / "models" / kept["version"] / "model_card.json"
    damaged.write_text('{"version": ')
    for read in (store.list_cards, store.load_card):
        with pytest.raises(ModelStoreError, match=f"{damaged} is unreadable"):
            read()

"""Segment ids carry over between refits: matched, new and retired segments on known structure."""

from dataclasses import replace

import numpy as np
import pandas as pd

from segmentation_pipeline.lib.model.alignment import (
    Alignment,
    align_to_previous,
    carry_over_names,
    first_alignment,
)
from segmentation_pipeline.lib.model.training import fit_model
from segmentation_pipeline_tests.support.customers import synthetic_customers


def previous_card(version: str, model_k: int) -> dict:
    return {"version": version, "next_segment_id": model_k}


def test_refit_on_permuted_rows_with_another_seed_keeps_every_id() -> None:
    customers = synthetic_customers(4)
    fitted = fit_model(customers, 4, random_state=42)
    # Ids inherited from an earlier history, not the value order a fresh fit would give.
    history = {0: 2, 1: 0, 2: 3, 3: 1}
    previous = replace(
        fitted,
        segment_of_label={label: history[s] for label, s in fitted.segment_of_label.items()},
    )
    before, _ = previous.assign(customers)

    shuffled = customers.sample(frac=1, random_state=3)
    refit = fit_model(shuffled, 4, random_state=7)
    aligned, alignment = align_to_previous(refit, shuffled, previous, previous_card("v1", 4))

    after, _ = aligned.assign(customers)
    assert (after == before).all()
    assert sorted(alignment.matched) == [0, 1, 2, 3]
    assert alignment.new == [] and alignment.retired == []
    assert alignment.next_segment_id == 4
    assert all(moved <= limit for moved, limit in alignment.matched.values())


def test_a_segment_that_appears_is_new_and_one_that_vanishes_is_retired() -> None:
    customers = synthetic_customers(4)
    group = np.repeat(np.arange(4), 150)
    old = customers[group != 3].reset_index(drop=True)
    new = customers[group != 2].reset_index(drop=True)
    previous = fit_model(old, 3, random_state=42)
    old_ids, _ = previous.assign(old)
    # The group that left: its previous id must be retired, never reused.
    vanished = int(pd.Series(old_ids[group[group != 3] == 2]).mode()[0])

    aligned, alignment = align_to_previous(
        fit_model(new, 3, random_state=42), new, previous, previous_card("v1", 3)
    )
    new_ids, _ = aligned.assign(new)
    groups_left = group[group != 2]
    assert alignment.retired == [vanished]
    assert alignment.new == [3] and alignment.next_segment_id == 4
    assert set(new_ids[groups_left == 3]) == {3}
    # The groups present in both keep their ids.
    for kept in (0, 1):
        assert set(new_ids[groups_left == kept]) == set(old_ids[group[group != 3] == kept])


def test_ids_retired_earlier_are_not_reused() -> None:
    customers = synthetic_customers(3)
    previous = fit_model(customers, 3, random_state=42)
    refit = fit_model(customers, 4, random_state=42)  # one more segment than the data holds
    _, alignment = align_to_previous(refit, customers, previous, previous_card("v1", 9))
    assert alignment.new == [9] and alignment.next_segment_id == 10


def test_first_model_and_names_carry_over() -> None:
    model = fit_model(synthetic_customers(3), 3, random_state=42)
    first = first_alignment(model)
    assert first.new == [0, 1, 2] and first.next_segment_id == 3 and not first.matched
    assert first.card()["previous_version"] is None

    alignment = Alignment(
        "v1", {0: (0.1, 1.0), 2: (0.2, 1.0)}, new=[3], retired=[1], next_segment_id=4
    )
    fresh = {0: "renamed", 2: "Low-value buyers", 3: "Low-value buyers"}
    names = carry_over_names(
        fresh, {"0": "High-value", "1": "Gone", "2": "Low-value buyers"}, alignment
    )
    assert names == {0: "High-value", 2: "Low-value buyers", 3: "Low-value buyers (segment 3)"}

"""The code location loads, and every asset and check carries what the UI shows."""

import dagster as dg

from segmentation_pipeline.definitions import defs
from segmentation_pipeline_tests.support import EXPECTED_ASSETS


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs)


def test_every_asset_is_documented_grouped_and_kinded() -> None:
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    assert set(specs) == EXPECTED_ASSETS
    for name, spec in specs.items():
        assert spec.description and len(spec.description) > 40, name
        assert spec.group_name and spec.group_name != "default", name
        assert spec.kinds, name
        assert spec.owners, name


def test_lineage_runs_in_one_direction() -> None:
    graph = defs.resolve_asset_graph()
    parents = {
        key.to_user_string(): {parent.to_user_string() for parent in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }
    assert parents == {
        "raw_transactions": set(),
        "customer_features": {"raw_transactions"},
        "segmentation_model": {"customer_features"},
        "customer_segments": {"segmentation_model"},
        "segment_migration": {"customer_segments"},
        "segment_profiles": {"customer_segments", "segment_migration"},
        "segment_report": {"segment_profiles"},
        "published_marts": {"customer_features", "customer_segments", "segment_profiles"},
    }


def test_checks_are_blocking_and_described() -> None:
    graph = defs.resolve_asset_graph()
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    assert set(checks) >= {
        "raw_transactions_contract",
        "raw_transactions_accounting",
        "customer_features_contract",
        "customer_segments_contract",
    }
    for name, spec in checks.items():
        assert spec.blocking, name
        assert spec.description, name

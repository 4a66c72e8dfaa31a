"""The HTML report: every section present, every image a real PNG; plots in asset metadata."""

import re

import dagster as dg
import duckdb

from segmentation_pipeline.definitions import defs
from segmentation_pipeline.defs.reporting.assets import REPORT_FILE
from segmentation_pipeline.lib.reporting.report import SECTIONS
from segmentation_pipeline.lib.segments.drift import FIRST_DAY
from segmentation_pipeline.settings import Settings
from segmentation_pipeline_tests.support.reports import assert_pngs, parse_report


def test_report_has_every_section_and_every_image_decodes(materialised: Settings) -> None:
    sections = parse_report(materialised)
    assert list(sections) == list(SECTIONS)
    assert [section["title"] for section in sections.values()] == list(SECTIONS.values())
    with_figures = ["k-selection", "sizes", "profile-heatmap", "projection", "demographics"]
    for anchor in [*with_figures, "stability"]:
        assert len(sections[anchor]["images"]) == 1, anchor
    assert_pngs([source for section in sections.values() for source in section["images"]])

    with duckdb.connect(str(materialised.warehouse_path), read_only=True) as con:
        profiles = con.execute("SELECT * FROM marts.segment_profiles ORDER BY segment_id").df()
    for row in profiles.itertuples():
        assert (
            f"Segment {row.segment_id}: {row.segment_name}"
            in sections["recommended-actions"]["text"]
        )
        assert len(row.distinguishing_features) == 5
        for explanation in row.distinguishing_features:
            assert re.fullmatch(r"\S+ [+-]\d+\.\d\d sd", explanation)
            assert explanation in sections["distinguishing-features"]["text"]
        for action in row.recommended_actions:
            assert action in sections["recommended-actions"]["text"]
    assert "First model" in sections["model"]["text"]
    assert "Mean Jaccard" in sections["stability"]["text"]
    # One data day scored so far: drift and migration say there is nothing to compare yet.
    assert FIRST_DAY in sections["drift"]["text"] and not sections["drift"]["images"]
    assert "no migration to show yet" in sections["migration"]["text"]
    assert not sections["migration"]["images"]


def test_text_from_the_data_is_escaped(
    materialised: Settings, instance: dg.DagsterInstance
) -> None:
    """A segment name carrying markup shows as text (headings, tables), never as markup."""
    name = '<script>alert("segment")</script> & <b>friends</b>'
    with duckdb.connect(str(materialised.warehouse_path)) as con:
        con.execute(
            "UPDATE marts.segment_profiles SET segment_name = ? WHERE segment_id = 0", [name]
        )
    result = defs.resolve_job_def("segmentation_job").execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("segment_report")]
    )
    assert result.success

    page = (materialised.reports_dir / REPORT_FILE).read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<b>" not in page
    sections = parse_report(materialised)
    assert f"Segment 0: {name}" in sections["recommended-actions"]["text"]
    assert name in sections["sizes"]["text"]  # the sizes table, escaped by pandas


def test_report_reuses_the_plots_of_its_run_and_draws_the_others(
    materialised: Settings, instance: dg.DagsterInstance
) -> None:
    """With the profiles in the same run, their three plots are taken from its metadata; the
    report alone (nothing drawn in its run) draws every figure itself, as valid PNGs."""
    job = defs.resolve_job_def("segmentation_job")
    for assets, reused in ((["segment_profiles", "segment_report"], 3), (["segment_report"], 0)):
        result = job.execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey(asset) for asset in assets]
        )
        assert result.success
        (report,) = result.asset_materializations_for_node("segment_report")
        assert report.metadata["images_reused"].value == reused
        assert report.metadata["images"].value == 6
        sections = parse_report(materialised)
        for anchor in ["k-selection", "sizes", "profile-heatmap", "projection", "demographics"]:
            assert len(sections[anchor]["images"]) == 1, anchor
        assert_pngs([source for section in sections.values() for source in section["images"]])

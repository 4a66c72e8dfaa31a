"""The HTML report: every section present, every image a real PNG; plots in asset metadata."""

import base64
import io
import re
from html.parser import HTMLParser

import dagster as dg
import duckdb
from matplotlib import image

from segmentation_pipeline.definitions import defs
from segmentation_pipeline.quality.drift import FIRST_DAY
from segmentation_pipeline.reporting.assets import REPORT_FILE
from segmentation_pipeline.reporting.report import SECTIONS
from segmentation_pipeline.settings import Settings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")


class ReportSections(HTMLParser):
    """Section ids in order, with each section's heading, image sources and text."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict] = {}
        self._current: dict | None = None
        self._in_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "section":
            self._current = self.sections[attributes["id"]] = {
                "title": "",
                "images": [],
                "text": "",
            }
        elif self._current is not None and tag == "img":
            self._current["images"].append(attributes["src"])
        self._in_heading = tag == "h2"

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._current = None
        if tag == "h2":
            self._in_heading = False

    def handle_data(self, data: str) -> None:
        if self._current is None:
            return
        self._current["title" if self._in_heading else "text"] += data


def parse_report(settings: Settings) -> dict[str, dict]:
    parser = ReportSections()
    parser.feed((settings.reports_dir / REPORT_FILE).read_text(encoding="utf-8"))
    return parser.sections


def assert_pngs(sources: list[str]) -> None:
    """Each data URI (or Markdown image) decodes to a PNG that matplotlib reads."""
    assert sources
    for source in sources:
        (encoded,) = DATA_URI.findall(source)
        png = base64.b64decode(encoded, validate=True)
        assert png.startswith(PNG_SIGNATURE)
        height, width, _ = image.imread(io.BytesIO(png), format="png").shape
        assert height > 100 and width > 100


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

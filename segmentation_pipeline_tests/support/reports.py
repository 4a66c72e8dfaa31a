"""Reading `segment_report.html` back: its sections, and the PNGs it embeds."""

import base64
import io
import re
from html.parser import HTMLParser

from matplotlib import image

from segmentation_pipeline.defs.reporting.assets import REPORT_FILE
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

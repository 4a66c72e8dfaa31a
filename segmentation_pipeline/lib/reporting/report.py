"""The segment report: one self-contained HTML file (images embedded as base64 PNG).

The markup lives in Jinja2 templates shipped with the package (`templates/`): the page in
`segment_report.html.j2`, the building blocks of the sections as macros in `sections.html.j2`.
`render_report` lays out the sections of SECTIONS, in order, from bodies built by the
`*_section` functions; every section is always present, saying so when it has nothing yet
(e.g. drift before the second data day). Autoescaping is on: text is escaped, and only HTML
made here (figures, tables, section bodies) is passed through, marked with `Markup`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

SECTIONS: dict[str, str] = {
    "model": "Model version and lineage",
    "k-selection": "How the number of segments was chosen",
    "sizes": "Segment sizes and revenue shares",
    "profile-heatmap": "Profile heatmap",
    "projection": "Customers in two dimensions",
    "demographics": "Demographic mix",
    "distinguishing-features": "What distinguishes each segment",
    "recommended-actions": "Recommended actions",
    "stability": "Stability",
    "drift": "Drift since the previous data day",
    "migration": "Customer migration between segments",
}
PAGE_TEMPLATE = "segment_report.html.j2"
SECTIONS_TEMPLATE = "sections.html.j2"


@cache
def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the render, not blanks a cell
        keep_trailing_newline=True,
    )


def _macros() -> Any:
    """The macros of the sections template, callable from Python; each returns Markup."""
    return templates().get_template(SECTIONS_TEMPLATE).module


def readable_number(value: float) -> str:
    """Large figures in full with thousands separators, small ones to 4 significant digits."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def html_table(frame: pd.DataFrame) -> Markup:
    # pandas escapes every cell (escape=True), so the table is safe to pass through as HTML.
    return Markup(frame.to_html(index=False, border=0, float_format=readable_number))


def per_segment_lists(profiles: pd.DataFrame, column: str) -> Markup:
    """A heading per segment and the items of its list column (explanations, actions)."""
    segments = [
        (int(row.segment_id), row.segment_name, [str(item) for item in getattr(row, column)])
        for row in profiles.itertuples()
    ]
    return _macros().per_segment_lists(segments)


def model_section(card: Mapping[str, Any], scored_by: pd.DataFrame) -> Markup:
    window = card["data_window"]
    lineage = card.get("lineage") or {}
    names = card["segment_names"]
    facts = [
        f"Version {card['version']}, fitted {card.get('fitted_at', 'unknown')} "
        f"({card.get('refit_reason', 'reason not recorded')}).",
        f"Trained on {card['rows']:,} customers, data {window['first_day']}..{window['last_day']};"
        f" K = {card['k']} ({card['k_chosen_by']}).",
    ]
    if lineage.get("previous_version"):
        facts.append(
            f"Refitted from {lineage['previous_version']}: {len(lineage['matched'])} segments "
            f"kept their id and name, new: {lineage['new'] or 'none'}, "
            f"retired: {lineage['retired'] or 'none'}."
        )
    else:
        facts.append("First model: segments numbered by average spend, 0 = highest.")
    matched = pd.DataFrame(
        [
            {"segment_id": int(segment), "name": names[segment], **moved}
            for segment, moved in lineage.get("matched", {}).items()
        ]
    )
    return _macros().model_section(
        facts, html_table(matched) if len(matched) else "", html_table(scored_by)
    )


def figure_section(figures: Iterable[str], *tables: pd.DataFrame, note: str = "") -> Markup:
    """Figures (already HTML), then an optional note (a verdict, how to read) and tables."""
    return _macros().figure_section(
        [Markup(figure) for figure in figures],  # `Plot.html()`: markup with escaped titles
        [html_table(table) for table in tables],
        note,
    )


def render_report(bodies: Mapping[str, str], subtitle: str) -> str:
    """The whole page: title, navigation, then every section of SECTIONS in order.

    `bodies` are HTML, as the `*_section` functions build them; `subtitle` is text.
    """
    missing = set(SECTIONS) - set(bodies)
    if missing:
        raise ValueError(f"report sections without a body: {sorted(missing)}")
    return (
        templates()
        .get_template(PAGE_TEMPLATE)
        .render(
            sections=SECTIONS,
            bodies={anchor: Markup(body) for anchor, body in bodies.items()},
            subtitle=subtitle,
            generated=datetime.now(UTC).isoformat(timespec="seconds"),
        )
    )

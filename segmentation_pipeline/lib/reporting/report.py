"""The segment report: one self-contained HTML file (images embedded as base64 PNG).

`render_report` lays out the sections of SECTIONS, in order, from bodies built by the
`*_section` functions; every section is always present, saying so when it has nothing yet
(e.g. drift before the second data day).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

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
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccc; padding-top: 1rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; }
figure { margin: 0.5rem 0; } img { max-width: 100%; } .note { font-weight: bold; }
nav a { margin-right: 0.8rem; }
"""


def readable_number(value: float) -> str:
    """Large figures in full with thousands separators, small ones to 4 significant digits."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def html_table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, float_format=readable_number)


def paragraph(text: str, css_class: str = "") -> str:
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<p{attribute}>{html.escape(text)}</p>"


def bullet_list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(str(item))}</li>" for item in items) + "</ul>"


def per_segment_lists(profiles: pd.DataFrame, column: str) -> str:
    """A heading per segment and the items of its list column (explanations, actions)."""
    return "".join(
        f"<h3>Segment {int(row.segment_id)}: {html.escape(row.segment_name)}</h3>"
        + bullet_list(getattr(row, column))
        for row in profiles.itertuples()
    )


def model_section(card: Mapping[str, Any], scored_by: pd.DataFrame) -> str:
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
    return (
        bullet_list(facts)
        + (paragraph("Centroid shift of kept segments (moved <= limit):") if len(matched) else "")
        + (html_table(matched) if len(matched) else "")
        + paragraph("Model versions that scored today's customers:")
        + html_table(scored_by)
    )


def figure_section(figures: Iterable[str], *tables: pd.DataFrame, note: str = "") -> str:
    """Figures (already HTML), then an optional note (a verdict, how to read) and tables."""
    return (
        "".join(figures)
        + (paragraph(note, "note") if note else "")
        + "".join(html_table(table) for table in tables)
    )


def render_report(bodies: Mapping[str, str], subtitle: str) -> str:
    """The whole page: title, navigation, then every section of SECTIONS in order."""
    missing = set(SECTIONS) - set(bodies)
    if missing:
        raise ValueError(f"report sections without a body: {sorted(missing)}")
    navigation = "".join(
        f'<a href="#{anchor}">{html.escape(title)}</a>' for anchor, title in SECTIONS.items()
    )
    sections = "".join(
        f'<section id="{anchor}"><h2>{html.escape(title)}</h2>{bodies[anchor]}</section>'
        for anchor, title in SECTIONS.items()
    )
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Customer segments</title><style>{STYLE}</style></head><body>"
        f"<h1>Customer segments</h1>{paragraph(f'{subtitle}. Generated {generated}.')}"
        f"<nav>{navigation}</nav>{sections}</body></html>"
    )

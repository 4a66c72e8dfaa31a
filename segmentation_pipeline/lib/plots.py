"""Plots rendered to PNG and embedded as base64, so they show in the Dagster UI and in HTML.

Each function returns a `Plot`: the same picture goes into asset metadata
(`defs.metadata.plot_metadata`) and into `reports/segment_report.html` (`.html()`). A segment
keeps its colour in every plot: the colour follows the segment id, which itself carries over
between model versions.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Customers drawn in the projection: enough to see the shapes, small enough for a light PNG.
PROJECTION_SAMPLE = 2000
# Customers the projection is fitted on: a sample, so the plot costs the same at any scale.
PROJECTION_CUSTOMERS = 5000
# A plot as `Plot.metadata()` writes it into asset or check metadata.
PLOT_MARKDOWN = re.compile(
    r"!\[(?P<title>[^\]]*)\]\(data:image/png;base64,(?P<png>[A-Za-z0-9+/=]+)\)"
)


@dataclass(frozen=True)
class Plot:
    title: str
    png_base64: str

    def markdown(self) -> str:
        return f"![{self.title}](data:image/png;base64,{self.png_base64})"

    @classmethod
    def from_metadata(cls, value: object) -> Plot | None:
        """The plot in a metadata value (as `defs.metadata.plot_metadata` wrote it), or None."""
        match = PLOT_MARKDOWN.fullmatch(str(getattr(value, "value", value)))
        return cls(match["title"], match["png"]) if match else None

    def html(self) -> str:
        title = html.escape(self.title)
        return (
            f'<figure><img alt="{title}" src="data:image/png;base64,{self.png_base64}">'
            f"<figcaption>{title}</figcaption></figure>"
        )


def _new_figure(columns: int = 1, width: float = 5.0, height: float = 3.4) -> tuple[Figure, list]:
    # Headless backend, imported lazily: matplotlib is only needed when a plot is drawn.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, columns, figsize=(width * columns, height), squeeze=False)
    return figure, list(axes[0])


def _plot(figure: Figure, title: str) -> Plot:
    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return Plot(title, base64.b64encode(buffer.getvalue()).decode("ascii"))


def segment_colour(segment_id: int) -> tuple[float, ...]:
    from matplotlib import colormaps

    return colormaps["tab10"](int(segment_id) % 10)


def _segment_labels(segment_ids: Sequence[int]) -> list[str]:
    return [f"segment {int(segment)}" for segment in segment_ids]


def k_selection_plot(k_table: pd.DataFrame) -> Plot:
    """Gap statistic, CH, DB and silhouette (with the references' silhouette) against K, the
    chosen K marked."""
    figure, axes = _new_figure(columns=4, width=3.2)
    chosen = int(k_table.loc[k_table["chosen"], "k"].iloc[0])
    # Model cards written before the gap statistic or the references' silhouette lack them.
    k_table = k_table.reindex(columns=k_table.columns.union(["gap", "reference_silhouette"]))
    panels = {
        "gap": ["gap"],
        "calinski harabasz": ["calinski_harabasz"],
        "davies bouldin": ["davies_bouldin"],
        "silhouette (dotted: references)": ["silhouette", "reference_silhouette"],
    }
    for axis, (title, columns) in zip(axes, panels.items(), strict=True):
        for column, style in zip(columns, ["-", ":"], strict=False):
            axis.plot(k_table["k"], k_table[column], marker="o", linestyle=style)
        axis.axvline(chosen, color="tab:red", linestyle="--", linewidth=1)
        axis.set_title(title)
        axis.set_xlabel("K")
    return _plot(figure, "K selection")


def _paired_bars(
    segment_ids: pd.Series, light: pd.Series, outlined: pd.Series, ylabel: str, subtitle: str
) -> Figure:
    """Two bars per segment in the segment's colour: one light, one outlined."""
    figure, (axis,) = _new_figure(width=7)
    positions = np.arange(len(segment_ids))
    colours = [segment_colour(segment) for segment in segment_ids]
    axis.bar(positions - 0.2, light, 0.4, color=colours, alpha=0.5)
    axis.bar(positions + 0.2, outlined, 0.4, color=colours, edgecolor="black")
    axis.set_xticks(positions, _segment_labels(segment_ids))
    axis.set_ylabel(ylabel)
    axis.set_title(subtitle)
    return figure


def segment_sizes_plot(profiles: pd.DataFrame) -> Plot:
    """Share of customers and share of revenue per segment, side by side."""
    figure = _paired_bars(
        profiles["segment_id"],
        profiles["customer_share"],
        profiles["revenue_share"],
        "share",
        "customers (light) and revenue (outlined) per segment",
    )
    return _plot(figure, "Segment sizes and revenue shares")


def profile_heatmap_plot(differences: pd.DataFrame) -> Plot:
    """Standardised differences (segment mean - overall mean) / overall std, features x segments."""
    figure, (axis,) = _new_figure(width=max(5.0, 1.1 * len(differences) + 3), height=7)
    values = differences.T.to_numpy(dtype=float)
    limit = max(float(np.nanmax(np.abs(values))), 0.5)
    image = axis.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    axis.set_xticks(range(len(differences)), _segment_labels(differences.index))
    axis.set_yticks(range(len(differences.columns)), list(differences.columns), fontsize=7)
    figure.colorbar(image, ax=axis, label="standard deviations from all customers")
    axis.set_title("profile of each segment")
    return _plot(figure, "Profile heatmap")


def projection_plot(matrix: np.ndarray, segment_ids: np.ndarray, random_state: int) -> Plot:
    """Customers on the first two principal components of the model's space, by segment."""
    from sklearn.decomposition import PCA

    # Fewer than two customers or model columns: the projection has fewer axes; pad with zeros.
    axes = min(2, *matrix.shape)
    points = np.zeros((len(matrix), 2))
    points[:, :axes] = PCA(n_components=axes, random_state=random_state).fit_transform(matrix)
    shown = np.random.default_rng(random_state).permutation(len(points))[:PROJECTION_SAMPLE]
    figure, (axis,) = _new_figure(width=6, height=4.5)
    for segment in np.unique(segment_ids):
        members = shown[segment_ids[shown] == segment]
        axis.scatter(
            points[members, 0],
            points[members, 1],
            s=6,
            alpha=0.6,
            color=segment_colour(segment),
            label=f"segment {int(segment)}",
        )
    axis.set_xlabel("principal component 1")
    axis.set_ylabel("principal component 2")
    axis.legend(markerscale=3, fontsize=7)
    axis.set_title(f"{len(shown):,} of {len(points):,} customers")
    return _plot(figure, "2-D projection (PCA) of customers by segment")


def demographic_mix_plot(members: pd.DataFrame, attributes: Sequence[str]) -> Plot:
    """Per segment, the share of each value of each demographic attribute (stacked bars)."""
    from matplotlib import colormaps

    figure, axes = _new_figure(columns=len(attributes), width=3.6)
    for axis, attribute in zip(axes, attributes, strict=True):
        shares = pd.crosstab(members["segment_id"], members[attribute].astype(str), normalize=0)
        bottom = np.zeros(len(shares))
        palette = colormaps["viridis"](np.linspace(0.1, 0.9, len(shares.columns)))
        for colour, value in zip(palette, shares.columns, strict=True):
            axis.bar(_segment_labels(shares.index), shares[value], bottom=bottom, color=colour)
            bottom += shares[value].to_numpy()
        axis.legend(shares.columns, fontsize=6, title=attribute, title_fontsize=7)
        axis.tick_params(axis="x", labelrotation=45, labelsize=7)
        axis.set_title(attribute.replace("_", " "))
    return _plot(figure, "Demographic mix per segment")


def stability_plot(per_segment: pd.DataFrame, ari: Sequence[float], bands: Sequence[float]) -> Plot:
    """Mean Jaccard per segment (lowest to highest as a bar) against the `bands`' lower
    bounds (Hennig's, lowest first), and ARI."""
    figure, (left, right) = _new_figure(columns=2, width=4.6)
    positions = np.arange(len(per_segment))
    left.bar(
        positions,
        per_segment["mean_jaccard"],
        color=[segment_colour(segment) for segment in per_segment["segment_id"]],
        yerr=[
            per_segment["mean_jaccard"] - per_segment["min_jaccard"],
            per_segment["max_jaccard"] - per_segment["mean_jaccard"],
        ],
        capsize=3,
    )
    for level, style in zip(bands, (":", "--", "-"), strict=False):
        left.axhline(level, color="grey", linestyle=style, linewidth=1)
    left.set_xticks(positions, _segment_labels(per_segment["segment_id"]), rotation=30)
    left.set_ylim(0, 1.05)
    left.set_title(f"Jaccard per segment ({' / '.join(f'{band:g}' for band in bands)})")
    right.hist(ari, bins=np.linspace(0, 1, 21), color="tab:blue")
    right.set_xlabel("adjusted Rand index")
    right.set_title(f"ARI over {len(ari)} subsamples")
    return _plot(figure, "Segment stability")


def segment_drift_plot(shares: pd.DataFrame) -> Plot:
    """Share of customers per segment in the previous and the current scoring."""
    figure = _paired_bars(
        shares["segment_id"],
        shares["previous_share"],
        shares["current_share"],
        "share of customers",
        "previous (light) and current (outlined) scoring",
    )
    return _plot(figure, "Segment shares, previous vs current")


def feature_drift_plot(psi: pd.DataFrame, moderate: float, significant: float) -> Plot:
    """Population stability index per feature against the moderate and significant thresholds."""
    figure, (axis,) = _new_figure(width=7)
    axis.barh(psi["feature"], psi["psi"], color="tab:purple")
    axis.axvline(moderate, color="grey", linestyle="--", linewidth=1)
    axis.axvline(significant, color="tab:red", linestyle="--", linewidth=1)
    axis.set_xlabel(f"PSI ({moderate:g} moderate, {significant:g} significant)")
    axis.set_title("feature drift since the previous scoring")
    return _plot(figure, "Feature drift (PSI)")


def migration_heatmap_plot(matrices: dict[str, pd.DataFrame]) -> Plot:
    """Per period, from-segment (rows) x to-segment (columns): colour = share of the row's
    customers, text = customers."""
    figure, axes = _new_figure(columns=len(matrices), width=5.5, height=4.2)
    for axis, (period, counts) in zip(axes, matrices.items(), strict=True):
        shares = counts.div(counts.sum(axis=1), axis=0).to_numpy(dtype=float)
        axis.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for row, column in np.ndindex(shares.shape):
            axis.text(
                column,
                row,
                f"{int(counts.iat[row, column]):,}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if shares[row, column] > 0.6 else "black",
            )
        axis.set_xticks(range(len(counts.columns)), counts.columns, rotation=30, ha="right")
        axis.set_yticks(range(len(counts.index)), counts.index)
        axis.tick_params(labelsize=7)
        axis.set_xlabel("segment now")
        axis.set_ylabel("segment before")
        axis.set_title(f"over {period} (colour: share of the row)")
    return _plot(figure, "Customer migration between segments")

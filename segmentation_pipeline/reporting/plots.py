"""Plots rendered to PNG and embedded as base64, so they show in the Dagster UI and in HTML."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _new_figure(columns: int = 1, width: float = 5.0) -> tuple[Figure, list]:
    # Headless backend, imported lazily: matplotlib is only needed when a plot is drawn.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, columns, figsize=(width * columns, 3.4), squeeze=False)
    return figure, list(axes[0])


def figure_png_base64(figure: Figure) -> str:
    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def markdown_image(figure: Figure, title: str) -> str:
    return f"![{title}](data:image/png;base64,{figure_png_base64(figure)})"


def k_selection_plot(k_table: pd.DataFrame) -> str:
    """Inertia, CH, DB and silhouette against K, the chosen K marked; as a Markdown image."""
    figure, axes = _new_figure(columns=4, width=3.2)
    chosen = int(k_table.loc[k_table["chosen"], "k"].iloc[0])
    for axis, column in zip(
        axes, ["inertia", "calinski_harabasz", "davies_bouldin", "silhouette"], strict=True
    ):
        axis.plot(k_table["k"], k_table[column], marker="o")
        axis.axvline(chosen, color="tab:red", linestyle="--", linewidth=1)
        axis.set_title(column.replace("_", " "))
        axis.set_xlabel("K")
    return markdown_image(figure, "K selection")

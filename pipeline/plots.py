"""Review plots (matplotlib, PNG): ROC, KS, calibration, score distributions, grades."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter
from sklearn.metrics import roc_auc_score, roc_curve

from pipeline.io import atomic_path

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei")


@cache
def cjk_font() -> str | None:
    """The first CJK font matplotlib finds on this machine (Debian: ``fonts-noto-cjk``),
    also when its font cache was made before the fonts were installed."""
    from matplotlib import font_manager

    def first() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((n for n in CJK_FONTS if n in names), None)

    if first() is None:
        for path in font_manager.findSystemFonts():
            if any(k in Path(path).name for k in ("CJK", "SourceHanSans", "wqy-zenhei")):
                font_manager.fontManager.addfont(path)
    return first()


@contextmanager
def language(lang: str) -> Iterator[bool]:
    """Draw (and save) figures for a page in ``lang``: for Chinese, with a CJK font. Yields
    whether the figures can hold the language's labels (False for Chinese on a machine
    without a CJK font: label those figures in English rather than with empty boxes)."""
    font = cjk_font() if lang == "zh" else None
    if lang != "zh":
        yield True
    elif font is None:
        yield False
    else:
        rc = {"font.family": "sans-serif", "font.sans-serif": [font], "axes.unicode_minus": False}
        with plt.rc_context(rc):
            yield True


def save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        # No metadata (software version): the same figure gives the same bytes anywhere.
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def roc(y: np.ndarray, scores: dict[str, np.ndarray], title: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for label, s in scores.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=f"{label} (AUC {roc_auc_score(y, s):.3f})")
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def ks(y: np.ndarray, scores: dict[str, np.ndarray], title: str) -> plt.Figure:
    fig, axes = plt.subplots(1, len(scores), figsize=(5 * len(scores), 4), squeeze=False)
    for ax, (label, s) in zip(axes[0], scores.items(), strict=True):
        grid = np.quantile(s, np.linspace(0, 1, 201))
        bad = np.searchsorted(np.sort(s[y == 1]), grid, side="right") / max((y == 1).sum(), 1)
        good = np.searchsorted(np.sort(s[y == 0]), grid, side="right") / max((y == 0).sum(), 1)
        i = int(np.argmax(np.abs(good - bad)))
        ax.plot(grid, good, label="non-defaults")
        ax.plot(grid, bad, label="defaults")
        ax.vlines(
            grid[i],
            min(good[i], bad[i]),
            max(good[i], bad[i]),
            colors="k",
            ls="--",
            label=f"KS {abs(good[i] - bad[i]):.3f}",
        )
        ax.set(
            title=f"{label}: {title}",
            xlabel="risk score (higher = riskier)",
            ylabel="cumulative share",
        )
        ax.legend(fontsize=8)
    return fig


def calibration(tables: dict[str, pd.DataFrame], title: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = 0.0
    for label, t in tables.items():
        ax.plot(t["mean_pd"], t["observed_dr"], marker="o", label=label)
        top = max(top, t["mean_pd"].max(), t["observed_dr"].max())
    ax.plot([0, top], [0, top], ls=":", c="grey", label="perfect calibration")
    ax.set(xlabel="mean predicted PD (decile)", ylabel="observed default rate", title=title)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.legend(fontsize=8, loc="upper left")
    return fig


def score_distribution(y: np.ndarray, scores: dict[str, np.ndarray], title: str) -> plt.Figure:
    fig, axes = plt.subplots(1, len(scores), figsize=(5 * len(scores), 4), squeeze=False)
    for ax, (label, s) in zip(axes[0], scores.items(), strict=True):
        bins = np.histogram_bin_edges(s, bins=40)
        ax.hist(s[y == 0], bins=bins, alpha=0.6, density=True, label="non-defaults")
        ax.hist(s[y == 1], bins=bins, alpha=0.6, density=True, label="defaults")
        ax.set(title=f"{label}: {title}", xlabel=label, ylabel="density")
        ax.legend(fontsize=8)
    return fig


def grades(table: pd.DataFrame, title: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(table))
    ax.bar(x, table["n"], color="#c7d7e8", label="applicants")
    ax.set_ylabel("applicants")
    ax.set_xticks(x, table["grade"].astype(str))
    ax.set_xlabel("grade (1 = best)")
    ax2 = ax.twinx()
    ax2.plot(x, table["observed_dr"], marker="o", c="#c0392b", label="observed default rate")
    ax2.plot(x, table["mean_pd"], marker="s", ls="--", c="#2c3e50", label="mean PD")
    ax2.set_ylabel("default rate / PD")
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax2.set_ylim(bottom=0)
    # One legend for both axes, below the plot: never over a bar or a point.
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8)
    ax.set_title(title)
    return fig


def data_uri(fig: plt.Figure) -> str:
    """A PNG data URI of the figure, to inline in a self-contained HTML page."""
    import base64
    import io

    buf = io.BytesIO()
    # No metadata (software version): the same figure gives the same bytes anywhere.
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def distributions(
    expected: np.ndarray,
    actual: np.ndarray,
    label: str,
    names: tuple[str, str] = ("development", "batch"),
    ylabel: str = "density",
    title: str | None = None,
) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    both = np.concatenate([expected[np.isfinite(expected)], actual[np.isfinite(actual)]])
    bins = np.histogram_bin_edges(both, bins=40)
    ax.hist(expected, bins=bins, alpha=0.55, density=True, label=names[0])
    ax.hist(actual, bins=bins, alpha=0.55, density=True, label=names[1])
    ax.set(xlabel=label, ylabel=ylabel, title=title or f"{label}: {names[0]} vs {names[1]}")
    ax.legend(fontsize=8)
    return fig


def hbars(
    labels: list[str],
    values: list[float],
    title: str,
    xlabel: str,
    lines: tuple[float, ...] = (),
    line_labels: tuple[str, ...] = (),
) -> plt.Figure:
    """Horizontal bars; ``lines`` are thresholds drawn and named (``line_labels``, else the
    value) in a legend outside the bars."""
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(labels) + 1.2))
    y = np.arange(len(labels))[::-1]
    ax.barh(y, values, color="#5b8db8")
    ax.set_yticks(y, labels, fontsize=8)
    styles = ("--", ":", "-.")
    for i, x in enumerate(lines):
        name = line_labels[i] if i < len(line_labels) else f"{x:g}"
        ax.axvline(x, ls=styles[i % len(styles)], c="#c0392b", lw=1, label=name)
    ax.set(title=title, xlabel=xlabel)
    if lines:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig

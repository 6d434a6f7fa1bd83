"""Figures of the benchmark summaries: learning curves and the labels-to-match headline.

Kept apart from :mod:`skepinet.benchmarks.report` (numbers) so that the
numbers need no matplotlib; every function returns ``None`` without it.
"""

import math
from pathlib import Path

import numpy as np

from .report import format_ratio

__all__ = ["pyplot_or_none", "save_figure", "plot_curves", "plot_headline", "plot_savings"]


def pyplot_or_none():
    """matplotlib's pyplot on the Agg backend, or ``None`` when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(plt, fig, path):
    """Lay out, write (folders created) and close a matplotlib figure; return ``path``."""
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_curves(path, title, agents, baseline, metric, *, ylabel=None, n_pool=None):
    """Learning curves with one-standard-error bands, and the baseline's (paper Figures 2-5).

    Returns the path written, or ``None`` without matplotlib.
    """
    plt = pyplot_or_none()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    scale = 1.0 / n_pool if n_pool else 1.0
    for name, curve in agents.items():
        x = np.array([r["labels"] for r in curve]) * scale
        y = np.array([r[metric] for r in curve])
        se = np.nan_to_num(np.array([r[f"{metric}_se"] for r in curve]))
        style = "-" if "variance" in name or "bald" in name else "--"
        (line,) = ax.plot(x, y, style, label=name, lw=1.6)
        ax.fill_between(x, y - se, y + se, color=line.get_color(), alpha=0.15, lw=0)
    if baseline:
        x = np.array([r["labels"] for r in baseline]) * scale
        y = np.array([r[metric] for r in baseline])
        se = np.nan_to_num(np.array([r[f"{metric}_se"] for r in baseline]))
        ax.errorbar(x, y, yerr=se, fmt="o-", color="black", lw=2, ms=4, capsize=2,
                    label="baseline (tuned, random labels)")
        ax.axhline(y[-1], color="black", ls=":", lw=1)
    ax.set_xlabel("fraction of the budget labelled" if n_pool else "labels used")
    ax.set_ylabel(ylabel or metric.replace("_", " "))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # a sweep without agents may draw nothing
        ax.legend(fontsize=7, ncol=2)
    return save_figure(plt, fig, path)


def plot_headline(path, table, title):
    """Bar chart of each agent's geometric-mean label ratio (paper Figure 6)."""
    plt = pyplot_or_none()
    if plt is None:
        return None
    items = sorted(table["geometric_mean"].items(), key=lambda kv: kv[1])
    if not items:
        return None
    names = [k for k, _ in items]
    finite = [v for _, v in items if math.isfinite(v)]
    cap = max(finite + [1.0]) * 1.15
    values = [v if math.isfinite(v) else cap for _, v in items]
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(items) + 1.2))
    bars = ax.barh(names, values, color=["tab:blue" if math.isfinite(v) else "tab:gray"
                                         for _, v in items])
    for bar, (_, v) in zip(bars, items):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + format_ratio(v),
                va="center", fontsize=8)
    ax.axvline(1.0, color="black", ls=":", lw=1)
    ax.set_xlim(0, cap * 1.15)
    ax.invert_yaxis()
    ax.set_xlabel("labels to match the tuned baseline / its labels (lower is better)")
    ax.set_title(title)
    return save_figure(plt, fig, path)


def plot_savings(path, title, entry):
    """Labels each agent needs to match the reference, against the reference's label count.

    ``entry`` is one task of :func:`~skepinet.benchmarks.savings.savings_table`.
    Points where an agent never matches are left out, and the axis stops at
    1.6 (an agent needing more runs off the top: ``savings.csv`` has every
    ratio). Returns the path written, or ``None`` without matplotlib.
    """
    plt = pyplot_or_none()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, points in entry["agents"].items():
        x = np.array([p["labels"] for p in points], dtype=float)
        y = np.array([p["ratio"] for p in points], dtype=float)
        y[~np.isfinite(y)] = np.nan
        style = "-" if "variance" in name or "bald" in name else "--"
        ax.plot(x, y, style, marker="o", ms=3, label=name, lw=1.6)
    ax.axhline(1.0, color="black", lw=1, label=f"as many as {entry['reference']}")
    ax.axhline(0.5, color="grey", lw=1, ls=":", label="half")
    ax.set_xlabel(f"labels of {entry['reference']}")
    ax.set_ylabel(f"labels needed / labels of {entry['reference']}")
    ax.set_ylim(0, 1.6)
    ax.set_title(title, fontsize=10)
    if entry["agents"]:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(plt, fig, path)

"""Figures of claim verdicts: prediction against measurement, and z-scores.

All figures are :class:`matplotlib.figure.Figure` objects drawn on the Agg
canvas: nothing here imports ``matplotlib.pyplot``, selects a backend or opens
a window, so the functions are safe on a headless server and inside a user's
own plotting session alike. Save a figure with ``fig.savefig(path)``; its
size in pixels is ``fig.get_size_inches() * fig.dpi`` (no tight bounding box).

- :func:`plot_sweep` draws a prediction and a measurement with error bars
  along a swept parameter, on an Axes of the caller's;
- :func:`z_summary_figure` shows the z-score of every verdict, grouped by claim;
- :func:`claim_figure` is one claim's figure: a :func:`plot_sweep` panel per
  swept series of its rows, and their z-scores;
- :func:`write_figures` writes the summary and every claim's figure as PNG.

Examples
--------
>>> from matplotlib.figure import Figure
>>> fig = Figure(figsize=(4, 3), dpi=100)
>>> ax = fig.add_subplot()
>>> plot_sweep(ax, [2, 4, 8], predicted=[1.0, 2.0, 4.0], measured=[1.1, 1.9, 4.2],
...            stderr=[0.1, 0.1, 0.2], x_label="d", y_label="log V")
>>> len(ax.lines) > 0
True
"""
import math
import os
import textwrap

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.verdict import Z_THRESHOLD

__all__ = ["plot_sweep", "z_summary_figure", "claim_figure", "sweep_series", "write_figures", "figure_name",
           "VERDICT_COLOURS", "DPI", "Z_LIMIT"]

#: Resolution of the figures :func:`write_figures` saves (pixels per inch).
DPI = 100
#: z-scores beyond +-Z_LIMIT are drawn at the edge of the axis, as triangles.
Z_LIMIT = 10.0
#: Colour of each verdict.
VERDICT_COLOURS = {
    "confirmed": "#1a7f37",
    "as expected (disagrees)": "#0969da",
    "reported (no test)": "#8c959f",
    "refuted": "#cf222e",
    "unexpectedly agrees": "#bf8700",
}
_WIDTH = 10.0  # inches
_LEGEND = 2.0  # inches right of a z panel, for its legend


def _figure(height):
    """A figure _WIDTH inches wide; axes are placed in inches (:func:`_axes`), not by a layout engine,
    which would draw every figure twice."""
    fig = Figure(figsize=(_WIDTH, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _axes(fig, left, bottom, width, height):
    """Axes at a rectangle given in inches from the figure's lower-left corner."""
    w, h = fig.get_size_inches()
    return fig.add_axes((left / w, bottom / h, width / w, height / h))


def plot_sweep(ax, x, *, predicted, measured, stderr, x_label="", y_label="", title="", log_x=None,
               expect_agreement=True):
    """Prediction (line) and measurement with +-1 standard-error bars against a swept parameter.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    x, predicted, measured, stderr : array_like, same length
        The swept values, the predictions and the measurements with their
        standard errors; points are drawn in order of ``x``.
    x_label, y_label, title : str
    log_x : bool, optional
        Logarithmic x axis; default when every x > 0 and they span more than 20x.
    expect_agreement : bool
        False labels the line "prediction (expected to fail)".

    Returns
    -------
    matplotlib.axes.Axes
    """
    x, predicted, measured, stderr = (np.asarray(a, dtype=float) for a in (x, predicted, measured, stderr))
    if not x.shape == predicted.shape == measured.shape == stderr.shape or x.ndim != 1:
        raise ValueError(f"x, predicted, measured and stderr must be 1-d of one length, got shapes {x.shape}, "
                         f"{predicted.shape}, {measured.shape}, {stderr.shape}")
    order = np.argsort(x, kind="stable")
    x, predicted, measured, stderr = x[order], predicted[order], measured[order], stderr[order]
    label = "prediction" if expect_agreement else "prediction (expected to fail)"
    ax.plot(x, predicted, "-", marker="x", color="#57606a", label=label, zorder=2)
    ax.errorbar(x, measured, yerr=stderr, fmt="o", color="#0969da", ecolor="#0969da", capsize=3, markersize=4,
                label="measured +- SE", zorder=3)
    if log_x is None:
        log_x = bool(x.size and np.all(x > 0) and x.max() > 20 * x.min())
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    if title:
        ax.set_title("\n".join(textwrap.wrap(title, 50)), fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def sweep_series(verdicts):
    """Rows that form swept series: ``{(quantity, x_label): [rows sorted by x]}``, series of 2+ points only."""
    series = {}
    for v in verdicts:
        if v.x is not None and v.x_label:
            series.setdefault((v.quantity, v.x_label), []).append(v)
    return {key: sorted(rows, key=lambda v: v.x) for key, rows in series.items() if len(rows) > 1}


def _row_labels(verdicts):
    """"C3 #4": claim id and the row's number within its claim, as the report's tables number them."""
    counts, labels = {}, []
    for v in verdicts:
        counts[v.claim] = counts.get(v.claim, 0) + 1
        labels.append(f"{v.claim} #{counts[v.claim]}")
    return labels


def _draw_z(ax, verdicts, labels):
    n = len(verdicts)
    y = np.arange(n)[::-1]
    ax.axvspan(-Z_THRESHOLD, Z_THRESHOLD, color="#dafbe1", zorder=0)
    ax.axvline(0.0, color="#57606a", lw=0.8, zorder=1)
    groups, bars = {}, []
    for yi, v in zip(y, verdicts):
        z = v.z
        clipped = max(-Z_LIMIT, min(Z_LIMIT, z)) if not math.isnan(z) else 0.0
        marker = "o" if v.expect_agreement else "s"
        if abs(z) > Z_LIMIT:
            marker = ">" if z > 0 else "<"
        groups.setdefault((VERDICT_COLOURS[v.verdict], marker), []).append((clipped, yi))
        if v.is_test and v.z_threshold != Z_THRESHOLD:
            bars += [(-v.z_threshold, yi), (v.z_threshold, yi)]
    for (colour, marker), points in groups.items():  # one artist per group: drawing stays fast
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker=marker, color=colour, markersize=6, zorder=3, linestyle="none")
    if bars:
        xs, ys = zip(*bars)
        ax.plot(xs, ys, "|", color="#57606a", markersize=8, zorder=2)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(-Z_LIMIT - 0.8, Z_LIMIT + 0.8)
    ax.set_xlabel("z = (measured - predicted) / SE")
    ax.grid(axis="x", alpha=0.3)
    handles = [Line2D([], [], marker="o", color=c, linestyle="none", label=name)
               for name, c in VERDICT_COLOURS.items() if any(v.verdict == name for v in verdicts)]
    if not all(v.expect_agreement for v in verdicts):
        handles.append(Line2D([], [], marker="s", color="#57606a", linestyle="none",
                              label="prediction expected to fail"))
    if any(abs(v.z) > Z_LIMIT for v in verdicts):
        handles.append(Line2D([], [], marker=">", color="#57606a", linestyle="none", label=f"|z| > {Z_LIMIT:g}"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def z_summary_figure(verdicts, *, title="z-scores of all comparisons"):
    """Every verdict's z-score, one row each, grouped by claim.

    Circles are rows where theory predicts agreement, squares rows where the
    claim says the prediction fails; colour is the verdict. The shaded band
    is |z| < :data:`~analysis.verdict.Z_THRESHOLD`; bars mark a row's
    own threshold where it differs. Rows are labelled "C3 #4" (claim, row
    number within the claim), as in the report's tables.
    """
    verdicts = list(verdicts)
    if not verdicts:
        raise ValueError("verdicts must not be empty")
    axes_height = 0.2 * len(verdicts) + 0.2
    fig = _figure(axes_height + 1.0)
    ax = _axes(fig, 1.1, 0.6, _WIDTH - 1.1 - _LEGEND, axes_height)
    _draw_z(ax, verdicts, _row_labels(verdicts))
    previous = None
    for yi, v in zip(np.arange(len(verdicts))[::-1], verdicts):
        if previous is not None and v.claim != previous:
            ax.axhline(yi + 0.5, color="#d0d7de", lw=0.8)
        previous = v.claim
    ax.set_title(title, fontsize=10)
    return fig


def claim_figure(claim_id, verdicts, *, statement=""):
    """One claim's figure: a :func:`plot_sweep` panel per swept series, and the z-score of each row.

    Parameters
    ----------
    claim_id : str
    verdicts : sequence of Verdict
        Rows of any claims; those of ``claim_id`` are drawn.
    statement : str
        Shown, wrapped, as the figure's title.
    """
    rows = [v for v in verdicts if v.claim == claim_id]
    if not rows:
        raise ValueError(f"no verdicts of claim {claim_id!r} to plot")
    series = sweep_series(rows)
    n_grid = math.ceil(len(series) / 2)
    title = "\n".join(textwrap.wrap(f"{claim_id}: {statement}" if statement else claim_id, 130))
    title_height = 0.2 + 0.18 * (title.count("\n") + 1)
    z_height = 0.34 * len(rows) + 0.1
    sweep_height = 3.2  # per row of panels: 0.65 below for ticks and label, 0.55 above for a title
    height = title_height + sweep_height * n_grid + z_height + 0.7
    fig = _figure(height)
    fig.suptitle(title, fontsize=10, y=1 - 0.1 / height, va="top")
    for k, ((quantity, x_label), points) in enumerate(series.items()):
        bottom = height - title_height - sweep_height * (k // 2 + 1) + 0.65
        ax = _axes(fig, 0.8 + (k % 2) * _WIDTH / 2, bottom, _WIDTH / 2 - 1.1, sweep_height - 1.2)
        plot_sweep(ax, [v.x for v in points], predicted=[v.predicted for v in points],
                   measured=[v.measured for v in points], stderr=[v.stderr for v in points], x_label=x_label,
                   title=quantity, expect_agreement=all(v.expect_agreement for v in points))
    ax = _axes(fig, 3.4, 0.6, _WIDTH - 3.4 - _LEGEND, z_height)
    labels = [f"#{k + 1} " + textwrap.shorten(v.quantity, 48, placeholder="...") + "\n" +
              textwrap.shorten(v.regime, 48, placeholder="...") for k, v in enumerate(rows)]
    _draw_z(ax, rows, labels)
    for lab in ax.get_yticklabels():
        lab.set_fontsize(7)
    return fig


def figure_name(claim_id):
    """File name of a claim's figure: ``claim-<id>.png``."""
    return f"claim-{claim_id}.png"


def write_figures(verdicts, out_dir, *, statements=None):
    """Write ``z-scores.png`` and ``claim-<id>.png`` for every claim with rows; return ``{name: path}``.

    ``name`` is ``"z-scores"`` or the claim id; ``statements`` maps claim id
    to the statement shown in the claim's figure.
    """
    verdicts = list(verdicts)
    statements = statements or {}
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    if not verdicts:
        return paths
    jobs = [("z-scores", "z-scores.png", lambda: z_summary_figure(verdicts))]
    for claim_id in dict.fromkeys(v.claim for v in verdicts):
        jobs.append((claim_id, figure_name(claim_id),
                     lambda c=claim_id: claim_figure(c, verdicts, statement=statements.get(c, ""))))
    for name, file_name, make in jobs:
        path = os.path.join(out_dir, file_name)
        make().savefig(path, dpi=DPI)
        paths[name] = path
    return paths

"""The common plot of a study: a measured output against a swept parameter, beside theory.

Drawn with matplotlib's object-oriented API on an Agg canvas: no pyplot, no
window, whatever backend the user's session has chosen.
"""
import numpy as np

__all__ = ["plot_table", "FIGSIZE", "DPI"]

FIGSIZE = (6.4, 4.0)
DPI = 100


def _new_axes():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _predict(prediction, point):
    try:
        return float(prediction(point))
    except ValueError:  # outside the prediction's domain (e.g. a step past the stability limit): a gap
        return np.nan


def plot_table(table, *, x, y, hue=None, prediction=None, parameters=None, xscale=None, yscale=None,
               path=None, ax=None, title=None):
    """Plot column ``y`` (error bars from ``y + "_stderr"`` if present) against ``x``, a line per ``hue``.

    Parameters
    ----------
    table : pandas.DataFrame
        A study's tidy table (``Study.results()``).
    x, y : str
        Columns: a numeric parameter and an output.
    hue : str, optional
        A parameter column; one line per value.
    prediction : callable, optional
        ``prediction(point) -> float`` with ``point`` a dict from parameter
        name to value, the same dict the study function receives. Drawn dashed
        over a dense grid of ``x`` when the other parameters are fixed within a
        line, else at the measured points. Where it raises ``ValueError``
        (outside its domain) the curve has a gap.
    parameters : list of str, optional
        The parameter columns (default: every column that is neither ``y``,
        nor ``y_stderr``, nor any other output; ``Study.plot`` passes them).
    xscale, yscale : str, optional
        ``"log"`` or ``"linear"`` (default linear).
    path : str or path-like, optional
        Save the figure there (PNG, 640 x 400 pixels; the suffix picks the format).
    ax : matplotlib Axes, optional
        Draw there instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"h": [0.1, 0.2], "v": [1.05, 1.11], "v_stderr": [0.01, 0.01]})
    >>> fig = plot_table(t, x="h", y="v", prediction=lambda p: 1 / (1 - p["h"] / 2))
    >>> fig.axes[0].get_xlabel()
    'h'
    """
    for name, column in (("x", x), ("y", y), ("hue", hue)):
        if column is not None and column not in table.columns:
            raise ValueError(f"{name}={column!r} is not a column of the table; columns: {list(table.columns)}")
    if prediction is not None and not callable(prediction):
        raise ValueError(f"prediction must be callable (point dict -> float), got {prediction!r}")
    if parameters is None:
        parameters = [c for c in table.columns if c not in (y, f"{y}_stderr")]
    fixed = [p for p in parameters if p not in (x, hue)]
    if ax is None:
        fig, ax = _new_axes()
    else:
        fig = ax.figure
    groups = [(None, table)] if hue is None else list(table.groupby(hue, sort=True))
    stderr = f"{y}_stderr" if f"{y}_stderr" in table.columns else None
    for k, (value, rows) in enumerate(groups):
        rows = rows.sort_values(x)
        if rows[x].duplicated().any():
            varying = [p for p in fixed if rows[p].nunique() > 1]
            raise ValueError(f"several points share {x}={rows[x][rows[x].duplicated()].iloc[0]!r} in one line: "
                             f"parameter(s) {varying} vary too; pass hue=, or plot a selection of rows")
        color = f"C{k % 10}"
        label = y if hue is None else f"{hue}={value}"
        ax.errorbar(rows[x], rows[y], yerr=None if stderr is None else rows[stderr], fmt="o", color=color,
                    capsize=3, label=label)
        if prediction is None:
            continue
        constant = all(rows[p].nunique() <= 1 for p in fixed)
        if constant and np.issubdtype(rows[x].dtype, np.number) and len(rows) > 1:
            lo, hi = float(rows[x].min()), float(rows[x].max())
            xs = np.geomspace(lo, hi, 200) if xscale == "log" and lo > 0 else np.linspace(lo, hi, 200)
            base = {p: _plain(rows[p].iloc[0]) for p in parameters}
            if np.issubdtype(rows[x].dtype, np.integer):
                xs = np.unique(np.round(xs).astype(int))
            ys = [_predict(prediction, {**base, x: v.item()}) for v in xs]
        else:
            xs = rows[x].to_numpy()
            ys = [_predict(prediction, {p: _plain(rows[p].iloc[i]) for p in parameters}) for i in range(len(rows))]
        ax.plot(xs, ys, "--", color=color, label=None if hue is not None else "prediction")
    if prediction is not None and hue is not None:
        ax.plot([], [], "--", color="0.3", label="prediction")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if xscale:
        ax.set_xscale(xscale)
    if yscale:
        ax.set_yscale(yscale)
    if title:
        ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] == "prediction")  # measurements first
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize="small")
    if path is not None:
        fig.savefig(path, dpi=DPI)
    return fig

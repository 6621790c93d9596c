"""Figures of verdicts (analysis.plots): files exist, have the declared size, are not blank."""
import math
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from analysis.plots import (DPI, Z_LIMIT, claim_figure, figure_name, plot_sweep, sweep_series, write_figures,
                            z_summary_figure)
from analysis.verdict import Verdict


def _verdicts():
    rows = [Verdict("C11", "log(ball / cube)", -0.1 * d * d, -0.1 * d * d + 0.01, 0.02, f"d={d}", x=d, x_label="d")
            for d in (2, 3, 5)]
    rows += [Verdict("C9", "Sigma[00]", 1.0, 1.1, 0.05, "eta=0.005"),
             Verdict("C9", "ratio vs Gibbs", 4.0, 1.0, 0.01, "hessian noise", expect_agreement=False),
             Verdict("C9", "exact", 0.0, 1.0, 0.0, "deterministic"),
             Verdict("C9", "fit", 0.27, 0.26, 1e-6, "untested", z_threshold=math.inf)]
    return rows


def _ink_fraction(path):
    """Fraction of pixels that are not (nearly) white."""
    image = imread(path)[..., :3]
    return float(np.mean(np.any(image < 0.9, axis=-1)))


def test_write_figures_writes_summary_and_one_figure_per_claim_of_the_declared_size(tmp_path):
    verdicts = _verdicts()
    paths = write_figures(verdicts, tmp_path, statements={"C11": "The ball vanishes in the cube."})
    assert set(paths) == {"z-scores", "C11", "C9"}
    assert paths["C11"] == str(tmp_path / figure_name("C11")) == str(tmp_path / "claim-C11.png")
    expected = {"z-scores": z_summary_figure(verdicts), "C11": claim_figure("C11", verdicts),
                "C9": claim_figure("C9", verdicts)}
    for name, path in paths.items():
        height, width = imread(path).shape[:2]
        w_in, h_in = expected[name].get_size_inches()
        assert (width, height) == (round(w_in * DPI), round(h_in * DPI)), name
        assert 0.02 < _ink_fraction(path) < 0.6, name  # drawn on, and not a filled block


def test_figures_grow_with_the_number_of_rows():
    few, many = _verdicts()[:3], _verdicts() * 5
    assert z_summary_figure(many).get_size_inches()[1] > z_summary_figure(few).get_size_inches()[1]


def test_plot_sweep_draws_prediction_and_measurement_in_order_of_x():
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    plot_sweep(ax, [4, 1, 2], predicted=[40.0, 10.0, 20.0], measured=[41.0, 9.0, 21.0], stderr=[1.0, 0.5, 0.7],
               x_label="d", y_label="y", title="t")
    (line,) = ax.lines[:1]
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 4])
    np.testing.assert_array_equal(line.get_ydata(), [10.0, 20.0, 40.0])
    container = ax.containers[0]
    np.testing.assert_array_equal(container.lines[0].get_ydata(), [9.0, 21.0, 41.0])
    segments = container.lines[2][0].get_segments()
    np.testing.assert_allclose([s[1, 1] - s[0, 1] for s in segments], [1.0, 1.4, 2.0])  # 2 SE per bar
    assert ax.get_xscale() == "linear" and ax.get_xlabel() == "d"


def test_plot_sweep_uses_a_log_axis_for_wide_positive_ranges_and_rejects_ragged_input():
    ax = Figure().add_subplot()
    plot_sweep(ax, [1e-4, 1e-2, 1e-1], predicted=[1, 2, 3], measured=[1, 2, 3], stderr=[0.1] * 3)
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="shapes"):
        plot_sweep(Figure().add_subplot(), [1, 2], predicted=[1, 2, 3], measured=[1, 2], stderr=[1, 1])


def test_sweep_series_groups_rows_by_quantity_and_swept_parameter():
    rows = _verdicts() + [Verdict("C11", "log(ball / cube)", 0.0, 0.0, 1.0, "lonely", x=7, x_label="n")]
    series = sweep_series(rows)
    assert list(series) == [("log(ball / cube)", "d")]
    assert [v.x for v in series[("log(ball / cube)", "d")]] == [2, 3, 5]


def test_z_summary_clips_infinite_z_to_the_axis_edge():
    fig = z_summary_figure(_verdicts())
    ax = fig.axes[0]
    xs = [float(x) for line in ax.lines if line.get_linestyle() == "None" and line.get_marker() != "|"
          for x in line.get_xdata()]
    assert max(xs) == Z_LIMIT and min(xs) == -Z_LIMIT  # z = +inf (exact mismatch) and -300 (ratio)
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["C11 #1", "C11 #2"]


def test_claim_figure_rejects_a_claim_without_rows_and_empty_summaries():
    with pytest.raises(ValueError, match="C42"):
        claim_figure("C42", _verdicts())
    with pytest.raises(ValueError, match="empty"):
        z_summary_figure([])


def test_making_figures_never_imports_pyplot_or_changes_the_backend():
    script = ("import sys, matplotlib; before = matplotlib.get_backend(); "
              "from analysis.plots import z_summary_figure; from analysis.verdict import Verdict; "
              "z_summary_figure([Verdict('C1', 'q', 0.0, 1.0, 1.0, 'r')]).savefig(sys.argv[1]); "
              "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
              "assert matplotlib.get_backend() == before")
    result = subprocess.run([sys.executable, "-c", script, "/dev/null"], capture_output=True, text=True,
                            env={"MPLBACKEND": "TkAgg", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr

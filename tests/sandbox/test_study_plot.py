"""Study plots: the figure is written, has the documented size and is not blank."""
import numpy as np
import pandas as pd
import pytest

from sandbox.study import STUDY_FUNCTIONS, Study
from sandbox.study.plot import DPI, FIGSIZE, plot_table


def ula_variance(point):
    """Independent closed form: v = 2hT / (1 - (1 - h lam)^2)."""
    h, lam, temp = point["step_size"], point["lam"], point["temperature"]
    if h * lam >= 2:
        raise ValueError("no stationary law")
    return 2 * h * temp / (1 - (1 - h * lam) ** 2)


def read_png(path):
    from matplotlib.image import imread

    return imread(path)


def test_study_plot_writes_a_non_blank_png_of_the_documented_size(tmp_path):
    fn = STUDY_FUNCTIONS["langevin_variance"]
    points = [fn.complete({"lam": 1.0, "step_size": h, "temperature": t, "n_chains": 300, "n_steps": 20})
              for t in (0.5, 1.0) for h in (0.1, 0.5, 1.0, 1.5)]
    study = Study(fn.function, points, store=tmp_path / "s", seed=1).run(executor="serial", progress=False)
    path = tmp_path / "ula.png"
    fig = study.plot(x="step_size", y="variance", hue="temperature", prediction=ula_variance, path=path)
    image = read_png(path)
    assert image.shape[:2] == (round(FIGSIZE[1] * DPI), round(FIGSIZE[0] * DPI))
    rgb = image[..., :3]
    assert (rgb.min(axis=2) < 0.9).mean() > 0.01  # ink, not a white page
    assert len(np.unique(rgb.reshape(-1, 3).round(2), axis=0)) > 20
    ax = fig.axes[0]
    assert ax.get_xlabel() == "step_size" and ax.get_ylabel() == "variance"
    # one dashed prediction line per temperature, through the closed form
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--" and len(line.get_xdata())]
    assert len(dashed) == 2
    for line, temp in zip(dashed, (0.5, 1.0)):
        x, y = line.get_xdata(), line.get_ydata()
        assert x.size == 200 and x.min() == 0.1 and x.max() == 1.5
        expected = [ula_variance({"step_size": h, "lam": 1.0, "temperature": temp}) for h in x]
        np.testing.assert_allclose(y, expected, rtol=1e-12)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["temperature=0.5", "temperature=1.0", "prediction"]


def test_plot_table_checks_its_arguments():
    table = pd.DataFrame({"h": [0.1, 0.1, 0.2], "t": [1, 2, 1], "v": [1.0, 2.0, 1.1]})
    with pytest.raises(ValueError, match="x='step' is not a column"):
        plot_table(table, x="step", y="v")
    with pytest.raises(ValueError, match=r"parameter\(s\) \['t'\] vary too"):
        plot_table(table, x="h", y="v")
    with pytest.raises(ValueError, match="prediction must be callable"):
        plot_table(table, x="h", y="v", hue="t", prediction=3.0)
    fig = plot_table(table, x="h", y="v", hue="t")
    assert len(fig.axes[0].get_legend().get_texts()) == 2


def test_plotting_never_opens_a_window_nor_touches_pyplot(tmp_path):
    import sys

    table = pd.DataFrame({"h": [0.1, 0.2], "v": [1.0, 1.1], "v_stderr": [0.1, 0.1]})
    had_pyplot = "matplotlib.pyplot" in sys.modules
    fig = plot_table(table, x="h", y="v", path=tmp_path / "f.png")
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot
    assert type(fig.canvas).__name__ == "FigureCanvasAgg"
    assert (tmp_path / "f.png").stat().st_size > 1000

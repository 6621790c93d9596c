"""Tests of sandbox.study: canonical points, seeds and keys, the store, Study and the built-in functions.

The built-in study functions are checked against closed forms with |z| < 5 at
a fixed seed (``SANDBOX_TEST_SEED`` overrides it).
"""
import json
import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.estimate import Estimate
from sandbox.study import STUDY_FUNCTIONS, Study, read_study
from sandbox.study.executors import flatten_outputs
from sandbox.study.points import canonical_point, count_points, expand_grid, point_key, point_seed
from sandbox.study.store import PointStore

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240601"))
SIG = 5.0

scalars = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=5))
points = st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True), scalars, min_size=1, max_size=5)


# --- canonical points, seeds, keys -----------------------------------------------

@given(points, st.randoms())
def test_seed_and_key_do_not_depend_on_key_order(point, rnd):
    items = list(point.items())
    rnd.shuffle(items)
    shuffled = dict(items)
    assert point_seed(7, point).spawn_key == point_seed(7, shuffled).spawn_key
    assert point_key("f", "1", 7, point) == point_key("f", "1", 7, shuffled)


@given(points, points)
def test_different_points_get_different_seeds_and_keys(a, b):
    if canonical_point(a) == canonical_point(b) and all(type(x) is type(y) for x, y in
                                                        zip(canonical_point(a).values(), canonical_point(b).values())):
        return
    assert point_seed(0, a).spawn_key != point_seed(0, b).spawn_key
    assert point_key("f", "1", 0, a) != point_key("f", "1", 0, b)


def test_seed_depends_on_study_seed_and_key_on_function_version_and_seed():
    p = {"x": 1.0}
    states = {tuple(point_seed(s, p).generate_state(4)) for s in range(3)}
    assert len(states) == 3
    keys = {point_key(f, v, s, p) for f in ("f", "g") for v in ("1", "2") for s in (0, 1)}
    assert len(keys) == 8


def test_int_and_float_are_different_points_and_negative_zero_is_zero():
    assert point_key("f", "1", 0, {"x": 1}) != point_key("f", "1", 0, {"x": 1.0})
    assert point_key("f", "1", 0, {"x": -0.0}) == point_key("f", "1", 0, {"x": 0.0})
    assert canonical_point({"x": np.float64(0.5), "n": np.int64(3), "b": np.bool_(True)}) == \
        {"b": True, "n": 3, "x": 0.5}
    assert type(canonical_point({"n": np.int64(3)})["n"]) is int


@pytest.mark.parametrize("point, match", [
    ({"x": math.nan}, "'x' must be finite"),
    ({"x": math.inf}, "'x' must be finite"),
    ({"x": [1, 2]}, "'x' must be a bool, int, float or str, got list"),
    ({"x": 2**70}, "64-bit"),
    ({"1x": 1}, "identifier"),
    ({}, "at least one parameter"),
])
def test_bad_points_are_refused(point, match):
    with pytest.raises(ValueError, match=match):
        canonical_point(point)


def test_expand_grid_is_the_cartesian_product_last_parameter_fastest():
    names, pts = expand_grid({"b": [1, 2], "a": [0.5, 0.25, 0.125], "c": "x"})
    assert names == ["b", "a", "c"]
    assert [(p["b"], p["a"]) for p in pts] == [(1, 0.5), (1, 0.25), (1, 0.125), (2, 0.5), (2, 0.25), (2, 0.125)]
    assert all(p["c"] == "x" for p in pts)
    names, pts = expand_grid([{"y": 1, "x": 2}, {"x": 3, "y": 4}])
    assert names == ["y", "x"] and pts == [{"x": 2, "y": 1}, {"x": 3, "y": 4}]


def test_expand_grid_refuses_duplicates_mismatched_lists_and_huge_grids():
    with pytest.raises(ValueError, match="twice"):
        expand_grid({"x": [1.0, 2.0, 1.0]})
    with pytest.raises(ValueError, match="same parameters"):
        expand_grid([{"x": 1}, {"y": 1}])
    with pytest.raises(ValueError, match="empty list"):
        expand_grid({"x": []})
    huge = {f"p{i}": list(range(10)) for i in range(12)}  # 10^12 points: refused before expansion
    assert count_points(huge) == 10**12
    with pytest.raises(ValueError, match="1000000000000 points, more than max_points=100000"):
        expand_grid(huge)


# --- outputs and store -----------------------------------------------------------

def test_outputs_are_flattened_with_stderr_columns():
    out = flatten_outputs({"q": Estimate(1.5, 0.25), "r": np.float64(2.0), "s": 3}, {"x": 1})
    assert out == {"q": 1.5, "q_stderr": 0.25, "r": 2.0, "s": 3.0}
    assert all(type(v) is float for v in out.values())


@pytest.mark.parametrize("outputs, match", [
    ([1.0], "must return a dict"),
    ({"q": Estimate(1.0, 0.1), "q_stderr": 2.0}, "'q_stderr' appears twice"),
    ({"x": 1.0}, "'x' appears twice"),
    ({"q": np.ones(2)}, "must be a real number"),
    ({"q": "1.0"}, "must be a real number"),
    ({"q": True}, "must be a real number"),
    ({"": 1.0}, "non-empty strings"),
])
def test_bad_outputs_are_refused(outputs, match):
    with pytest.raises(ValueError, match=match):
        flatten_outputs(outputs, {"x": 1})


def test_store_writes_atomically_and_ignores_temporary_files(tmp_path):
    store = PointStore(tmp_path)
    assert store.finished_keys() == set()
    store.write("abc", {"n": 3, "m": "ula", "b": False, "h": 0.5}, {"v": 1.25, "v_stderr": 0.5}, {"seed": 1})
    (tmp_path / "points" / ".tmp-def.parquet.x1").write_bytes(b"partial")
    assert store.finished_keys() == {"abc"}
    assert store.n_temporary() == 1
    params, outputs = store.read("abc")
    assert params == {"n": 3, "m": "ula", "b": False, "h": 0.5} and outputs == {"v": 1.25, "v_stderr": 0.5}
    assert store.read_metadata("abc")["seed"] == 1
    assert sorted(os.listdir(tmp_path / "points")) == [".tmp-def.parquet.x1", "abc.parquet"]
    with pytest.raises(ValueError, match="holds no study"):
        store.read_study()


# --- Study -------------------------------------------------------------------------

def test_results_are_a_tidy_table_in_grid_order(tmp_path, study_toys):
    grid = {"mu": [1.0, -2.0], "n": [50, 400]}
    study = Study(study_toys.noisy_mean, grid, store=tmp_path, seed=SEED).run(executor="serial", progress=False)
    table = study.results()
    assert list(table.columns) == ["mu", "n", "mean", "mean_stderr", "first"]
    assert table[["mu", "n"]].to_dict("records") == [{"mu": 1.0, "n": 50}, {"mu": 1.0, "n": 400},
                                                     {"mu": -2.0, "n": 50}, {"mu": -2.0, "n": 400}]
    assert table["n"].dtype == np.int64 and table["mu"].dtype == np.float64
    # each row is the function at that point with the point's own seed
    for row in table.to_dict("records"):
        x = np.random.default_rng(point_seed(SEED, {"mu": row["mu"], "n": row["n"]})).normal(row["mu"], 1.0, row["n"])
        assert row["mean"] == x.mean() and row["first"] == x[0]
        assert abs(row["mean"] - row["mu"]) / row["mean_stderr"] < SIG
    # the standard error is the one of a mean of n draws
    np.testing.assert_allclose(table["mean_stderr"], 1 / np.sqrt(table["n"]), rtol=0.25)


def test_rerun_computes_only_missing_points_and_grids_share_points(tmp_path, study_toys, monkeypatch):
    log = tmp_path / "calls.log"
    monkeypatch.setenv(study_toys.LOG_VARIABLE, str(log))
    store = tmp_path / "store"
    first = Study(study_toys.slow_square, {"x": [1, 2, 3]}, store=store, seed=1).run("serial", progress=False)
    assert log.read_text().split() == ["1", "2", "3"]
    Study(study_toys.slow_square, {"x": [1, 2, 3]}, store=store, seed=1).run("serial", progress=False)
    assert log.read_text().split() == ["1", "2", "3"]  # nothing recomputed
    bigger = Study(study_toys.slow_square, {"x": [0, 1, 2, 3, 4]}, store=store, seed=1)
    assert bigger.pending() == [{"x": 0}, {"x": 4}]
    bigger.run("serial", progress=False)
    assert log.read_text().split() == ["1", "2", "3", "0", "4"]
    pd.testing.assert_frame_equal(bigger.results().iloc[1:4].reset_index(drop=True), first.results())
    # another seed is another study: nothing is shared
    other = Study(study_toys.slow_square, {"x": [1, 2, 3]}, store=store, seed=2)
    assert len(other.pending()) == 3 and len(other.results()) == 0
    table, desc = read_study(store)  # the study last run there
    assert desc["seed"] == 1 and len(desc["points"]) == 5
    pd.testing.assert_frame_equal(table, bigger.results())


def test_study_refuses_bad_arguments(tmp_path, study_toys):
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        Study(study_toys.slow_square, {"x": [1]}, store=tmp_path, seed=-1)
    with pytest.raises(ValueError, match="no stable name"):
        Study(lambda p, s: {}, {"x": [1]}, store=tmp_path)
    with pytest.raises(ValueError, match="function must be callable"):
        Study("slow_square", {"x": [1]}, store=tmp_path)
    with pytest.raises(ValueError, match="store must be a directory path"):
        Study(study_toys.slow_square, {"x": [1]}, store=3)
    with pytest.raises(ValueError, match="executor must be None, 'serial', 'local'"):
        Study(study_toys.slow_square, {"x": [1]}, store=tmp_path).run(executor="cluster")
    assert not os.listdir(tmp_path)


def test_a_lambda_runs_serially_with_a_name_but_not_in_a_pool(tmp_path):
    study = Study(lambda p, s: {"y": 2.0 * p["x"]}, {"x": [1.0, 2.0]}, store=tmp_path, name="double")
    with pytest.raises(ValueError, match="lambda or a local function"):
        study.run(executor="local", progress=False)
    assert study.run(executor="serial", progress=False).results()["y"].tolist() == [2.0, 4.0]


def test_a_failing_point_names_itself_and_keeps_the_finished_ones(tmp_path, study_toys):
    def fails_at_three(point, seed):
        if point["x"] == 3:
            raise ZeroDivisionError("boom")
        return {"y": point["x"]}

    study = Study(fails_at_three, {"x": [1, 2, 3, 4]}, store=tmp_path, name="fails")
    with pytest.raises(ZeroDivisionError) as info:
        study.run(executor="serial", progress=False)
    assert any('{"x":3}' in note for note in info.value.__notes__)
    assert study.results()["x"].tolist() == [1, 2]


def test_progress_is_silent_when_not_a_terminal(tmp_path, study_toys, capfd):
    Study(study_toys.slow_square, {"x": [1, 2]}, store=tmp_path).run("serial", progress=True)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_study_json_is_json_and_describes_the_points(tmp_path, study_toys):
    Study(study_toys.slow_square, {"x": [1, 2], "sleep": 0.0}, store=tmp_path, seed=5).run("serial", progress=False)
    desc = json.loads((tmp_path / "study.json").read_text())
    assert desc["function"] == "study_toys.slow_square" and desc["seed"] == 5
    assert desc["parameters"] == ["x", "sleep"] and desc["points"][1] == {"sleep": 0.0, "x": 2}
    assert not any(name.endswith((".pkl", ".pickle")) for name in os.listdir(tmp_path / "points"))


# --- built-in study functions against closed forms -----------------------------------

def test_langevin_variance_matches_the_ula_bias_and_mala_gibbs(tmp_path):
    lam, temp = 2.0, 0.5
    grid = {"step_size": [0.1, 0.6], "method": ["ula", "mala"], "lam": lam, "temperature": temp,
            "n_chains": 4000, "n_steps": 60}
    fn = STUDY_FUNCTIONS["langevin_variance"]
    table = Study(fn.function, [fn.complete(p) for p in expand_grid(grid)[1]], store=tmp_path,
                  seed=SEED).run("serial", progress=False).results()
    for row in table.to_dict("records"):
        h = row["step_size"]
        # ULA: v = 2hT / (1 - (1 - h lam)^2); MALA: the Gibbs variance T / lam
        predicted = 2 * h * temp / (1 - (1 - h * lam) ** 2) if row["method"] == "ula" else temp / lam
        assert abs(row["variance"] - predicted) / row["variance_stderr"] < SIG, row
    ula = table[table.method == "ula"].set_index("step_size")["variance"]
    assert ula[0.6] > 1.2 * temp / lam  # the bias is resolved: (1 - 0.6)^-1 = 2.5 x Gibbs


def test_gd_divergence_changes_at_two_over_lambda_max():
    fn = STUDY_FUNCTIONS["gd_divergence"]
    lam_max = 4.0
    for eta in (0.3, 0.55, 0.6, 0.8):  # modes apart: the fastest dominates within 80 steps
        point = fn.complete({"step_size": eta, "lam_max": lam_max, "n_steps": 80, "n_chains": 20})
        out = fn.function(point, point_seed(SEED, point))
        lam = np.geomspace(lam_max / 10, lam_max, 2)
        rho = np.max(np.abs(1 - eta * lam))
        assert abs(out["log_growth_rate"].value - np.log(rho)) < 1e-6, (eta, out)
        assert out["diverged"].value == 0.0  # 80 steps do not overflow at these rates
    point = fn.complete({"step_size": 0.8, "lam_max": lam_max, "n_steps": 2000, "n_chains": 20})
    assert fn.function(point, point_seed(SEED, point))["diverged"].value == 1.0


def test_builtin_functions_validate_their_points():
    fn = STUDY_FUNCTIONS["langevin_variance"]
    with pytest.raises(ValueError, match="step_size must be < 1.0"):
        fn.complete({"lam": 2.0, "step_size": 1.0, "temperature": 1.0})
    with pytest.raises(ValueError, match="method must be one of 'ula', 'mala'; got 'hmc'"):
        fn.complete({"lam": 2.0, "step_size": 0.1, "temperature": 1.0, "method": "hmc"})
    with pytest.raises(ValueError, match="needs parameter 'temperature'"):
        fn.complete({"lam": 2.0, "step_size": 0.1})
    with pytest.raises(ValueError, match="unknown parameter 'temprature'"):
        fn.complete({"lam": 2.0, "step_size": 0.1, "temprature": 1.0})
    with pytest.raises(ValueError, match="condition must be >= 1"):
        STUDY_FUNCTIONS["gd_divergence"].complete({"step_size": 0.1, "condition": 0.5})

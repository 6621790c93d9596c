"""Study specs and the ``sandbox study`` command.

Hostile specs (unknown keys, code-looking strings, huge grids, wrong types)
are refused with an error that names the problem, and nothing is written.
"""
import json
import os
import time

import pandas as pd
import pytest

from analysis.cli import main
from sandbox.study import STUDY_FUNCTIONS, Study, read_study
from sandbox.study.spec import parse_spec

LANGEVIN = """
function = "langevin_variance"
seed = 3
description = "ULA bias against the step size"
[grid]
step_size = [0.1, 0.5]
method = ["ula", "mala"]
[sizes]
lam = 1.0
temperature = 0.5
n_chains = 300
"""


def test_a_spec_gives_completed_points_in_grid_order():
    spec = parse_spec(LANGEVIN)
    assert spec.function is STUDY_FUNCTIONS["langevin_variance"] and spec.seed == 3
    assert len(spec.points) == 4
    assert list(spec.points[0]) == ["step_size", "method", "lam", "temperature", "n_chains", "n_steps"]
    assert [(p["step_size"], p["method"]) for p in spec.points] == [(0.1, "ula"), (0.1, "mala"), (0.5, "ula"),
                                                                     (0.5, "mala")]
    assert spec.points[0]["n_steps"] == 200  # the function's default


def test_a_spec_may_list_points_or_give_sizes_alone():
    spec = parse_spec('function = "gd_divergence"\n[[points]]\nstep_size = 0.1\n[[points]]\nstep_size = 0.3\n'
                      '[sizes]\nn_steps = 50\n')
    assert [(p["step_size"], p["n_steps"]) for p in spec.points] == [(0.1, 50), (0.3, 50)]
    assert len(parse_spec('function = "gd_divergence"\n[sizes]\nstep_size = 0.1\n').points) == 1


HOSTILE = [
    ('function = "gd_divergence"\nexecute = "rm -rf /"\n[sizes]\nstep_size = 0.1', "unknown key 'execute'"),
    ('function = "gd_divergence"\n[sizes]\nstep_size = 0.1\nstep_sise = 2', "unknown parameter 'step_sise'"),
    ('function = "__import__(\'os\').system(\'echo hi\')"', "unknown study function"),
    ('function = "gd_divergence"\n[sizes]\nstep_size = "__import__(\'os\').getcwd()"', "not a plain name"),
    ('function = "langevin_variance"\n[grid]\nmethod = ["ula", "eval(1)"]\n[sizes]\nlam = 1.0\n'
     'step_size = 0.1\ntemperature = 1.0', "not a plain name"),
    ('function = "langevin_variance"\n[grid]\nmethod = ["ula", "hmc"]\n[sizes]\nlam = 1.0\nstep_size = 0.1\n'
     'temperature = 1.0', "method must be one of 'ula', 'mala'; got 'hmc'"),
    ('function = "gd_divergence"\n[grid]\n' + "\n".join(f"p{i} = [{', '.join(map(str, range(10)))}]"
                                                        for i in range(12)),
     "the grid has 1000000000000 points, more than the 100000"),
    ('function = "gd_divergence"\n[grid]\nstep_size = [0.1, [0.2]]', "must be a number, a boolean or a name"),
    ('function = "gd_divergence"\n[sizes]\nstep_size = 1979-05-27', "must be a number, a boolean or a name"),
    ('function = "gd_divergence"\nseed = -1\n[sizes]\nstep_size = 0.1', "seed must be a non-negative integer"),
    ('function = "gd_divergence"\n[sizes]\nstep_size = 0.1\n[grid]\nstep_size = [0.2]', "given both"),
    ('claim = "C3"\nfunction = "gd_divergence"', "exactly one of"),
    ('function = "gd_divergence"\n[sizes]\nstep_size = 0.1\n"bad name" = 1', "identifier"),
    ('function = "gd_divergence"\ngrid = "step_size=0.1"', r"\[grid\] must be a table"),
    ('function = [', "not valid TOML"),
    ('function = "gd_divergence"\n[grid]\nstep_size = [0.1, 0.1]', "twice"),
]


@pytest.mark.parametrize("text, match", HOSTILE)
def test_hostile_specs_are_refused_by_name(text, match):
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        parse_spec(text)
    assert time.perf_counter() - t0 < 5  # a huge grid is counted, never expanded


@pytest.mark.parametrize("text, match", HOSTILE)
def test_the_command_refuses_hostile_specs_and_writes_nothing(tmp_path, capsys, text, match):
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    assert main(["study", "run", str(spec), "--out", str(out), "--executor", "serial"]) == 2
    assert "sandbox study: error:" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["spec.toml"]


def test_the_command_rejects_bad_executor_arguments(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(LANGEVIN)
    for executor in (["dask"], ["local", "tcp://x:1"], ["cluster"]):
        assert main(["study", "run", str(spec), "--out", str(tmp_path / "o"), "--executor", *executor]) == 2
    assert "--executor dask needs the scheduler address" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_run_then_show(tmp_path, capsys):
    spec = tmp_path / "ula.toml"
    spec.write_text(LANGEVIN)
    out = tmp_path / "store"
    assert main(["study", "run", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "4 points, 0 already" in printed and "variance_stderr" in printed
    table, desc = read_study(out)
    assert len(table) == 4 and desc["function"] == "sandbox.study.functions.langevin_variance"
    # the same study from Python reads the same store: nothing to compute
    spec_study = Study(STUDY_FUNCTIONS["langevin_variance"].function, desc["points"], store=out, seed=3)
    assert spec_study.pending() == []
    assert main(["study", "run", str(spec), "--out", str(out), "--executor", "serial"]) == 0
    assert "4 already in" in capsys.readouterr().out
    csv = tmp_path / "t.csv"
    assert main(["study", "show", str(out), "--csv", str(csv)]) == 0
    shown = capsys.readouterr().out
    assert "4 of 4 points finished" in shown and "mala" in shown
    pd.testing.assert_frame_equal(pd.read_csv(csv), table, check_dtype=False)
    assert main(["study", "show", str(tmp_path / "nothing")]) == 2


def test_a_claim_check_runs_as_a_study(tmp_path, capsys):
    spec = tmp_path / "c11.toml"
    spec.write_text('claim = "C11"\n[grid]\nreplicate = [0, 1]\n')
    assert main(["study", "run", str(spec), "--out", str(tmp_path / "c11"), "--executor", "serial"]) == 0
    table, desc = read_study(tmp_path / "c11")
    assert desc["function"] == "analysis.claim_study.claim_study"
    z = table[[c for c in table.columns if c.endswith(" z")]].to_numpy()
    assert z.shape == (2, 5) and abs(z).max() < 5  # C11 hit-or-miss vs the closed form
    measured = table[[c for c in table.columns if "d=2," in c and c.endswith("hit-or-miss")]].to_numpy()
    assert measured[0, 0] != measured[1, 0]  # replicates draw independent seeds
    assert json.loads((tmp_path / "c11" / "study.json").read_text())["points"][0]["claim"] == "C11"


def test_an_unknown_claim_is_refused(tmp_path, capsys):
    spec = tmp_path / "c.toml"
    spec.write_text('claim = "C99"\n')
    assert main(["study", "run", str(spec), "--out", str(tmp_path / "c"), "--executor", "serial"]) == 2
    assert "claim must be one of" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()

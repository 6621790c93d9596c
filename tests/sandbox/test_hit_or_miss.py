"""Hit-or-miss volumes against the exact ellipsoid formula."""
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.strategies import quadratics, spectra
from analysis.volume import log_sublevel_volume
from models import Quadratic
from sandbox.hit_or_miss import hit_or_miss_volume

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20261123"))


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_log_volume_of_an_ellipse_matches_the_closed_form(d):
    lam = np.geomspace(0.5, 4.0, d)
    eps = 0.3
    res = hit_or_miss_volume(Quadratic(lam), eps, bounds=(-1.2, 1.2), n_samples=200_000, seed=SEED)
    exact = log_sublevel_volume(lam, eps)
    assert abs(res.log_volume.z(exact)) < 5
    if d <= 3:  # there the test has power against a 5% volume error
        assert abs(res.log_volume.z(exact + 0.05)) > 5


# eigenvalues >= 0.5 and eps = 0.3: semi-axes <= sqrt(2 eps / 0.5) = 1.1, plus a center within 0.2, inside [-1.5, 1.5]
@settings(max_examples=20, deadline=None)
@given(quadratics(spectra(st.integers(1, 3), low=0.5, high=4.0), center_scale=0.2))
def test_log_volume_of_any_rotated_and_shifted_ellipsoid_in_the_box_matches_the_closed_form(q):
    res = hit_or_miss_volume(q, 0.3, bounds=(-1.5, 1.5), n_samples=20_000, seed=SEED)
    assert abs(res.log_volume.z(log_sublevel_volume(q.eigenvalues, 0.3))) < 5


def test_reported_stderr_matches_the_spread_of_repeats():
    q = Quadratic([1.0, 2.0])
    values = [hit_or_miss_volume(q, 0.2, bounds=(-1, 1), n_samples=20_000, seed=SEED + k).log_volume
              for k in range(30)]
    spread = np.std([v.value for v in values], ddof=1)
    reported = np.mean([v.stderr for v in values])
    assert 0.6 < spread / reported < 1.5


def test_no_hits_raises_instead_of_returning_minus_infinity():
    with pytest.raises(ValueError, match="n_samples"):
        hit_or_miss_volume(Quadratic(np.ones(8)), 1e-6, bounds=(-1, 1), n_samples=1000, seed=SEED)


@pytest.mark.parametrize("bad", [dict(eps=0.0), dict(eps=-1.0), dict(n_samples=0), dict(bounds=(1.0, -1.0)),
                                 dict(bounds=(0.0, np.nan)), dict(bounds=1.0)])
def test_bad_input_raises_value_error_naming_the_parameter(bad):
    kw = dict(eps=0.5, bounds=(-1.0, 1.0), n_samples=100)
    kw.update(bad)
    with pytest.raises(ValueError, match=next(iter(bad))):
        hit_or_miss_volume(Quadratic([1.0, 1.0]), **kw)

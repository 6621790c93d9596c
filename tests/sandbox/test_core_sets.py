"""Core sets: validation, the 'contains a minimum' check and the numba lookup."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import double_well, entropic_double_well, symmetric_double_well
from sandbox.core_sets import CoreSet, as_core_sets, core_arrays, core_index

LEFT, RIGHT = (np.array([-1.0, 0.0]), 0.3), (np.array([1.0, 0.0]), 0.3)


def test_contains_is_the_closed_ball():
    core = CoreSet(np.array([1.0, 0.0]), 0.5)
    assert core.contains([1.5, 0.0]) and core.contains([1.3, 0.4])
    assert not core.contains([1.5, 1e-6])


@pytest.mark.parametrize("basins", [[LEFT, RIGHT], (LEFT, RIGHT), [CoreSet(*LEFT), CoreSet(*RIGHT)],
                                    (CoreSet(*LEFT), CoreSet(*RIGHT)), [([-1, 0], 0.3), ([1, 0], 0.3)]])
def test_a_list_or_tuple_of_pairs_or_core_sets_gives_the_same_cores(basins):
    cores = as_core_sets(basins, 2, landscape=symmetric_double_well(), min_count=2)
    assert len(cores) == 2
    np.testing.assert_array_equal(cores[0].center, [-1.0, 0.0])
    np.testing.assert_array_equal(cores[1].center, [1.0, 0.0])
    assert cores[0].radius == cores[1].radius == 0.3
    assert cores[0].center.dtype == np.float64


@pytest.mark.parametrize("pair", [LEFT, CoreSet(*LEFT), ([-1.0, 0.0], 0.3), ((-1.0, 0.0), 0.3)])
def test_a_single_pair_is_one_core(pair):
    cores = as_core_sets(pair, 2)
    assert len(cores) == 1 and cores[0].radius == 0.3


def test_a_core_centred_on_a_minimum_of_the_1d_well_is_accepted():
    assert as_core_sets([([-1.0], 0.4), ([1.0], 0.4)], 1, landscape=double_well(), min_count=2)


def test_a_core_centred_exactly_on_a_saddle_holds_no_minimum():
    # the gradient vanishes at the center, so descent alone would stop there and accept it
    with pytest.raises(ValueError, match=r"basins\[0\] does not contain a minimum"):
        as_core_sets([((0.0, 0.0), 0.3), RIGHT], 2, landscape=symmetric_double_well())
    with pytest.raises(ValueError, match=r"basins\[0\] does not contain a minimum"):
        as_core_sets([([0.0], 0.3)], 1, landscape=double_well())


def test_a_ball_around_the_saddle_wide_enough_to_hold_a_minimum_is_accepted():
    assert as_core_sets([((0.0, 0.0), 1.2)], 2, landscape=entropic_double_well())


def test_a_core_off_the_minima_holds_no_minimum():
    with pytest.raises(ValueError, match=r"basins\[1\] does not contain a minimum.*outside the radius 0.2"):
        as_core_sets([LEFT, ((0.5, 0.0), 0.2)], 2, landscape=symmetric_double_well())


@pytest.mark.parametrize("basins, match", [
    ([LEFT, ((-0.5, 0.0), 0.2)], r"basins\[0\] and basins\[1\] overlap"),
    ([((-1.0, 0.0), 1.0), ((1.0, 0.0), 1.0)], "overlap"),   # touching balls share a point
    ([LEFT], "at least 2"),
    (5.0, "list of"),
    ([LEFT, (1.0, 0.0, 0.3)], r"basins\[1\] must be a \(center, radius\) pair"),
    ([LEFT, ((1.0, 0.0), 0.0)], r"basins\[1\] radius must be > 0, got 0.0"),
    ([LEFT, ((1.0, 0.0), np.inf)], r"basins\[1\] radius must be finite"),
    ([LEFT, ((1.0, 0.0), np.nan)], r"basins\[1\] radius"),
    ([LEFT, ((1.0, 0.0, 0.0), 0.3)], r"basins\[1\] center must have shape \(2,\)"),
    ([LEFT, ((1.0, np.nan), 0.3)], r"basins\[1\] center must be finite"),
])
def test_bad_core_sets_raise_value_error_naming_the_item(basins, match):
    with pytest.raises(ValueError, match=match):
        as_core_sets(basins, 2, min_count=2)


def test_messages_show_plain_numbers():
    with pytest.raises(ValueError) as info:
        as_core_sets([(np.array([-1.0, 0.0]), np.float64(0.8)), (np.array([0.0, 0.0]), np.float64(0.5))], 2)
    assert "np.float64" not in str(info.value) and "1.3" in str(info.value)


@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(-3, 3)), min_size=1, max_size=20))
def test_core_index_agrees_with_contains(points):
    cores = [CoreSet(np.array([-1.0, 0.0]), 0.7), CoreSet(np.array([1.0, 0.5]), 0.4),
             CoreSet(np.array([0.0, -2.0]), 1.0)]
    centers, radii2 = core_arrays(cores)
    for p in points:
        x = np.array(p)
        inside = [i for i, c in enumerate(cores) if c.contains(x)]
        assert core_index(x, centers, radii2) == (inside[0] if inside else -1)


def test_centers_may_be_critical_points():
    from analysis.critical import CriticalPoint

    point = CriticalPoint(np.array([1.0, 0.0]), 0.0, np.array([2.0, 8.0]), 0)
    (core,) = as_core_sets([(point, 0.3)], 2)
    np.testing.assert_array_equal(core.center, [1.0, 0.0])

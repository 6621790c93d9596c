"""Detailed balance between two independent exact references: 1-D first-passage times and quadrature occupancy.

For a 1-D double well, the exact mean first-passage times between the minima
(``analysis.escape.mean_first_passage_time_1d``, a double integral) and the
basin occupancies by quadrature (``analysis.occupancy.exact_occupancy``)
must satisfy detailed balance, P_L k_LR = P_R k_RL, i.e.
tau_RL / tau_LR = P_R / P_L. From the double-integral formula the identity
holds up to the variation of the cumulative Gibbs mass across the barrier,
a relative error far below exp(-dU / T) (dU the lower of the two barriers).
"""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.escape import mean_first_passage_time_1d
from analysis.occupancy import exact_occupancy
from models import double_well


@settings(max_examples=15, deadline=None)
@given(st.floats(0.8, 1.4), st.floats(-0.3, 0.3), st.floats(4.0, 12.0))
def test_exact_passage_times_and_quadrature_occupancy_satisfy_detailed_balance(a, tilt, barrier_over_t):
    c = tilt * a ** 3
    left, saddle, right = np.sort(np.roots([4.0, 0.0, -4.0 * a * a, c]).real)

    def potential(x):
        x = np.asarray(x, dtype=float)
        return (x ** 2 - a * a) ** 2 + c * x

    barrier = min(potential(saddle) - potential(left), potential(saddle) - potential(right))
    temperature = barrier / barrier_over_t
    tau_lr = mean_first_passage_time_1d(potential, left, right, temperature)
    tau_rl = mean_first_passage_time_1d(potential, right, left, temperature)
    occupancy = exact_occupancy(double_well(a=a, c=c), temperature, bounds=[[-3.0 * a, 3.0 * a]],
                                partition=lambda x: (np.asarray(x)[:, 0] > saddle).astype(int))
    p_left, p_right = occupancy.probabilities
    assert abs((tau_rl / tau_lr) / (p_right / p_left) - 1.0) < math.exp(-barrier_over_t)

"""Schedules: a piecewise-constant value by sweep, one sweep or a block at a time."""

from __future__ import annotations

import numpy as np

from backprop86.optim import Schedule


def test_a_schedule_fills_a_block_of_sweeps_as_it_answers_one():
    schedule = Schedule(0.5, ((3, 0.1), (3, 0.2), (7, 0.0)))
    for s0 in (0, 2, 3, 6, 9):
        out = np.full(6, np.nan)
        assert schedule.fill(s0, out).tolist() == [schedule(s0 + j) for j in range(6)]

"""The background build's plan: the steps on the way to the recommender first, the steps
nothing waits for at the idle CPU priority."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from coverstory import build


def test_the_recommender_starts_before_the_vector_indexes_and_the_leaves_run_in_the_background():
    names = [s.name for s in build.PLAN]
    assert names.index("recommender") < names.index("vector indexes")
    background = {s.name for s in build.PLAN if s.background}
    assert background == {"cover keypoints", "description passages"}
    needed = {n for s in build.PLAN for n in s.needs}
    assert not background & needed                  # nothing waits for a background step


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="no SCHED_IDLE on this system")
def test_a_background_step_runs_at_the_idle_policy_and_the_others_do_not():
    probe = [sys.executable, "-c", "import os; print(os.sched_getscheduler(0), os.nice(0))"]

    def run(nice, idle):
        out = subprocess.run(probe, capture_output=True, text=True, check=True,
                             preexec_fn=build._priority(nice, idle)).stdout.split()
        return int(out[0]), int(out[1])

    base = os.nice(0)
    assert build._priority(0, False) is None
    assert run(0, True) == (os.SCHED_IDLE, base)
    policy, nice = run(3, False)
    assert policy == os.SCHED_OTHER and nice == min(19, base + 3)

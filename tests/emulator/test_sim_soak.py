"""The soak (issue 8, item 10) on a slice of the sample session: a faulty bridge and a clicking operator on their
own threads, then every invariant over what the stack stored. `make soak` runs the whole session."""

from __future__ import annotations

import io

import pytest

from sim.soak import soak

pytestmark = pytest.mark.emulator


def test_a_faulty_bridge_and_a_clicking_operator_leave_every_invariant_true():
    out = io.StringIO()
    status = soak(ticks=900, profile="tp8-flip", out=out, lockstep=False)  # test_sim_lockstep.py does that part
    printed = out.getvalue()
    assert status == 0, printed
    assert printed.count(" ok ") >= 4 and "FAILED" not in printed

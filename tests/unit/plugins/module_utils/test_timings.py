"""The per-step timings recorder the drivers fill and the modules return as ``timings``."""
import itertools

import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils.timings import Timings


def test_steps_are_timed_in_order_with_the_clock():
    ticks = itertools.count(0, 1.25)
    timings = Timings(clock=lambda: next(ticks))
    with timings.step('first'):
        pass
    with timings.step('second'):
        pass
    timings.add('measured elsewhere', 2.00049)
    assert timings.as_list() == [dict(step='first', seconds=1.25), dict(step='second', seconds=1.25),
                                 dict(step='measured elsewhere', seconds=2.0)]
    assert timings.total() == 4.5


def test_a_failed_step_is_recorded_and_the_error_kept():
    ticks = iter([10.0, 13.5])
    timings = Timings(clock=lambda: next(ticks))
    with pytest.raises(RuntimeError, match='boom'):
        with timings.step('doomed'):
            raise RuntimeError('boom')
    assert timings.as_list() == [dict(step='doomed', seconds=3.5)]


def test_as_list_is_a_copy():
    timings = Timings()
    timings.add('x', 1)
    timings.as_list()[0]['seconds'] = 99
    assert timings.as_list() == [dict(step='x', seconds=1.0)]

"""The waiter: hard timeout, status sets, NotFound as a status, last object on failure."""
import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils import waiter
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import WaitFailed, WaitTimeout
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj


class FakeClock:
    """Monotonic clock advanced only by sleep(), so tests never really wait."""

    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def sequence(*statuses):
    """fetch() returning objects with the given statuses in turn (None = gone), last one repeated."""
    items = list(statuses)

    def fetch():
        status = items.pop(0) if len(items) > 1 else items[0]
        return None if status is None else {'id': 'x', 'status': status}
    return fetch


def wait(fetch, clock, **kwargs):
    kwargs.setdefault('timeout', 10)
    kwargs.setdefault('poll_interval', 2)
    return waiter.wait_for_status(fetch, clock=clock, sleep=clock.sleep, **kwargs)


def test_returns_object_once_status_is_ok():
    clock = FakeClock()
    obj = wait(sequence('creating', 'creating', 'available'), clock, ok={'available'}, fail={'error'})
    assert obj == {'id': 'x', 'status': 'available'}
    assert clock.sleeps == [2, 2]


def test_failure_status_raises_with_last_object():
    clock = FakeClock()
    with pytest.raises(WaitFailed) as info:
        wait(sequence('creating', 'error'), clock, ok={'available'}, fail={'error'}, describe='snapshot s1')
    assert info.value.status == 'error'
    assert info.value.last['status'] == 'error'
    assert 'snapshot s1' in info.value.msg and 'error' in info.value.msg
    assert not isinstance(info.value, WaitTimeout)


def test_timeout_is_hard_and_reports_last_status():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as info:
        wait(sequence('creating'), clock, ok={'available'}, timeout=7, poll_interval=2, describe='volume v')
    assert info.value.status == 'creating'
    assert info.value.last == {'id': 'x', 'status': 'creating'}
    assert '7' in info.value.msg and 'creating' in info.value.msg
    # never sleeps past the deadline: 2 + 2 + 2 + 1
    assert clock.sleeps == [2, 2, 2, 1]
    assert clock.now == 107


def test_not_found_is_a_status_for_deletes():
    clock = FakeClock()
    assert wait(sequence('deleting', None), clock, ok={waiter.NOT_FOUND, 'deleted'}, fail={'error_deleting'}) is None


def test_not_found_fails_a_create():
    clock = FakeClock()
    with pytest.raises(WaitFailed) as info:
        wait(sequence('creating', None), clock, ok={'available'}, fail={waiter.NOT_FOUND})
    assert info.value.status == waiter.NOT_FOUND


def test_unknown_status_fails_fast_when_transient_set_given():
    clock = FakeClock()
    with pytest.raises(WaitFailed) as info:
        wait(sequence('creating', 'weird'), clock, ok={'available'}, fail={'error'}, transient={'creating'})
    assert 'unexpected' in info.value.status
    assert clock.sleeps == [2]


def test_unknown_status_without_transient_set_still_bounded():
    clock = FakeClock()
    with pytest.raises(WaitTimeout):
        wait(sequence('weird'), clock, ok={'available'}, timeout=3, poll_interval=1)
    assert clock.now == 103


def test_zero_timeout_checks_once():
    clock = FakeClock()
    assert wait(sequence('available'), clock, ok={'available'}, timeout=0)['status'] == 'available'
    with pytest.raises(WaitTimeout):
        wait(sequence('creating'), clock, ok={'available'}, timeout=0)
    assert clock.sleeps == []


@pytest.mark.parametrize('timeout,interval', [(-1, 1), (None, 1), (5, 0), (5, -2)])
def test_invalid_timing_rejected(timeout, interval):
    with pytest.raises(ValueError):
        waiter.wait_for_status(sequence('available'), ok={'available'}, timeout=timeout, poll_interval=interval)


def test_custom_status_function_and_objects():
    items = [Obj(state='pending'), Obj(state='done')]
    clock = FakeClock()
    result = waiter.wait_for_status(lambda: items.pop(0), ok={'done'}, timeout=5, poll_interval=1,
                                    status_of=lambda o: o.state, clock=clock, sleep=clock.sleep)
    assert result.state == 'done'


def test_real_clock_short_wait():
    # one real (tiny) wait to prove the defaults are wired to time.monotonic/time.sleep
    fetch = sequence('creating', 'available')
    assert waiter.wait_for_status(fetch, ok={'available'}, timeout=2, poll_interval=0.01)['status'] == 'available'

"""Bulk runs: bounded concurrency, every result kept, failures summed up once."""
import threading

import pytest
from openstack import exceptions as sdk_exceptions

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import bulk
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Later, Result
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj


def test_entry_of_a_result_drops_the_diff_keys():
    entry = bulk.entry_of(bulk.attempt(lambda: Result(True, snapshot={'id': 's'}, before=None, after={'id': 's'})),
                          Obj(id='v1'), 'volume', 'volume_ref')
    assert entry == dict(snapshot={'id': 's'}, changed=True, failed=False, volume_ref='v1')


def test_entry_of_a_protection_error_keeps_its_result_keys():
    def fail():
        raise ProtectionError('volume v1 is error: it cannot be snapshotted', volume={'id': 'v1'})
    entry = bulk.entry_of(bulk.attempt(fail), 'v1', 'volume', 'volume_ref')
    assert entry == dict(volume={'id': 'v1'}, changed=False, failed=True, volume_ref='v1',
                         msg='volume v1 is error: it cannot be snapshotted')


def test_entry_of_an_unexpected_error_names_the_resource_and_never_raises():
    def boom():
        raise RuntimeError('boom')
    assert bulk.entry_of(bulk.attempt(boom), Obj(id='v2'), 'share', 'share_ref')['msg'] == 'share v2: RuntimeError: boom'

    def sdk():
        raise sdk_exceptions.HttpException(message='Quota exceeded', http_status=413)
    entry = bulk.entry_of(bulk.attempt(sdk), 'v3', 'volume', 'volume_ref')
    assert entry['failed'] and entry['msg'].startswith('volume v3: ') and 'Quota exceeded' in entry['msg']


def test_run_many_keeps_order_and_bounds_concurrency():
    lock, state = threading.Lock(), dict(now=0, most=0)
    barrier = threading.Barrier(3)

    def call(item):
        with lock:
            state['now'] += 1
            state['most'] = max(state['most'], state['now'])
        if item < 3:
            barrier.wait(timeout=10)  # the first three run together: the pool has three workers
        with lock:
            state['now'] -= 1
        return Result(item % 2 == 0, n=item)

    entries = bulk.run_many(list(range(7)), call, 'volume', 'volume_ref', concurrency=3)
    assert [e['n'] for e in entries] == list(range(7)) and [e['volume_ref'] for e in entries] == list(range(7))
    assert state['most'] == 3


def test_run_many_of_nothing():
    assert bulk.run_many([], lambda item: Result(), 'volume', 'volume_ref') == []


def test_one_failure_never_hides_the_others():
    def call(item):
        if item == 'bad':
            raise ProtectionError('volume bad: not found')
        return Result(True, deleted=['s-%s' % item])
    entries = bulk.run_many(['a', 'bad', 'b'], call, 'volume', 'volume_ref', concurrency=1)
    assert [e['failed'] for e in entries] == [False, True, False]
    with pytest.raises(ProtectionError) as info:
        bulk.summarize(entries, 'volume', 'snapshots')
    assert info.value.msg == '1 of 3 volumes failed: volume bad: not found'
    assert info.value.result['snapshots'] == entries and info.value.result['deleted'] == ['s-a', 's-b']
    assert info.value.result['changed'] is True


def test_summarize_success():
    entries = [dict(changed=False, failed=False, deleted=None), dict(changed=False, failed=False)]
    assert bulk.summarize(entries, 'share', 'share_snapshots') == dict(changed=False, share_snapshots=entries,
                                                                       deleted=[])


def test_later_steps_run_after_every_first_part_and_fail_alone():
    events = []

    def call(item):
        events.append('first %s' % item)

        def last():
            events.append('last %s' % item)
            if item == 2:
                raise ProtectionError('volume 2: lost the race and could not remove its snapshot')
            return Result(True, n=item)
        return Later(last) if item != 3 else Result(False, n=item)

    entries = bulk.run_many([0, 1, 2, 3], call, 'volume', 'volume_ref', concurrency=2)
    assert sorted(events[:4]) == ['first 0', 'first 1', 'first 2', 'first 3']
    assert sorted(events[4:]) == ['last 0', 'last 1', 'last 2']
    assert [e['failed'] for e in entries] == [False, False, True, False]
    assert [e.get('n') for e in entries] == [0, 1, None, 3] and 'lost the race' in entries[2]['msg']


def test_shared_ready_steps_run_once_each_side_by_side_before_any_last_step():
    events = []
    lock = threading.Lock()
    both_ready = threading.Barrier(2, timeout=10)

    class Batch:
        def __init__(self, name):
            self.name = name

        def settle(self):
            with lock:
                events.append('ready %s' % self.name)
            both_ready.wait()  # the two batches wait at the same time, or this breaks

    batches = dict(a=Batch('a'), b=Batch('b'))

    def call(item):
        batch = batches[item[0]]
        return Later(lambda: events.append('last %s' % item) or Result(True), ready=batch.settle)

    entries = bulk.run_many(['a1', 'a2', 'b1', 'b2', 'a3'], call, 'volume', 'volume_ref', concurrency=4)
    assert not any(e['failed'] for e in entries)
    assert sorted(events[:2]) == ['ready a', 'ready b']
    assert sorted(events[2:]) == ['last a1', 'last a2', 'last a3', 'last b1', 'last b2']


def test_parallel_map_keeps_the_order():
    assert bulk.parallel_map(lambda n: n * n, range(7), concurrency=3) == [0, 1, 4, 9, 16, 25, 36]
    assert bulk.parallel_map(lambda n: n, [], concurrency=3) == []

"""Which snapshots belong to a protection, and what a rotating protection does next (pure functions)."""
import datetime

from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import rotation
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import MANAGED_KEY, PROTECTION_KEY
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj

NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
FAILED = frozenset(['error'])


def snap(sid, name='daily', minutes_ago=0, status='available', protection='daily', managed=True):
    metadata = {MANAGED_KEY: 'true', PROTECTION_KEY: protection} if managed else {}
    created = (NOW - datetime.timedelta(minutes=minutes_ago)).isoformat()
    return Obj(id=sid, name=name, status=status, created_at=created, metadata=metadata)


def test_age_key_orders_oldest_first_and_breaks_ties_by_id():
    same = [snap('b', minutes_ago=5), snap('a', minutes_ago=5), snap('c', minutes_ago=10)]
    assert [s.id for s in sorted(same, key=rotation.age_key)] == ['c', 'a', 'b']


def test_belongs_needs_the_collections_metadata_for_this_protection():
    assert rotation.belongs(snap('1'), 'daily')
    assert rotation.belongs(snap('2', name='daily-20260301T000000000000Z'), 'daily')
    assert not rotation.belongs(snap('3', protection='weekly'), 'daily')
    assert not rotation.belongs(snap('4', managed=False), 'daily')
    assert not rotation.belongs(Obj(id='5', name='daily', metadata=None), 'daily')


def test_foreign_is_same_name_without_our_metadata():
    assert rotation.is_foreign(snap('1', managed=False), 'daily')
    assert rotation.is_foreign(snap('2', protection='weekly'), 'daily')
    assert not rotation.is_foreign(snap('3'), 'daily')
    assert not rotation.is_foreign(snap('4', name='other', managed=False), 'daily')


def test_rotated_name_is_sortable_utc():
    assert rotation.rotated_name('daily', now=NOW) == 'daily-20260301T120000000000Z'


def test_first_run_creates_and_deletes_nothing():
    plan = rotation.RotationPlan([], retain=3, min_age=0, failed_statuses=FAILED, now=NOW)
    assert plan.create and plan.doomed == [] and plan.newest is None and plan.changed


def test_beyond_retain_the_oldest_go():
    snaps = [snap('old', minutes_ago=30), snap('mid', minutes_ago=20), snap('new', minutes_ago=10)]
    plan = rotation.RotationPlan(snaps, retain=2, min_age=0, failed_statuses=FAILED, now=NOW)
    # one is created, so only one of the existing three stays
    assert plan.create and [s.id for s in plan.doomed] == ['old', 'mid'] and plan.newest.id == 'new'


def test_retain_one_keeps_only_the_new_snapshot():
    snaps = [snap('a', minutes_ago=30), snap('b', minutes_ago=20)]
    plan = rotation.RotationPlan(snaps, retain=1, min_age=0, failed_statuses=FAILED, now=NOW)
    assert plan.create and [s.id for s in plan.doomed] == ['a', 'b']


def test_min_age_skips_a_run_and_keeps_retain():
    snaps = [snap('a', minutes_ago=30), snap('b', minutes_ago=20), snap('c', minutes_ago=10)]
    plan = rotation.RotationPlan(snaps, retain=2, min_age=3600, failed_statuses=FAILED, now=NOW)
    assert not plan.create and [s.id for s in plan.doomed] == ['a'] and plan.changed
    plan = rotation.RotationPlan(snaps[1:], retain=2, min_age=3600, failed_statuses=FAILED, now=NOW)
    assert not plan.create and plan.doomed == [] and not plan.changed
    plan = rotation.RotationPlan(snaps[1:], retain=2, min_age=300, failed_statuses=FAILED, now=NOW)
    assert plan.create and [s.id for s in plan.doomed] == ['b']


def test_failed_snapshots_always_go_and_are_never_the_newest():
    snaps = [snap('ok', minutes_ago=30), snap('bad', minutes_ago=5, status='error')]
    plan = rotation.RotationPlan(snaps, retain=5, min_age=3600, failed_statuses=FAILED, now=NOW)
    assert plan.newest.id == 'ok' and not plan.create and [s.id for s in plan.doomed] == ['bad']


def test_foreign_snapshots_never_rotate():
    snaps = [snap('theirs', minutes_ago=60, managed=False), snap('ours', minutes_ago=10)]
    plan = rotation.RotationPlan(snaps, retain=1, min_age=0, failed_statuses=FAILED, now=NOW)
    assert [s.id for s in plan.snapshots] == ['ours'] and [s.id for s in plan.doomed] == ['ours']

"""A bulk run's new snapshots are waited for together: one listing per poll, the same verdicts as a single wait."""
import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import MANAGED_KEY, PROTECTION_KEY
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_snapshot import (
    CinderSnapshotDriver,
)
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj
from ansible_collections.dataprotection.openstack.tests.unit.plugins.module_utils.protection.test_cinder_snapshot import (
    FakeBlockStorage,
)


@pytest.fixture
def cinder():
    storage = FakeBlockStorage()
    get = storage.get_snapshot

    def counted_get(sid):
        storage.calls.append(('get_snapshot', sid))
        return get(sid)
    storage.get_snapshot = counted_get
    return storage


@pytest.fixture
def driver(cinder):
    made = CinderSnapshotDriver(Obj(block_storage=cinder), wait=True, timeout=5, poll_interval=0.001)
    made.race_grace = 0.2
    return made


def calls(cinder, kind, arg=Ellipsis):
    return [c for c in cinder.calls if c[0] == kind and (arg is Ellipsis or c[1] == arg)]


def test_every_new_snapshot_is_waited_for_by_project_listings_not_one_get_each(cinder, driver):
    vols = [cinder.add_volume('v%d' % i) for i in range(6)]
    entries = driver.protect_many(vols, 'daily', {}, concurrency=3)
    assert [(e['changed'], e['failed'], e['snapshot']['status']) for e in entries] == [(True, False, 'available')] * 6
    assert calls(cinder, 'get_snapshot') == []
    # created -> one listing sees them creating, the next one available (the fake moves a status per read)
    assert len(calls(cinder, 'list_snapshots', None)) == 2
    assert sorted(s.volume_id for s in cinder.snaps.values()) == sorted(v.id for v in vols)


def test_a_second_bulk_run_is_idempotent_and_waits_for_nothing(cinder, driver):
    vols = [cinder.add_volume('v%d' % i) for i in range(3)]
    driver.protect_many(vols, 'daily', {}, concurrency=3)
    del cinder.calls[:]
    entries = driver.protect_many(vols, 'daily', {}, concurrency=3)
    assert not any(e['changed'] for e in entries)
    assert calls(cinder, 'create_snapshot') == [] and calls(cinder, 'list_snapshots', None) == []


def test_a_snapshot_that_goes_to_error_fails_its_volume_only_and_is_removed(cinder, driver):
    good, bad = cinder.add_volume('good'), cinder.add_volume('bad')
    create = cinder.create_snapshot

    def create_failing(volume_id, **kwargs):
        snap = create(volume_id, **kwargs)
        if volume_id == bad.id:
            snap.status = 'error'
        return snap
    cinder.create_snapshot = lambda volume_id, name, description, force, metadata: create_failing(
        volume_id, name=name, description=description, force=force, metadata=metadata)
    by_ref = dict((e['volume_ref'], e) for e in driver.protect_many([good, bad], 'daily', {}, concurrency=2))
    assert by_ref[good.id]['failed'] is False and by_ref[good.id]['changed'] is True
    failed = by_ref[bad.id]
    assert failed['failed'] is True
    assert 'snapshot daily' in failed['msg'] and 'volume bad' in failed['msg']
    assert 'reached status error' in failed['msg'] and 'was removed' in failed['msg']
    assert [s.volume_id for s in cinder.snaps.values()] == [good.id]


def test_a_snapshot_still_creating_at_the_deadline_times_out_and_is_removed(cinder, driver, monkeypatch):
    vol = cinder.add_volume('slow')
    monkeypatch.setattr(driver, 'timeout', 0.05)
    monkeypatch.setattr(driver, 'poll_interval', 0.01)
    listing = cinder.snapshots

    def stalled(details=True, volume_id=None):
        # the listing keeps showing it creating (the cleanup's own GETs still move it along)
        found = listing(details=details, volume_id=volume_id)
        return [Obj(**dict(s.__dict__, status='creating')) if volume_id is None else s for s in found]
    cinder.snapshots = stalled
    [entry] = driver.protect_many([vol], 'daily', {}, concurrency=1)
    assert entry['failed'] is True
    assert 'timed out after 0.05s' in entry['msg'] and 'last status: creating' in entry['msg']
    assert 'was removed' in entry['msg']
    assert cinder.snaps == {}


def test_a_same_second_twin_of_another_run_in_the_shared_listing_wins_and_ours_goes(cinder, driver):
    vol = cinder.add_volume('data')
    listing = cinder.snapshots
    twin = {}

    def with_twin(details=True, volume_id=None):
        if volume_id is None and not twin:
            [mine] = list(cinder.snaps.values())
            twin['snap'] = cinder.add_snapshot(vol, 'daily', metadata={MANAGED_KEY: 'true', PROTECTION_KEY: 'daily'})
            twin['snap'].created_at = mine.created_at
            cinder.snaps['00000000-0000-0000-0000-000000000000'] = twin['snap']
            del cinder.snaps[twin['snap'].id]
            twin['snap'].id = '00000000-0000-0000-0000-000000000000'
        return listing(details=details, volume_id=volume_id)
    cinder.snapshots = with_twin
    [entry] = driver.protect_many([vol], 'daily', {}, concurrency=1)
    assert entry['failed'] is False and entry['changed'] is False
    assert entry['snapshot']['id'] == twin['snap'].id
    assert list(cinder.snaps) == [twin['snap'].id]


def test_without_wait_nothing_is_waited_for(cinder, driver):
    driver.wait = False
    vols = [cinder.add_volume('v%d' % i) for i in range(3)]
    entries = driver.protect_many(vols, 'daily', {}, concurrency=3)
    assert all(e['changed'] and e['snapshot']['status'] == 'creating' for e in entries)
    assert calls(cinder, 'list_snapshots', None) == [] and calls(cinder, 'get_snapshot') == []


def test_a_rotating_bulk_run_waits_together_then_removes_the_oldest(cinder, driver):
    vols = [cinder.add_volume('v%d' % i) for i in range(3)]
    marks = {MANAGED_KEY: 'true', PROTECTION_KEY: 'nightly'}
    old = dict((v.id, [cinder.add_snapshot(v, 'nightly-%d' % n, metadata=dict(marks)) for n in range(2)])
               for v in vols)
    entries = driver.protect_many(vols, 'nightly', {'retain': 2}, concurrency=3)
    new_ids = [e['snapshot']['id'] for e in entries]
    # the new snapshots were waited for by the shared listings only (GETs: the deletions of the oldest)
    assert not [c for c in calls(cinder, 'get_snapshot') if c[1] in new_ids]
    assert len(calls(cinder, 'list_snapshots', None)) == 2
    for volume, entry in zip(vols, entries):
        assert entry['changed'] is True and entry['failed'] is False, entry
        assert entry['deleted'] == [old[volume.id][0].id]
        assert entry['snapshot']['status'] == 'available' and entry['snapshot']['name'].startswith('nightly-2')
        # what stays: the newer of the old two and the new one
        assert sorted(s.id for s in cinder.snaps.values() if s.volume_id == volume.id) == \
            sorted([old[volume.id][1].id, entry['snapshot']['id']])

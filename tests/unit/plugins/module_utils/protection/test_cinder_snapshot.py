"""Cinder snapshot driver logic against an in-memory Cinder (the real Cinder is in tests/integration)."""
import datetime
import itertools
import uuid

import pytest
from openstack import exceptions as sdk_exceptions

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    ConflictError,
    NotFoundError,
    ProtectionError,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import MANAGED_KEY, PROTECTION_KEY
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_snapshot import (
    CinderSnapshotDriver,
)
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj

_clock = itertools.count()


class FakeBlockStorage:
    """Statuses move one step per GET, like a slow backend; records every mutating call."""

    def __init__(self):
        self.volumes_by_id = {}
        self.snaps = {}
        self.calls = []
        self.snapshot_outcome = 'available'

    def add_volume(self, name, status='available', **kwargs):
        vid = kwargs.get('id') or str(uuid.uuid4())
        fields = dict(id=vid, name=name, status=status, size=1, availability_zone='nova', volume_type='default',
                      snapshot_id=None, description=None, metadata={}, attachments=[])
        fields.update(kwargs)
        self.volumes_by_id[vid] = Obj(**fields)
        return self.volumes_by_id[vid]

    def add_snapshot(self, volume, name, status='available', metadata=None, age_seconds=0):
        """A snapshot; the collection's own for protection ``name`` unless ``metadata`` is given ({} = foreign)."""
        if metadata is None:
            metadata = {MANAGED_KEY: 'true', PROTECTION_KEY: name}
        sid = str(uuid.uuid4())
        created = datetime.datetime(2026, 1, 1) + datetime.timedelta(seconds=next(_clock))
        if age_seconds:
            created = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(seconds=age_seconds)
        self.snaps[sid] = Obj(id=sid, name=name, status=status, volume_id=volume.id, size=1, description=None,
                              created_at=created.isoformat(), metadata=dict(metadata or {}), _next=None)
        return self.snaps[sid]

    # -- API -----------------------------------------------------------
    def get_volume(self, vid):
        volume = self.volumes_by_id.get(vid)
        if volume is None:
            raise sdk_exceptions.NotFoundException(message='volume %s not found' % vid)
        if volume.status == 'creating':
            volume.status = 'available'
            return Obj(**dict(volume.__dict__, status='creating'))
        return volume

    def volumes(self, details=True, name=None):
        return [v for v in self.volumes_by_id.values() if name is None or v.name == name]

    def snapshots(self, details=True, volume_id=None):
        """A listing moves statuses one step too (what a bulk run's shared wait polls)."""
        self.calls.append(('list_snapshots', volume_id))
        listed = []
        for snap in list(self.snaps.values()):
            if volume_id is None or snap.volume_id == volume_id:
                listed.append(Obj(**snap.__dict__))
                if snap.status == 'creating':
                    snap.status = self.snapshot_outcome
        return listed

    def get_snapshot(self, sid):
        snap = self.snaps.get(sid)
        if snap is None:
            raise sdk_exceptions.NotFoundException(message='snapshot %s not found' % sid)
        if snap.status == 'creating':
            snap.status = self.snapshot_outcome
            return Obj(**dict(snap.__dict__, status='creating'))
        if snap.status == 'deleting':
            del self.snaps[sid]
            return Obj(**dict(snap.__dict__, status='deleting'))
        return snap

    def create_snapshot(self, volume_id, name, description, force, metadata):
        self.calls.append(('create_snapshot', name))
        volume = self.volumes_by_id[volume_id]
        snap = self.add_snapshot(volume, name, status='creating', metadata=metadata)
        snap.created_at = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None).isoformat()
        return snap

    def delete_snapshot(self, sid, ignore_missing=True):
        self.calls.append(('delete_snapshot', sid))
        if sid in self.snaps:
            self.snaps[sid].status = 'deleting'

    def create_volume(self, **attrs):
        self.calls.append(('create_volume', attrs['name']))
        volume = self.add_volume(attrs['name'], status='creating')
        volume.snapshot_id = attrs['snapshot_id']
        volume.metadata = dict(attrs.get('metadata') or {})
        volume.availability_zone = attrs['availability_zone']
        return volume

    def delete_volume(self, vid, ignore_missing=True):
        self.calls.append(('delete_volume', vid))
        self.volumes_by_id.pop(vid, None)


@pytest.fixture
def cinder():
    return FakeBlockStorage()


@pytest.fixture
def driver(cinder):
    return CinderSnapshotDriver(Obj(block_storage=cinder), wait=True, timeout=5, poll_interval=0.001)


def mutations(cinder):
    return [c for c in cinder.calls if c[0] != 'list_snapshots']


def test_protect_creates_then_is_idempotent(cinder, driver):
    vol = cinder.add_volume('data')
    first = driver.protect('data', 'daily', {})
    assert first.changed is True
    assert first.data['snapshot']['status'] == 'available'
    assert first.data['snapshot']['metadata'][MANAGED_KEY] == 'true'
    second = driver.protect(vol.id, 'daily', {})
    assert second.changed is False
    assert second.data['snapshot']['id'] == first.data['snapshot']['id']
    assert len(cinder.snaps) == 1


def test_identity_is_volume_plus_name(cinder, driver):
    one, two = cinder.add_volume('a'), cinder.add_volume('b')
    cinder.add_snapshot(one, 'daily')
    result = driver.protect('b', 'daily', {})
    assert result.changed is True
    assert result.data['snapshot']['volume_id'] == two.id


def test_check_mode_predicts_and_touches_nothing(cinder, driver):
    cinder.add_volume('data')
    result = driver.protect('data', 'daily', {}, dry_run=True)
    assert result.changed is True
    assert mutations(cinder) == [] and cinder.snaps == {}
    driver.protect('data', 'daily', {})
    assert driver.protect('data', 'daily', {}, dry_run=True).changed is False


def test_in_use_needs_force(cinder, driver):
    cinder.add_volume('data', status='in-use', attachments=[{'server_id': 'srv1'}])
    with pytest.raises(ProtectionError) as info:
        driver.protect('data', 'daily', {'force': False})
    assert 'in-use' in info.value.msg and 'force' in info.value.msg and 'srv1' in info.value.msg
    assert mutations(cinder) == []
    assert driver.protect('data', 'daily', {'force': True}).changed is True


def test_errored_snapshot_is_removed_and_named(cinder, driver):
    cinder.add_volume('data')
    cinder.snapshot_outcome = 'error'
    with pytest.raises(ProtectionError) as info:
        driver.protect('data', 'daily', {})
    assert 'error' in info.value.msg and 'removed' in info.value.msg
    assert cinder.snaps == {}


def test_previous_errored_snapshot_replaced(cinder, driver):
    vol = cinder.add_volume('data')
    bad = cinder.add_snapshot(vol, 'daily', status='error')
    result = driver.protect('data', 'daily', {})
    assert result.changed is True and bad.id in result.data['deleted']
    assert [s.status for s in cinder.snaps.values()] == ['available']


def test_unknown_and_ambiguous_volume(cinder, driver):
    with pytest.raises(NotFoundError) as info:
        driver.protect('nope', 'daily', {})
    assert 'nope' in info.value.msg
    cinder.add_volume('twin')
    cinder.add_volume('twin')
    with pytest.raises(ConflictError) as info:
        driver.protect('twin', 'daily', {})
    assert '2 volumes' in info.value.msg


def test_error_volume_refused(cinder, driver):
    cinder.add_volume('bad', status='error')
    with pytest.raises(ProtectionError) as info:
        driver.protect('bad', 'daily', {})
    assert 'error' in info.value.msg


def test_concurrent_duplicate_settles_on_oldest(cinder, driver):
    vol = cinder.add_volume('data')
    original_create = cinder.create_snapshot

    def racing_create(**kwargs):
        # another run created its snapshot just before ours
        cinder.add_snapshot(vol, kwargs['name'], metadata=kwargs['metadata'])
        return original_create(**kwargs)
    cinder.create_snapshot = racing_create
    result = driver.protect('data', 'daily', {})
    assert result.changed is False
    assert len(cinder.snaps) == 1
    assert result.data['snapshot']['id'] == list(cinder.snaps)[0]


def test_rotation_keeps_newest_and_never_touches_foreign(cinder, driver):
    vol = cinder.add_volume('data')
    foreign = cinder.add_snapshot(vol, 'daily-manual', metadata={})
    managed = {MANAGED_KEY: 'true', 'dataprotection_protection': 'daily'}
    olds = [cinder.add_snapshot(vol, 'daily-%d' % i, metadata=managed) for i in range(3)]
    result = driver.protect('data', 'daily', {'retain': 2})
    assert result.changed is True
    assert sorted(result.data['deleted']) == sorted(s.id for s in olds[:2])
    remaining = set(cinder.snaps)
    assert foreign.id in remaining and olds[2].id in remaining and len(remaining) == 3


def test_rotation_check_mode_predicts_deletions(cinder, driver):
    vol = cinder.add_volume('data')
    managed = {MANAGED_KEY: 'true', 'dataprotection_protection': 'daily'}
    for i in range(3):
        cinder.add_snapshot(vol, 'daily-%d' % i, metadata=managed)
    result = driver.protect('data', 'daily', {'retain': 3}, dry_run=True)
    assert result.changed is True and len(result.data['deleted']) == 1
    assert mutations(cinder) == []


def test_min_age_skips_recent(cinder, driver):
    vol = cinder.add_volume('data')
    managed = {MANAGED_KEY: 'true', 'dataprotection_protection': 'daily'}
    cinder.add_snapshot(vol, 'daily-x', metadata=managed, age_seconds=60)
    result = driver.protect('data', 'daily', {'retain': 3, 'min_age': 3600})
    assert result.changed is False and result.data['rotation_skipped'] is True
    result = driver.protect('data', 'daily', {'retain': 3, 'min_age': 30})
    assert result.changed is True and result.data['rotation_skipped'] is False


def test_delete_twice(cinder, driver):
    vol = cinder.add_volume('data')
    cinder.add_snapshot(vol, 'daily')
    other = cinder.add_snapshot(vol, 'weekly')
    assert driver.delete('data', 'daily', dry_run=True).changed is True
    assert len(cinder.snaps) == 2
    assert driver.delete('data', 'daily').changed is True
    assert list(cinder.snaps) == [other.id]
    assert driver.delete('data', 'daily').changed is False
    assert driver.delete('missing-volume', 'daily').changed is False


def test_restore_idempotent_with_resource_map(cinder, driver):
    vol = cinder.add_volume('data', availability_zone='az9')
    snap = cinder.add_snapshot(vol, 'daily')
    predicted = driver.restore('data', 'daily', {'restore_name': 'copy'}, dry_run=True)
    assert predicted.changed is True and mutations(cinder) == []
    first = driver.restore('data', 'daily', {'restore_name': 'copy'})
    new_id = first.data['restored']['id']
    assert first.changed is True and first.data['resource_map'] == {vol.id: new_id}
    assert first.data['restored']['availability_zone'] == 'az9'
    assert cinder.volumes_by_id[new_id].snapshot_id == snap.id
    again = driver.restore('data', 'daily', {'restore_name': 'copy'})
    assert again.changed is False and again.data['resource_map'] == {vol.id: new_id}


def test_restore_name_taken_by_foreign_volume(cinder, driver):
    vol = cinder.add_volume('data')
    cinder.add_snapshot(vol, 'daily')
    cinder.add_volume('copy')
    with pytest.raises(ConflictError) as info:
        driver.restore('data', 'daily', {'restore_name': 'copy'})
    assert 'copy' in info.value.msg and 'not restored from' in info.value.msg


def test_restore_without_snapshot(cinder, driver):
    cinder.add_volume('data')
    with pytest.raises(NotFoundError) as info:
        driver.restore('data', 'daily', {'restore_name': 'copy'})
    assert 'no snapshot daily' in info.value.msg


def test_bulk_isolates_failures(cinder, driver):
    good = cinder.add_volume('good')
    cinder.add_volume('busy', status='in-use')
    entries = driver.protect_many(['good', 'busy', 'ghost'], 'daily', {}, concurrency=3)
    by_ref = dict((e['volume_ref'], e) for e in entries)
    assert by_ref['good']['changed'] is True and by_ref['good']['failed'] is False
    assert by_ref['busy']['failed'] is True and 'force' in by_ref['busy']['msg']
    assert by_ref['ghost']['failed'] is True and 'not found' in by_ref['ghost']['msg']
    assert [s.volume_id for s in cinder.snaps.values()] == [good.id]


def test_bulk_prefetch_lists_snapshots_once(cinder, driver):
    vols = [cinder.add_volume('v%d' % i) for i in range(5)]
    driver.prefetch_snapshots([v.id for v in vols])
    entries = driver.protect_many(vols, 'daily', {}, concurrency=2, dry_run=True)
    assert all(e['changed'] for e in entries)
    assert [c for c in cinder.calls if c[0] == 'list_snapshots'] == [('list_snapshots', None)]


def _now_iso():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None).isoformat()


def _twin_appears_on_second_listing(listing, add_twin, **match):
    """Wrap a listing call: its first call with ``match`` sees what exists, a same-second twin shows up after it."""
    state = {'calls': 0}

    def wrapped(*args, **kwargs):
        if all(kwargs.get(key) == value for key, value in match.items()):
            state['calls'] += 1
            if state['calls'] == 2:
                add_twin()
        return listing(*args, **kwargs)
    return wrapped


def test_a_young_restored_copy_is_reported_only_after_its_same_second_twin_could_appear(cinder, driver, monkeypatch):
    # Five parallel restores: one run found another's copy (created this second) and reported it, while a
    # twin from the same second with a lower id won the race and the copy was removed by its creator.
    monkeypatch.setattr(driver, 'race_grace', 0.3)
    vol = cinder.add_volume('data')
    snap = cinder.add_snapshot(vol, 'daily')
    marks = {MANAGED_KEY: 'true', 'dataprotection_restored_from': snap.id}
    stamp = _now_iso()
    found = cinder.add_volume('copy', snapshot_id=snap.id, metadata=dict(marks), created_at=stamp,
                              id='ffffffff-0000-0000-0000-000000000000')
    twin = {}

    def add_twin():
        twin['volume'] = cinder.add_volume('copy', snapshot_id=snap.id, metadata=dict(marks), created_at=stamp,
                                           id='00000000-0000-0000-0000-000000000000')
    cinder.volumes = _twin_appears_on_second_listing(cinder.volumes, add_twin, name='copy')
    result = driver.restore('data', 'daily', {'restore_name': 'copy'})
    assert result.changed is False
    assert result.data['resource_map'] == {vol.id: twin['volume'].id}
    assert result.data['duplicates'] == [found.id]


def test_an_old_restored_copy_is_reported_without_waiting(cinder, driver, monkeypatch):
    monkeypatch.setattr(driver, 'race_grace', 30)
    vol = cinder.add_volume('data')
    snap = cinder.add_snapshot(vol, 'daily')
    copy = cinder.add_volume('copy', snapshot_id=snap.id, created_at='2026-01-01T00:00:00',
                             metadata={MANAGED_KEY: 'true', 'dataprotection_restored_from': snap.id})
    started = datetime.datetime.now()
    result = driver.restore('data', 'daily', {'restore_name': 'copy'})
    assert (datetime.datetime.now() - started).total_seconds() < 5
    assert result.changed is False and result.data['resource_map'] == {vol.id: copy.id}


def test_a_young_snapshot_of_another_run_is_reported_only_after_its_same_second_twin_could_appear(
        cinder, driver, monkeypatch):
    monkeypatch.setattr(driver, 'race_grace', 0.3)
    vol = cinder.add_volume('data')
    found = cinder.add_snapshot(vol, 'daily')
    found.created_at = _now_iso()
    twin = {}

    def add_twin():
        snapshot = cinder.add_snapshot(vol, 'daily')
        del cinder.snaps[snapshot.id]
        snapshot.id, snapshot.created_at = '00000000-0000-0000-0000-000000000000', found.created_at
        cinder.snaps[snapshot.id] = twin['snapshot'] = snapshot
    cinder.snapshots = _twin_appears_on_second_listing(cinder.snapshots, add_twin, volume_id=vol.id)
    result = driver.protect('data', 'daily', {})
    assert result.changed is False
    assert result.data['snapshot']['id'] == twin['snapshot'].id

"""Manila share driver logic against an in-memory Manila (the real Manila is in tests/integration)."""
import datetime
import itertools
import uuid

import pytest
from openstack import exceptions as sdk_exceptions

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ConflictError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import bulk, rotation
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import MANAGED_KEY, PROTECTION_KEY, Result
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.manila_share import (
    REVERTED_TO_KEY,
    ManilaShareDriver,
)
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj

_clock = itertools.count()


class Response:
    def __init__(self, body, status_code=200):
        self.body, self.status_code, self.content = body, status_code, b'x' if body else b''

    def json(self):
        return self.body


class FakeManila:
    """Shares and snapshots move one status step per GET; records mutations and requested microversions."""

    def __init__(self):
        self.shares_by_id, self.snaps, self.calls = {}, {}, []
        self.snapshot_outcome, self.revert_outcome = 'available', 'available'

    def add_share(self, name, status='available', **kwargs):
        sid = str(uuid.uuid4())
        fields = dict(id=sid, name=name, status=status, size=1, share_protocol='NFS', share_type='type-1',
                      share_type_name='gold', share_network_id='net-1', availability_zone='az1', snapshot_id=None,
                      description=None, metadata={}, is_snapshot_supported=True)
        fields.update(kwargs)
        self.shares_by_id[sid] = Obj(**fields)
        return self.shares_by_id[sid]

    def add_snapshot(self, share, name, status='available', metadata=None):
        """A snapshot; the collection's own for protection ``name`` unless ``metadata`` is given ({} = foreign)."""
        if metadata is None:
            metadata = {MANAGED_KEY: 'true', PROTECTION_KEY: name}
        sid = str(uuid.uuid4())
        created = datetime.datetime(2026, 1, 1) + datetime.timedelta(seconds=next(_clock))
        self.snaps[sid] = dict(id=sid, name=name, status=status, share_id=share.id, size=share.size,
                               share_size=share.size, share_proto='NFS', description=None,
                               created_at=created.isoformat(), metadata=dict(metadata or {}))
        return self.snaps[sid]

    # -- proxy calls ----------------------------------------------------
    def get_share(self, sid):
        share = self.shares_by_id.get(sid)
        if share is None:
            raise sdk_exceptions.NotFoundException(message='share %s not found' % sid)
        for transient, final in (('creating', 'available'), ('reverting', self.revert_outcome)):
            if share.status == transient:
                share.status = final
                return Obj(**dict(share.__dict__, status=transient))
        return share

    def shares(self, details=True, name=None):
        return [s for s in self.shares_by_id.values() if name is None or s.name == name]

    def create_share(self, **attrs):
        self.calls.append(('create_share', attrs))
        share = self.add_share(attrs['name'], status='creating')
        share.__dict__.update(attrs)
        share.status = 'creating'
        return share

    def delete_share(self, sid, ignore_missing=True):
        self.calls.append(('delete_share', sid))
        self.shares_by_id.pop(sid, None)

    def delete_share_snapshot(self, sid, ignore_missing=True):
        self.calls.append(('delete_snapshot', sid))
        if sid in self.snaps:
            self.snaps[sid]['status'] = 'deleting'

    # -- raw requests ---------------------------------------------------
    def get(self, url, microversion=None):
        assert microversion == '2.73'
        if url.startswith('/snapshots/detail'):
            share_id = url.partition('share_id=')[2] or None
            self.calls.append(('list_snapshots', share_id))
            return Response({'snapshots': [dict(s) for s in self.snaps.values()
                                           if share_id is None or s['share_id'] == share_id]})
        sid = url.rsplit('/', 1)[1]
        snap = self.snaps.get(sid)
        if snap is None:
            raise sdk_exceptions.NotFoundException(message='snapshot %s not found' % sid)
        if snap['status'] == 'creating':
            snap['status'] = self.snapshot_outcome
            return Response({'snapshot': dict(snap, status='creating')})
        if snap['status'] == 'deleting':
            del self.snaps[sid]
            return Response({'snapshot': dict(snap)})
        return Response({'snapshot': dict(snap)})

    def post(self, url, json=None, microversion=None):
        assert microversion == '2.73'
        self.calls.append(('post', url, json))
        if url == '/snapshots':
            body = json['snapshot']
            snap = self.add_snapshot(self.shares_by_id[body['share_id']], body['name'], status='creating',
                                     metadata=body['metadata'])
            snap['created_at'] = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None).isoformat()
            return Response({'snapshot': dict(snap)}, 202)
        share = self.shares_by_id[url.split('/')[2]]
        if url.endswith('/action'):
            share.status = 'reverting'
            return Response(None, 202)
        share.metadata = dict(share.metadata, **json['metadata'])
        return Response({'metadata': share.metadata})


@pytest.fixture
def manila():
    return FakeManila()


@pytest.fixture
def driver(manila):
    return ManilaShareDriver(Obj(shared_file_system=manila), wait=True, timeout=5, poll_interval=0.001)


def mutations(manila):
    return [c for c in manila.calls if c[0] != 'list_snapshots']


def test_protect_check_mode_then_idempotent(manila, driver):
    share = manila.add_share('files')
    predicted = driver.protect('files', 'daily', {}, dry_run=True)
    assert predicted.changed is True and mutations(manila) == []
    assert predicted.data['share_snapshot']['share_id'] == share.id
    first = driver.protect('files', 'daily', {'description': 'd', 'metadata': {'owner': 'x'}})
    assert first.changed is True and first.data['share_snapshot']['status'] == 'available'
    stored = list(manila.snaps.values())[0]
    assert stored['metadata'] == {'owner': 'x', MANAGED_KEY: 'true', 'dataprotection_protection': 'daily'}
    second = driver.protect(share.id, 'daily', {})
    assert second.changed is False and second.data['share_snapshot']['id'] == stored['id']
    assert driver.protect('files', 'daily', {}, dry_run=True).changed is False


def test_snapshot_error_removed(manila, driver):
    manila.add_share('files')
    manila.snapshot_outcome = 'error'
    with pytest.raises(ProtectionError) as info:
        driver.protect('files', 'daily', {})
    assert 'share snapshot daily' in info.value.msg and 'status error' in info.value.msg
    assert 'the failed share snapshot was removed' in info.value.msg
    assert manila.snaps == {}


def test_share_not_available_or_without_snapshot_support(manila, driver):
    manila.add_share('bad', status='error')
    with pytest.raises(ProtectionError) as info:
        driver.protect('bad', 'daily', {})
    assert 'is error: it cannot be snapshotted' in info.value.msg
    manila.add_share('nosnap', is_snapshot_supported=False)
    with pytest.raises(ProtectionError) as info:
        driver.protect('nosnap', 'daily', {})
    assert 'does not support snapshots' in info.value.msg and 'gold' in info.value.msg
    assert mutations(manila) == []


def test_restore_new_share_keeps_source_settings(manila, driver):
    share = manila.add_share('files', size=3)
    snap = manila.add_snapshot(share, 'daily')
    options = {'restore_name': 'copy', 'restore_description': 'r'}
    assert driver.restore('files', 'daily', options, dry_run=True).changed is True and mutations(manila) == []
    first = driver.restore('files', 'daily', options)
    created = [c[1] for c in manila.calls if c[0] == 'create_share'][0]
    assert created['snapshot_id'] == snap['id'] and created['size'] == 3
    assert (created['share_protocol'], created['share_type'], created['share_network_id'],
            created['availability_zone']) == ('NFS', 'type-1', 'net-1', 'az1')
    assert created['metadata']['dataprotection_restored_from'] == snap['id']
    new_id = first.data['restored']['id']
    assert first.changed is True and first.data['resource_map'] == {share.id: new_id}
    again = driver.restore('files', 'daily', options)
    assert again.changed is False and again.data['resource_map'] == {share.id: new_id}


def test_restore_needs_a_target(manila, driver):
    share = manila.add_share('files')
    manila.add_snapshot(share, 'daily')
    with pytest.raises(ProtectionError) as info:
        driver.restore('files', 'daily', {})
    assert 'restore_name' in info.value.msg and 'share_id' in info.value.msg


def test_revert_latest_only_other_share_refused_and_idempotent(manila, driver):
    share = manila.add_share('files')
    other = manila.add_share('other')
    old = manila.add_snapshot(share, 'old')
    new = manila.add_snapshot(share, 'new')
    with pytest.raises(ProtectionError) as info:
        driver.restore('files', 'old', {'share_id': share.id})
    assert 'only to its latest snapshot' in info.value.msg and new['id'] in info.value.msg and old['id'] in info.value.msg
    with pytest.raises(ConflictError) as info:
        driver.restore('files', 'new', {'share_id': other.id})
    assert 'only into its own share' in info.value.msg
    assert mutations(manila) == []
    predicted = driver.restore('files', 'new', {'share_id': 'files'}, dry_run=True)
    assert predicted.changed is True and mutations(manila) == []
    done = driver.restore('files', 'new', {'share_id': share.id})
    assert done.changed is True and done.data['reverted'] is True and done.data['resource_map'] == {share.id: share.id}
    assert ('post', '/shares/%s/action' % share.id, {'revert': {'snapshot_id': new['id']}}) in manila.calls
    assert manila.shares_by_id[share.id].metadata[REVERTED_TO_KEY] == new['id']
    assert driver.restore('files', 'new', {'share_id': share.id}).changed is False
    assert driver.restore('files', 'new', {'share_id': share.id}, dry_run=True).changed is False


def test_revert_failure_is_one_clear_message(manila, driver):
    share = manila.add_share('files')
    manila.add_snapshot(share, 'daily')
    manila.revert_outcome = 'reverting_error'
    with pytest.raises(ProtectionError) as info:
        driver.restore('files', 'daily', {'share_id': share.id})
    assert 'revert of share files' in info.value.msg and 'reverting_error' in info.value.msg
    assert REVERTED_TO_KEY not in manila.shares_by_id[share.id].metadata


def test_rotation_and_absent(manila, driver):
    share = manila.add_share('files')
    foreign = manila.add_snapshot(share, 'nightly-manual', metadata={})
    managed = {MANAGED_KEY: 'true', 'dataprotection_protection': 'nightly'}
    olds = [manila.add_snapshot(share, 'nightly-%d' % i, metadata=managed) for i in range(2)]
    result = driver.protect('files', 'nightly', {'retain': 2})
    assert result.changed is True and result.data['deleted'] == [olds[0]['id']]
    gone = driver.delete('files', 'nightly')
    assert gone.changed is True and set(manila.snaps) == {foreign['id']}


def test_protectables_skip_failed_shares(manila, driver):
    good = manila.add_share('good')
    manila.add_share('broken', status='error')
    manila.add_share('going', status='deleting')
    manila.add_snapshot(good, 'daily')
    listed, skipped = driver.protectables()
    assert [e['name'] for e in listed] == ['good'] and [s['name'] for s in listed[0]['snapshots']] == ['daily']
    assert sorted(s['status'] for s in skipped) == ['deleting', 'error']
    assert [c for c in manila.calls if c[0] == 'list_snapshots'] == [('list_snapshots', None)]


def test_rotation_plan_is_pure():
    managed = {MANAGED_KEY: 'true', 'dataprotection_protection': 'p'}
    now = datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)
    snaps = [Obj(id=str(i), name='p-%d' % i, status=status, metadata=managed,
                 created_at='2026-01-01T00:00:0%d' % i) for i, status in enumerate(['available', 'error', 'available'])]
    plan = rotation.RotationPlan(snaps + [Obj(id='x', name='p', status='available', metadata={},
                                              created_at='2025-01-01T00:00:00')], 2, 0, {'error'}, now=now)
    assert plan.create and [s.id for s in plan.doomed] == ['1', '0'] and plan.changed
    skip = rotation.RotationPlan(snaps, 2, 10 ** 9, {'error'}, now=now)
    assert not skip.create and [s.id for s in skip.doomed] == ['1']


def test_bulk_summary_names_each_failure():
    def call(item):
        if item == 'bad':
            raise ProtectionError('share bad: not found')
        if item == 'boom':
            raise RuntimeError('kaput')
        return Result(True, deleted=['s1'])
    entries = bulk.run_many(['ok', 'bad', 'boom'], call, 'share', 'share_ref', concurrency=2)
    with pytest.raises(ProtectionError) as info:
        bulk.summarize(entries, 'share', 'share_snapshots')
    assert info.value.msg == '2 of 3 shares failed: share bad: not found; share boom: RuntimeError: kaput'
    assert info.value.result['deleted'] == ['s1'] and info.value.result['changed'] is True
    assert bulk.summarize(entries[:1], 'share', 'share_snapshots')['share_snapshots'][0]['share_ref'] == 'ok'

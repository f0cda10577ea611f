"""Manifests of project backups (issue 14): a project restore takes what ONE backup session covered.

In-memory freezer-api and Cinder (test_freezer.py's fakes), the manifests in a local-directory bank. The real
services run in tests/integration/modules/test_freezer_project_sessions.py.
"""
import time

import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.base import CheckpointBank
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.local import LocalStore
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.manifests import (
    ID_PREFIX,
    PLUGIN,
    ProjectManifests,
    iso_utc,
)
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj

from test_freezer import OPTS, PROJECT, FakeCompute, FakeFreezer, RestoringCinder, driver_for, finishing_scheduler


class Cinder(RestoringCinder):
    """Backups get real creation times (the agent's backups are 'creating' first, as in test_freezer)."""

    def agent_backup(self, volume_id, name):
        bid = super().agent_backup(volume_id, name)
        self.bks[bid].created_at = time.strftime('%Y-%m-%dT%H:%M:%S.000000', time.gmtime())
        self.bks[bid].metadata = {'created_by': 'freezer', 'freezer_backup_id': 'rec-' + bid}
        return bid


class Broken:
    """A bank store that cannot write (Swift refusing)."""

    kind = 'swift'
    location = 'container nowhere'

    def list(self, prefix):
        return []

    def put(self, key, data):
        raise ProtectionError('cannot write %s in the bank: 503 Service Unavailable' % key)


@pytest.fixture
def env(tmp_path):
    cloud = Obj(block_storage=Cinder(), compute=FakeCompute(enabled=False), current_project_id=PROJECT, identity=None)
    api = FakeFreezer()
    api.scheduler = finishing_scheduler(cloud)
    bank = CheckpointBank(LocalStore(str(tmp_path / 'bank')))
    return Obj(cloud=cloud, api=api, bank=bank)


def ops(env, bank=None):
    driver = driver_for(env.cloud, env.api)
    driver._manifests = ProjectManifests(bank or env.bank)
    return driver


def run(env, operation, dry_run=False, bank=None, **options):
    return ops(env, bank).run_operation('project', None, 'tenant', operation, dict(OPTS, **options), dry_run=dry_run)


def set_stamp(env, manifest_id, stamp):
    index = env.bank.get(manifest_id)
    env.bank.update(index, extra=dict(index['extra'], time_stamp=stamp))


def test_restore_takes_only_the_newest_session_and_restore_from_date_an_older_one(env):
    cinder = env.cloud.block_storage
    a, b = cinder.add_volume('a'), cinder.add_volume('b')
    first = run(env, 'backup')
    manifest = first.data['manifest']
    assert sorted(v['id'] for v in manifest['volumes']) == sorted([a.id, b.id])
    assert all(v['cinder_backup_id'] in cinder.bks and v['freezer_backup_id'] == 'rec-' + v['cinder_backup_id']
               for v in manifest['volumes'])
    [key] = [k for k in env.bank.store.list('checkpoints/') if k.endswith('index.json')]
    assert key.startswith('checkpoints/' + ID_PREFIX) and env.bank.get(manifest['id'])['plugin'] == PLUGIN
    set_stamp(env, manifest['id'], 1796000000)
    del cinder.vols[b.id]
    second = run(env, 'backup')
    assert [v['id'] for v in second.data['manifest']['volumes']] == [a.id]
    set_stamp(env, second.data['manifest']['id'], 1796007200)
    del cinder.vols[a.id]

    check = run(env, 'restore', dry_run=True)
    assert check.changed is True and list(check.data['resource_map']) == [a.id] and not check.data['warnings']
    assert cinder.vols == {} and check.data['manifest']['id'] == second.data['manifest']['id']
    done = run(env, 'restore')
    [new_a] = list(cinder.vols)
    assert done.data['resource_map'] == {a.id: new_a} and cinder.vols[new_a].name == 'tenant-' + a.id
    [a2] = [v['cinder_backup_id'] for v in second.data['manifest']['volumes']]
    assert cinder.vols[new_a].metadata['dataprotection_restored_from'] == a2
    assert run(env, 'restore').changed is False

    older = run(env, 'restore', restore_from_date=iso_utc(1796003600), restore_prefix='old-')
    assert sorted(older.data['resource_map']) == sorted([a.id, b.id])
    assert older.data['manifest']['id'] == manifest['id']
    restored_from = sorted(cinder.vols[v].metadata['dataprotection_restored_from']
                           for v in older.data['resource_map'].values())
    assert restored_from == sorted(v['cinder_backup_id'] for v in manifest['volumes'])
    with pytest.raises(ProtectionError, match='no manifest, no nova backup record'):
        env.cloud.block_storage.bks.clear()
        run(env, 'restore', restore_from_date=iso_utc(1795000000))


def test_without_manifest_the_old_union_with_a_warning(env):
    cinder = env.cloud.block_storage
    a, b = cinder.add_volume('a'), cinder.add_volume('b')
    run(env, 'backup')
    for key in env.bank.store.list('checkpoints/'):
        env.bank.store.delete(key)
    del cinder.vols[b.id]
    run(env, 'backup', bank=CheckpointBank(LocalStore(env.bank.store.root + '-other')))
    result = run(env, 'restore', dry_run=True)
    assert sorted(result.data['resource_map']) == sorted([a.id, b.id]) and result.data['manifest'] is None
    [warning] = result.data['warnings']
    assert 'no manifest of Freezer backup tenant' in warning and 'may include resources deleted' in warning


def test_newer_backups_outside_any_manifest_are_named(env):
    cinder = env.cloud.block_storage
    a = cinder.add_volume('a')
    first = run(env, 'backup')
    set_stamp(env, first.data['manifest']['id'], int(time.time()) - 60)
    unrecorded = cinder.agent_backup(a.id, 'tenant')  # a managed job's run, say
    cinder.bks[unrecorded].status = 'available'
    result = run(env, 'restore', dry_run=True)
    [warning] = result.data['warnings']
    assert unrecorded in warning and 'are not restored' in warning


def test_a_manifest_that_cannot_be_written_fails_the_backup_and_leaves_nothing(env):
    cinder = env.cloud.block_storage
    cinder.add_volume('a')
    with pytest.raises(ProtectionError) as info:
        run(env, 'backup', bank=CheckpointBank(Broken()))
    assert '503 Service Unavailable' in info.value.msg and 'was removed' in info.value.msg, info.value.msg
    assert cinder.bks == {} and env.api.jobs == {}


def test_unreadable_bank_refuses_the_backup_before_anything_is_made(env):
    class Unreadable(Broken):
        def list(self, prefix):
            raise ProtectionError('cannot list checkpoints/ in the bank: no object-store endpoint')

    env.cloud.block_storage.add_volume('a')
    for dry_run in (True, False):
        with pytest.raises(ProtectionError, match='manifests of project backups .* cannot be read'):
            run(env, 'backup', dry_run=dry_run, bank=CheckpointBank(Unreadable()))
    assert env.api.jobs == {} and env.cloud.block_storage.bks == {}


def test_admin_removes_the_backups_of_gone_volumes_and_the_manifests(env):
    cinder = env.cloud.block_storage
    a, b = cinder.add_volume('a'), cinder.add_volume('b')
    for bid in [run(env, 'backup').data['manifest']['id'], run(env, 'backup').data['manifest']['id']]:
        assert env.bank.get(bid)['status'] == 'available'
    for backup in cinder.bks.values():
        backup.status = 'available'
    del cinder.vols[b.id]
    check = run(env, 'admin', dry_run=True)
    assert check.changed is True and len(check.data['deleted_backups']) == 4
    assert len(check.data['deleted_manifests']) == 2
    assert len(cinder.bks) == 4 and len(env.bank.store.list('checkpoints/')) == 2
    done = run(env, 'admin')
    assert sorted(done.data['deleted_manifests']) == sorted(check.data['deleted_manifests'])
    assert cinder.bks == {} and env.bank.store.list('checkpoints/') == [] and env.api.jobs == {}
    again = run(env, 'admin')
    assert again.changed is False and again.data['deleted_manifests'] == []


def test_volume_admin_drops_the_manifests_naming_its_removed_backups(env):
    cinder = env.cloud.block_storage
    a = cinder.add_volume('a')
    cinder.add_volume('b')
    manifest = run(env, 'backup').data['manifest']
    for backup in cinder.bks.values():
        backup.status = 'available'
    result = driver_for(env.cloud, env.api)
    result._manifests = ProjectManifests(env.bank)
    done = result.run_operation('volume', a.id, 'tenant', 'admin', OPTS)
    assert done.data['deleted_manifests'] == [manifest['id']] and len(cinder.bks) == 1


def test_a_cloud_without_object_storage_keeps_no_manifest_and_says_so(env):
    from keystoneauth1 import exceptions as ksa_exceptions

    class NoSwift:
        def get_endpoint(self):
            raise ksa_exceptions.EndpointNotFound('object-store')

    env.cloud.object_store = NoSwift()
    cinder = env.cloud.block_storage
    a = cinder.add_volume('a')
    backup = driver_for(env.cloud, env.api).run_operation('project', None, 'tenant', 'backup', OPTS)
    assert backup.changed is True and backup.data['manifest'] is None and len(cinder.bks) == 1
    assert 'no object storage' in backup.data['warnings'][0]
    del cinder.vols[a.id]
    restore = driver_for(env.cloud, env.api).run_operation('project', None, 'tenant', 'restore', OPTS, dry_run=True)
    assert list(restore.data['resource_map']) == [a.id] and 'no object storage' in restore.data['warnings'][0]

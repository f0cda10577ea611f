"""CinderBackups (protection/cinder_backup.py) against an in-memory Cinder whose statuses move one step per GET."""
import uuid

import pytest
from openstack import exceptions as sdk_exceptions

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    MANAGED_KEY,
    PROTECTION_KEY,
    RESTORED_FROM_KEY,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_backup import CinderBackups
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj


class FakeBlockStorage:
    """Each backup/volume has a queue of statuses; every GET pops the next one (the last one stays)."""

    def __init__(self):
        self.backups_by_id = {}
        self.volumes_by_id = {}
        self.plans = {}
        self.calls = []
        self.refuse_delete = False
        self.backup_outcome = ['creating', 'available']
        self.volume_outcome = ['creating', 'available']
        self.restore_outcome = ['restoring', 'available']

    def _advance(self, store, rid):
        if rid not in store:
            raise sdk_exceptions.NotFoundException('%s not found' % rid)
        plan = self.plans.get(rid)
        if plan:
            store[rid].status = plan.pop(0)
            if store[rid].status == 'gone':
                del store[rid]
                raise sdk_exceptions.NotFoundException('%s not found' % rid)
        return store[rid]

    def add_backup(self, volume_id, name, status='available', **kwargs):
        fields = dict(id=str(uuid.uuid4()), name=name, status=status, volume_id=volume_id, size=2,
                      description=None, created_at='2026-12-02T10:00:00', availability_zone='nova',
                      fail_reason=None, metadata={})
        fields.update(kwargs)
        backup = Obj(**fields)
        self.backups_by_id[backup.id] = backup
        return backup

    # -- the openstacksdk block_storage calls CinderBackups makes ----------------
    def get_backup(self, backup_id):
        return self._advance(self.backups_by_id, backup_id)

    def get_volume(self, volume_id):
        return self._advance(self.volumes_by_id, volume_id)

    def backups(self, details=True, volume_id=None):
        return [b for b in self.backups_by_id.values() if b.volume_id == volume_id]

    def create_backup(self, **kwargs):
        self.calls.append(('create_backup', kwargs))
        backup = self.add_backup(kwargs['volume_id'], kwargs['name'], status='creating',
                                 metadata=kwargs.get('metadata'), fail_reason='backend broke')
        self.plans[backup.id] = list(self.backup_outcome)
        return backup

    def delete_backup(self, backup_id, ignore_missing=True):
        self.calls.append(('delete_backup', backup_id))
        if self.refuse_delete:
            raise sdk_exceptions.BadRequestException('Invalid backup: backup status must be available or error')
        self.plans[backup_id] = ['deleting', 'gone']

    def create_volume(self, **kwargs):
        self.calls.append(('create_volume', kwargs))
        volume = Obj(id=str(uuid.uuid4()), status='creating', **kwargs)
        self.volumes_by_id[volume.id] = volume
        self.plans[volume.id] = list(self.volume_outcome)
        return volume

    def restore_backup(self, backup_id, volume=None):
        self.calls.append(('restore_backup', backup_id, volume))
        self.plans[backup_id] = list(self.restore_outcome)
        self.plans[volume] = ['restoring-backup', 'available']

    def delete_volume(self, volume_id, ignore_missing=True):
        self.calls.append(('delete_volume', volume_id))
        self.plans[volume_id] = ['deleting', 'gone']


@pytest.fixture
def cinder():
    return FakeBlockStorage()


@pytest.fixture
def backups(cinder):
    return CinderBackups(Obj(block_storage=cinder), timeout=5, poll_interval=0.001)


def calls(cinder, kind):
    return [c for c in cinder.calls if c[0] == kind]


def test_create_waits_and_marks_the_backup_as_ours(backups, cinder):
    backup, changed = backups.create('vol-1', 'nightly', protection='nightly-p')
    assert changed is True and backup.status == 'available'
    [(_kind, kwargs)] = calls(cinder, 'create_backup')
    assert kwargs['metadata'] == {MANAGED_KEY: 'true', PROTECTION_KEY: 'nightly-p'} and kwargs['force'] is True


def test_create_reuses_a_healthy_backup_of_that_name(backups, cinder):
    existing = cinder.add_backup('vol-1', 'nightly')
    cinder.add_backup('vol-1', 'nightly', status='error')
    backup, changed = backups.create('vol-1', 'nightly')
    assert (backup.id, changed) == (existing.id, False)
    assert calls(cinder, 'create_backup') == []


def test_create_in_check_mode_touches_nothing(backups, cinder):
    assert backups.create('vol-1', 'nightly', dry_run=True) == (None, True)
    assert cinder.calls == []


def test_a_failed_backup_is_removed_and_the_reason_named(backups, cinder):
    cinder.backup_outcome = ['creating', 'error']
    with pytest.raises(ProtectionError) as info:
        backups.create('vol-1', 'nightly')
    assert 'backend broke' in info.value.msg and 'the failed backup was removed' in info.value.msg
    assert len(calls(cinder, 'delete_backup')) == 1
    assert cinder.backups_by_id == {}


def test_a_failed_backup_cinder_refuses_to_remove_is_named(backups, cinder):
    cinder.backup_outcome = ['creating', 'error']
    cinder.refuse_delete = True
    with pytest.raises(ProtectionError) as info:
        backups.create('vol-1', 'nightly')
    [backup_id] = list(cinder.backups_by_id)
    assert 'the failed backup %s could not be removed' % backup_id in info.value.msg
    assert 'HTTP' in info.value.msg or 'Invalid backup' in info.value.msg


def test_delete_waits_until_gone_and_says_whether_it_existed(backups, cinder):
    backup = cinder.add_backup('vol-1', 'nightly')
    assert backups.delete(backup.id) is True
    assert backup.id not in cinder.backups_by_id
    assert backups.delete(backup.id) is False


def test_restore_to_a_new_volume_marks_it_restored_from_the_backup(backups, cinder):
    backup = cinder.add_backup('vol-gone', 'nightly')
    volume = backups.restore_to_new_volume(backup.id, 'dr-copy', availability_zone='az2', volume_type='fast')
    assert volume.status == 'available'
    [(_kind, kwargs)] = calls(cinder, 'create_volume')
    assert kwargs['size'] == backup.size and kwargs['availability_zone'] == 'az2' and kwargs['volume_type'] == 'fast'
    assert kwargs['metadata'] == {MANAGED_KEY: 'true', RESTORED_FROM_KEY: backup.id}
    assert calls(cinder, 'restore_backup') == [('restore_backup', backup.id, volume.id)]


def test_a_failed_restore_removes_the_new_volume(backups, cinder):
    backup = cinder.add_backup('vol-gone', 'nightly')
    cinder.restore_outcome = ['restoring', 'error']
    with pytest.raises(ProtectionError) as info:
        backups.restore_to_new_volume(backup.id, 'dr-copy')
    [(_kind, volume_id)] = calls(cinder, 'delete_volume')
    assert 'restore of backup %s into volume %s failed' % (backup.id, volume_id) in info.value.msg
    assert 'volume %s was removed' % volume_id in info.value.msg


@pytest.mark.parametrize('status', ['error', 'creating'])
def test_only_an_available_backup_is_restored(backups, cinder, status):
    backup = cinder.add_backup('vol-gone', 'nightly', status=status)
    with pytest.raises(ProtectionError) as info:
        backups.restore_to_new_volume(backup.id, 'dr-copy')
    assert 'backup %s is %s: it cannot be restored' % (backup.id, status) in info.value.msg
    assert calls(cinder, 'create_volume') == []

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cinder backups: create, restore to a new volume, delete; every wait through the shared waiter.

A service, not a protection driver of its own: used by drivers that protect
volumes with a full copy outside the volume's backend (``backup_mode:
backup`` of the pod driver) and by Freezer's disaster-recovery restore (a
``cindernative`` backup into a new volume). A backup that ends in ``error`` is
removed before the failure is raised, or named when Cinder refuses its
removal. Statuses and views: protection/cinder.py.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError, WaitFailed
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import get_or_none, reason_of
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import cinder
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    MANAGED_KEY,
    PROTECTION_KEY,
    RESTORED_FROM_KEY,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.service import CloudService

backup_view = cinder.backup_view


class CinderBackups(CloudService):
    """Create, restore (into a new volume) and delete Cinder backups, waiting for Cinder's own result."""

    resource_kind = 'volume'

    def get_backup(self, backup_id):
        return get_or_none(self.conn.block_storage.get_backup, backup_id)

    def get_volume(self, volume_id):
        return get_or_none(self.conn.block_storage.get_volume, volume_id)

    def find_backups(self, volume_id, name):
        """The backups of ``volume_id`` named ``name``."""
        return [b for b in self.conn.block_storage.backups(details=True, volume_id=volume_id) if b.name == name]

    def create(self, volume_id, name, description=None, force=True, protection=None, dry_run=False):
        """A backup of the volume, waited for; an existing healthy one of that name is reused (changed False)."""
        existing = [b for b in self.find_backups(volume_id, name) if b.status not in cinder.BACKUP_FAIL]
        if existing:
            backup = existing[0]
            if backup.status != 'available' and not dry_run:
                backup = self._wait_backup(backup)
            return backup, False
        if dry_run:
            return None, True
        metadata = {MANAGED_KEY: 'true', PROTECTION_KEY: protection or name}
        backup = self.conn.block_storage.create_backup(volume_id=volume_id, name=name, description=description,
                                                       force=bool(force), metadata=metadata)
        return self._wait_backup(backup), True

    def _wait_backup(self, backup):
        describe = 'backup %s (%s) of volume %s' % (backup.name, backup.id, backup.volume_id)
        try:
            return self.wait_for(lambda: self.get_backup(backup.id), cinder.BACKUP_OK, cinder.BACKUP_FAIL,
                                 cinder.BACKUP_TRANSIENT, describe=describe)
        except WaitFailed as exc:
            reason = getattr(exc.last, 'fail_reason', None)
            left = self.try_delete(backup.id)
            raise ProtectionError('%s%s; %s' % (exc.msg, ' (%s)' % reason if reason else '', left),
                                  backup=backup_view(exc.last))

    def try_delete(self, backup_id):
        try:
            self.delete(backup_id)
            return 'the failed backup was removed'
        except Exception as exc:  # pylint: disable=broad-except
            return 'the failed backup %s could not be removed (%s)' % (backup_id, reason_of(exc, self.conn))

    def delete(self, backup_id):
        """Delete a backup and wait until it is gone; True when it existed."""
        backup = self.get_backup(backup_id)
        if backup is None:
            return False
        if backup.status in cinder.BACKUP_TRANSIENT:
            self.wait_for(lambda: self.get_backup(backup_id), cinder.BACKUP_SETTLED,
                          describe='backup %s (%s)' % (backup.name, backup_id))
        self.conn.block_storage.delete_backup(backup_id, ignore_missing=True)
        self.wait_for(lambda: self.get_backup(backup_id), cinder.GONE, fail=cinder.BACKUP_DELETE_FAIL,
                      describe='deletion of backup %s (%s)' % (backup.name, backup_id))
        return True

    def restore_to_new_volume(self, backup_id, name, description=None, availability_zone=None, volume_type=None,
                              metadata=None):
        """A new volume holding the backup: an empty volume of the backup's size, then a backup restore into it.

        Restoring into a volume we created (rather than letting Cinder create one) lets the volume carry the
        collection's metadata and a caller-chosen zone and type. A volume that fails is removed.
        """
        backup = self.get_backup(backup_id)
        if backup is None or backup.status != 'available':
            raise ProtectionError('backup %s is %s: it cannot be restored'
                                  % (backup_id, backup.status if backup is not None else 'gone'))
        bs = self.conn.block_storage
        kwargs = dict(name=name, description=description, size=backup.size,
                      metadata=dict(metadata or {}, **{MANAGED_KEY: 'true', RESTORED_FROM_KEY: backup.id}))
        if availability_zone or backup.availability_zone:
            kwargs['availability_zone'] = availability_zone or backup.availability_zone
        if volume_type:
            kwargs['volume_type'] = volume_type
        volume = bs.create_volume(**kwargs)
        try:
            volume = self._wait_volume(volume.id, 'volume %s (%s) for the restore of backup %s'
                                       % (name, volume.id, backup.id))
            bs.restore_backup(backup.id, volume=volume.id)
            self.wait_for(lambda: self.get_backup(backup.id), cinder.BACKUP_OK, cinder.BACKUP_FAIL,
                          cinder.BACKUP_TRANSIENT, describe='restore of backup %s (%s)' % (backup.name, backup.id))
            volume = self._wait_volume(volume.id, 'volume %s (%s) restored from backup %s'
                                       % (name, volume.id, backup.id))
        except Exception as exc:  # pylint: disable=broad-except
            raise ProtectionError('restore of backup %s into volume %s failed: %s; %s'
                                  % (backup.id, volume.id, reason_of(exc, self.conn), self.remove_volume(volume.id)))
        return volume

    def _wait_volume(self, volume_id, describe):
        return self.wait_for(lambda: self.get_volume(volume_id), cinder.RESTORED_OK, cinder.RESTORED_FAIL,
                             cinder.VOLUME_TRANSIENT, describe=describe)

    def remove_volume(self, volume_id):
        """Delete a volume this collection created; say what happened."""
        try:
            volume = self.get_volume(volume_id)
            if volume is not None and volume.status in cinder.VOLUME_TRANSIENT:
                self.wait_for(lambda: self.get_volume(volume_id),
                              cinder.VOLUME_OK | cinder.GONE | {'error'}, describe='volume %s' % volume_id)
            self.conn.block_storage.delete_volume(volume_id, ignore_missing=True)
            return 'volume %s was removed' % volume_id
        except Exception as exc:  # pylint: disable=broad-except
            return 'volume %s could not be removed (%s)' % (volume_id, reason_of(exc, self.conn))

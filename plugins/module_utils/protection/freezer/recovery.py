# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Cinder side of Freezer's ``cindernative`` protections, where Freezer 19's agent cannot do the job:

* which Cinder backup a restore takes (the newest available one of the protection, or the one asked for);
* disaster recovery - the backup restored into a NEW volume through Cinder's backup-restore API (the agent
  restores only into the existing volume, so not after the source was deleted);
* removal of one protection's backups (the agent's ``admin`` removes every Freezer backup of the volume,
  whatever its backup_name).

Only backups Freezer made (metadata ``created_by: freezer``) with the protection's name are ever removed.
"""

from __future__ import annotations

import datetime

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    PROTECTION_KEY,
    RESTORED_FROM_KEY,
    parse_time,
    utcnow,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_backup import CinderBackups


def made_by_freezer(backup):
    return (getattr(backup, 'metadata', None) or {}).get('created_by') == 'freezer'


def _age_key(backup):
    return (str(getattr(backup, 'created_at', None) or ''), backup.id)


def chains(backups):
    """Oldest first, each full backup with the incrementals that follow it: [[full, incr, ...], ...]."""
    result = []
    for backup in sorted(backups, key=_age_key):
        if getattr(backup, 'is_incremental', False) and result:
            result[-1].append(backup)
        else:
            result.append([backup])
    return result


class NativeBackups(CinderBackups):
    """Cinder backups of Freezer ``cindernative`` protections of one volume."""

    def of_protection(self, volume_id, name):
        """The backups of ``volume_id`` named ``name`` (any status), oldest first."""
        return sorted([b for b in self.conn.block_storage.backups(details=True, volume_id=volume_id)
                       if b.volume_id == volume_id and b.name == name], key=_age_key)

    def pick(self, volume_id, name, options, describe):
        """The backup a restore takes: ``restore_backup_id``, else the newest available one of the protection
        (taken before ``restore_from_date`` when given)."""
        if options.get('restore_backup_id'):
            backup = self.get_backup(options['restore_backup_id'])
            if backup is None:
                raise NotFoundError('restore_backup_id %s: no such Cinder backup' % options['restore_backup_id'])
            if volume_id and backup.volume_id != volume_id:
                raise ProtectionError('restore_backup_id %s is a backup of volume %s, not of %s'
                                      % (backup.id, backup.volume_id, describe))
            return backup
        backups = [b for b in self.of_protection(volume_id, name) if b.status == 'available']
        if options.get('restore_from_date'):
            cutoff = str(options['restore_from_date'])
            backups = [b for b in backups if str(b.created_at or '') <= cutoff]
        if not backups:
            raise NotFoundError('%s has no available Cinder backup named %s to restore from' % (describe, name),
                                resource=dict(type='volume', id=volume_id))
        return backups[-1]

    # -- one protection's backups -------------------------------------------
    def to_remove(self, volume_id, name, options, now=None):
        """What ``admin`` removes of this protection, newest first (incrementals before their full backup).

        ``fullbackup_rotation`` keeps that many newest full backups with their incrementals;
        ``remove_older_than`` (days, default 0 = all) removes whole chains whose newest backup is older.
        """
        ours = [b for b in self.of_protection(volume_id, name) if made_by_freezer(b)]
        grouped = chains(ours)
        if options.get('fullbackup_rotation'):
            keep = int(options['fullbackup_rotation'])
            doomed = grouped[:-keep] if keep < len(grouped) else []
        else:
            days = float(options.get('remove_older_than') or 0)
            cutoff = (now or utcnow()) - datetime.timedelta(days=days)
            doomed = [c for c in grouped if days == 0 or all(
                (parse_time(getattr(b, 'created_at', None)) or cutoff) < cutoff for b in c)]
        return sorted([b for chain in doomed for b in chain], key=_age_key, reverse=True)

    def remove(self, backups):
        """Delete these backups, newest first; ids removed and failures named (never raised half-way)."""
        removed, kept = [], []
        for backup in backups:
            try:
                if self.delete(backup.id):
                    removed.append(backup.id)
            except Exception as exc:  # pylint: disable=broad-except
                kept.append('Cinder backup %s (%s)' % (backup.id, getattr(exc, 'msg', exc)))
        return removed, kept

    # -- disaster recovery --------------------------------------------------
    def restored_copy(self, backup_id, volume_name):
        """A volume restored earlier from this backup under this name (a second run finds it: no change)."""
        for volume in self.conn.block_storage.volumes(details=True, name=volume_name):
            if volume.name == volume_name and (volume.metadata or {}).get(RESTORED_FROM_KEY) == backup_id:
                return volume
        return None

    def restore_new(self, backup, volume_name, name, options):
        return self.restore_to_new_volume(
            backup.id, volume_name, description=options.get('restore_description') or
            'restore of Freezer backup %s (%s) of volume %s' % (name, backup.id, backup.volume_id),
            availability_zone=options.get('restore_availability_zone'),
            volume_type=options.get('restore_volume_type'), metadata={PROTECTION_KEY: name})

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Cinder vocabulary: the status sets, the views the modules return, the "gone" marker.

Every driver that waits on a Cinder volume, snapshot or backup takes its sets
from here; where one deliberately differs it derives its set from these, in
sight (e.g. ``RESTORED_OK`` below, for a volume being restored into).
Plain Python, no Ansible.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.waiter import NOT_FOUND

# A resource that no longer exists: 404 (the waiter's ``not-found``) or Cinder's own ``deleted``.
GONE = frozenset([NOT_FOUND, 'deleted'])

# -- volumes --------------------------------------------------------------------------------------------------------
# Usable as a source (snapshot, backup). error_extending / error_restoring volumes still hold their data.
VOLUME_OK = frozenset(['available', 'in-use', 'error_extending', 'error_restoring'])
VOLUME_FAIL = frozenset(['error', 'error_deleting', 'deleting', NOT_FOUND])
VOLUME_TRANSIENT = frozenset(['creating', 'attaching', 'detaching', 'reserved', 'backing-up', 'restoring-backup',
                              'downloading', 'uploading', 'extending', 'retyping', 'maintenance',
                              'awaiting-transfer'])
# A volume being restored into (from a snapshot or a backup) that ends in these did not get the data.
RESTORE_FAIL = frozenset(['error_restoring', 'error_extending'])
RESTORED_OK = VOLUME_OK - RESTORE_FAIL
RESTORED_FAIL = VOLUME_FAIL | RESTORE_FAIL

# -- snapshots ------------------------------------------------------------------------------------------------------
SNAPSHOT_OK = frozenset(['available'])
SNAPSHOT_FAIL = frozenset(['error', 'error_deleting', 'deleting', NOT_FOUND])
SNAPSHOT_TRANSIENT = frozenset(['creating', 'backing-up', 'restoring'])

# -- backups --------------------------------------------------------------------------------------------------------
# Waiting for a backup to be usable: ``deleting`` is a failure (someone removes it, it will never be available).
# Waiting for a backup to go away: ok GONE, fail BACKUP_DELETE_FAIL, any other status is waited through.
BACKUP_OK = frozenset(['available'])
BACKUP_FAIL = frozenset(['error', 'error_deleting', 'deleting', NOT_FOUND])
BACKUP_TRANSIENT = frozenset(['creating', 'backing-up', 'restoring'])
BACKUP_DELETE_FAIL = frozenset(['error_deleting'])
# A backup in one of these can be deleted (Cinder refuses while it is transient).
BACKUP_SETTLED = BACKUP_OK | frozenset(['error']) | GONE


def attachment_details(volume):
    """The volume's attachments as ``[{server_id, device}]``."""
    return [dict(server_id=a.get('server_id'), device=a.get('device')) for a in (volume.attachments or [])]


def volume_view(volume):
    """The volume fields the modules return."""
    if volume is None:
        return None
    return dict(id=volume.id, name=volume.name, status=volume.status, size=volume.size,
                availability_zone=volume.availability_zone, volume_type=getattr(volume, 'volume_type', None),
                snapshot_id=getattr(volume, 'snapshot_id', None), description=getattr(volume, 'description', None),
                metadata=dict(getattr(volume, 'metadata', None) or {}),
                attachments=[a.get('server_id') for a in (volume.attachments or [])])


def snapshot_view(snapshot):
    """The snapshot fields the modules return."""
    if snapshot is None:
        return None
    return dict(id=snapshot.id, name=snapshot.name, status=snapshot.status, volume_id=snapshot.volume_id,
                size=snapshot.size, description=snapshot.description, created_at=snapshot.created_at,
                metadata=dict(snapshot.metadata or {}))


def backup_view(backup):
    """The backup fields the modules return."""
    if backup is None:
        return None
    return dict(id=backup.id, name=backup.name, status=backup.status, volume_id=backup.volume_id,
                size=getattr(backup, 'size', None), description=getattr(backup, 'description', None),
                created_at=getattr(backup, 'created_at', None),
                availability_zone=getattr(backup, 'availability_zone', None),
                is_incremental=getattr(backup, 'is_incremental', None),
                fail_reason=getattr(backup, 'fail_reason', None),
                metadata=dict(getattr(backup, 'metadata', None) or {}))

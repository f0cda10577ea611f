# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cinder volume snapshot protection.

protect = snapshot the volume; restore = a new volume from the snapshot;
delete = remove the snapshot. A protection is identified by (volume,
snapshot name), never by name alone. With ``retain`` the protection rotates:
each run adds ``<name>-<UTC timestamp>`` and the oldest of the collection's
own snapshots beyond ``retain`` are removed; snapshots this collection did not
create (no ``dataprotection_managed`` metadata) are never touched. The
lifecycle itself lives in protection/snapshots.py (shared with Manila); the
Cinder statuses and views in protection/cinder.py.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import get_or_none
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import cinder
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.snapshots import SnapshotDriver

# Kept importable under their old names (cinder_snapshot_protect, k8s_pod and the tests import them from here).
VOLUME_OK, VOLUME_FAIL, VOLUME_TRANSIENT = cinder.VOLUME_OK, cinder.VOLUME_FAIL, cinder.VOLUME_TRANSIENT
SNAPSHOT_OK, SNAPSHOT_FAIL, SNAPSHOT_TRANSIENT = cinder.SNAPSHOT_OK, cinder.SNAPSHOT_FAIL, cinder.SNAPSHOT_TRANSIENT
volume_view = cinder.volume_view
snapshot_view = cinder.snapshot_view


class CinderSnapshotDriver(SnapshotDriver):
    resource_kind = 'volume'
    snapshot_kind = 'snapshot'
    snapshot_key = 'snapshot'
    source_ref_key = 'volume_ref'
    SOURCE_OK, SOURCE_FAIL, SOURCE_TRANSIENT = cinder.VOLUME_OK, cinder.VOLUME_FAIL, cinder.VOLUME_TRANSIENT
    SNAPSHOT_OK, SNAPSHOT_FAIL, SNAPSHOT_TRANSIENT = cinder.SNAPSHOT_OK, cinder.SNAPSHOT_FAIL, cinder.SNAPSHOT_TRANSIENT
    RESTORED_BROKEN = frozenset(['error', 'error_restoring'])
    RESET_COMMAND = 'openstack volume snapshot set --state error {id}'
    source_view = staticmethod(cinder.volume_view)
    snapshot_view = staticmethod(cinder.snapshot_view)

    @staticmethod
    def snapshot_source_id(snapshot):
        return snapshot.volume_id

    # -- Cinder calls -----------------------------------------------------
    def _get_source(self, source_id):
        return get_or_none(self.conn.block_storage.get_volume, source_id)

    def _find_sources_by_name(self, name):
        return list(self.conn.block_storage.volumes(details=True, name=name))

    def list_sources(self, all_projects=False):
        if all_projects:
            return list(self.conn.block_storage.volumes(details=True, all_projects=True))
        return list(self.conn.block_storage.volumes(details=True))

    def _list_snapshots(self, source_id=None):
        if source_id is None:
            return self.conn.block_storage.snapshots(details=True)
        return self.conn.block_storage.snapshots(details=True, volume_id=source_id)

    def _get_snapshot(self, snapshot_id):
        return get_or_none(self.conn.block_storage.get_snapshot, snapshot_id)

    def _create_snapshot_call(self, source, snapshot_name, options, metadata):
        return self.conn.block_storage.create_snapshot(
            volume_id=source.id, name=snapshot_name, description=options.get('description'),
            force=bool(options.get('force')), metadata=metadata)

    def _delete_snapshot_call(self, snapshot_id):
        self.conn.block_storage.delete_snapshot(snapshot_id, ignore_missing=True)

    def _set_snapshot_metadata_call(self, snapshot_id, metadata):
        self.conn.block_storage.set_snapshot_metadata(snapshot_id, **metadata)

    def _create_restored(self, source, snapshot, options, metadata):
        return self.conn.block_storage.create_volume(
            name=options['restore_name'], description=options.get('restore_description'), snapshot_id=snapshot.id,
            size=snapshot.size or source.size,
            availability_zone=options.get('restore_availability_zone') or source.availability_zone,
            volume_type=options.get('restore_volume_type'), metadata=metadata)

    def _delete_source_call(self, source_id):
        self.conn.block_storage.delete_volume(source_id, ignore_missing=True)

    def _check_source_extra(self, source, options):
        if source.status == 'in-use' and not options.get('force'):
            raise ProtectionError('volume %s (%s) is in-use (attached to %s): set force: true to snapshot an '
                                  'attached volume; Cinder refuses it otherwise'
                                  % (source.name, source.id,
                                     ', '.join(a for a in cinder.volume_view(source)['attachments'] if a) or '?'),
                                  volume=cinder.volume_view(source))

    # -- the names the module and callers use -----------------------------
    find_volume = SnapshotDriver.find_source

    def restore(self, source, name, options, dry_run=False):
        volume, snapshot = self.restorable_snapshot(source, name, dry_run, options.get('restore_point'))
        return self.restore_new(volume, snapshot, options, dry_run=dry_run)


def find_volume(conn, name_or_id):
    """The one volume lookup: by id or unique name, refused when it belongs to another project."""
    return CinderSnapshotDriver(conn).find_source(name_or_id)

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cinder volume snapshot protection (the seed's "Cinder volume snapshot" plugin).

protect = snapshot the volume; restore = a new volume from the snapshot;
delete = remove the snapshot. A protection is identified by (volume,
snapshot name), never by name alone. With ``retain`` the protection rotates:
each run adds ``<name>-<UTC timestamp>`` and the oldest of the collection's
own snapshots beyond ``retain`` are removed; snapshots this collection did not
create (no ``dataprotection_managed`` metadata) are never touched.
"""

from __future__ import annotations

import concurrent.futures

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    ConflictError,
    NotFoundError,
    ProtectionError,
    WaitFailed,
    WaitTimeout,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    MANAGED_KEY,
    PROTECTION_KEY,
    RESTORED_FROM_KEY,
    ProtectionDriver,
    Result,
    looks_like_id,
    parse_time,
    utcnow,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.waiter import NOT_FOUND

# Status sets (FACTS.md, extended with every transient status Cinder documents).
VOLUME_OK = frozenset(['available', 'in-use', 'error_extending', 'error_restoring'])
VOLUME_FAIL = frozenset(['error', 'error_deleting', 'deleting', NOT_FOUND])
VOLUME_TRANSIENT = frozenset(['creating', 'attaching', 'detaching', 'reserved', 'backing-up', 'restoring-backup',
                              'downloading', 'uploading', 'extending', 'retyping', 'maintenance',
                              'awaiting-transfer'])
SNAPSHOT_OK = frozenset(['available'])
SNAPSHOT_FAIL = frozenset(['error', 'error_deleting', 'deleting', NOT_FOUND])
SNAPSHOT_TRANSIENT = frozenset(['creating', 'backing-up', 'restoring'])
GONE = frozenset([NOT_FOUND, 'deleted'])


def volume_view(volume):
    """The volume fields the module returns."""
    if volume is None:
        return None
    return dict(id=volume.id, name=volume.name, status=volume.status, size=volume.size,
                availability_zone=volume.availability_zone, volume_type=volume.volume_type,
                snapshot_id=volume.snapshot_id, description=volume.description,
                metadata=dict(volume.metadata or {}),
                attachments=[a.get('server_id') for a in (volume.attachments or [])])


def snapshot_view(snapshot):
    """The snapshot fields the module returns."""
    if snapshot is None:
        return None
    return dict(id=snapshot.id, name=snapshot.name, status=snapshot.status, volume_id=snapshot.volume_id,
                size=snapshot.size, description=snapshot.description, created_at=snapshot.created_at,
                metadata=dict(snapshot.metadata or {}))


def _age_key(snapshot):
    """Oldest first; ties broken by id so concurrent runs agree on the order."""
    return (parse_time(snapshot.created_at) or utcnow(), snapshot.id)


class CinderSnapshotDriver(ProtectionDriver):
    resource_kind = 'volume'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Bulk runs list the project's snapshots once; each volume's first lookup uses that.
        self._prefetched = {}

    # -- lookups ----------------------------------------------------------
    def find_volume(self, name_or_id):
        """The volume by id or by unique name (one request either way); a volume object passes through."""
        if hasattr(name_or_id, 'status') and hasattr(name_or_id, 'id'):
            return name_or_id
        bs = self.conn.block_storage
        if looks_like_id(name_or_id):
            try:
                return bs.get_volume(name_or_id)
            except Exception as exc:  # pylint: disable=broad-except
                if not os_connection.is_not_found(exc):
                    raise
        matches = list(bs.volumes(details=True, name=name_or_id))
        matches = [v for v in matches if v.name == name_or_id]
        if not matches:
            raise NotFoundError('volume %s: not found' % name_or_id, volume=name_or_id)
        if len(matches) > 1:
            raise ConflictError('volume %s: %d volumes have this name (%s); pass the id instead'
                                % (name_or_id, len(matches), ', '.join(sorted(v.id for v in matches))),
                                volume=name_or_id)
        return matches[0]

    def list_volumes(self):
        return list(self.conn.block_storage.volumes(details=True))

    def volume_snapshots(self, volume_id):
        prefetched = self._prefetched.pop(volume_id, None)
        if prefetched is not None:
            return prefetched
        return list(self.conn.block_storage.snapshots(details=True, volume_id=volume_id))

    def prefetch_snapshots(self, volume_ids):
        """One listing of the project's snapshots instead of one per volume (bulk)."""
        grouped = dict((volume_id, []) for volume_id in volume_ids)
        for snapshot in self.conn.block_storage.snapshots(details=True):
            if snapshot.volume_id in grouped:
                grouped[snapshot.volume_id].append(snapshot)
        self._prefetched.update(grouped)

    def _get_snapshot(self, snapshot_id):
        try:
            return self.conn.block_storage.get_snapshot(snapshot_id)
        except Exception as exc:  # pylint: disable=broad-except
            if os_connection.is_not_found(exc):
                return None
            raise

    def _get_volume(self, volume_id):
        try:
            return self.conn.block_storage.get_volume(volume_id)
        except Exception as exc:  # pylint: disable=broad-except
            if os_connection.is_not_found(exc):
                return None
            raise

    @staticmethod
    def belongs(snapshot, name):
        """A snapshot of the protection ``name``: its exact name or the collection's rotation."""
        metadata = snapshot.metadata or {}
        return snapshot.name == name or (metadata.get(MANAGED_KEY) == 'true' and metadata.get(PROTECTION_KEY) == name)

    def protection_snapshots(self, volume, name):
        """Snapshots of this protection on this volume, oldest first."""
        return sorted((s for s in self.volume_snapshots(volume.id) if self.belongs(s, name)), key=_age_key)

    def status(self, source, name):
        volume = self.find_volume(source)
        snapshots = self.protection_snapshots(volume, name)
        return volume, (snapshots[-1] if snapshots else None)

    # -- protect ----------------------------------------------------------
    def protect(self, source, name, options, dry_run=False):
        volume = self.find_volume(source)
        if options.get('retain'):
            return self._protect_rotating(volume, name, options, dry_run)
        return self._protect_single(volume, name, options, dry_run)

    def _protect_single(self, volume, name, options, dry_run):
        existing = [s for s in self.protection_snapshots(volume, name) if s.name == name]
        healthy = [s for s in existing if s.status not in SNAPSHOT_FAIL]
        broken = [s for s in existing if s.status in SNAPSHOT_FAIL]
        before = snapshot_view(healthy[0]) if healthy else None
        if healthy:
            snapshot = healthy[0]
            if self.wait and not dry_run and snapshot.status != 'available':
                snapshot = self._wait_snapshot(snapshot, volume)
            return Result(False, snapshot=snapshot_view(snapshot), volume=volume_view(volume),
                          before=before, after=snapshot_view(snapshot))
        self._check_volume(volume, options, dry_run)
        if dry_run:
            planned = dict(name=name, volume_id=volume.id, status='(would be created)')
            return Result(True, snapshot=planned, volume=volume_view(volume), deleted=[s.id for s in broken],
                          before=None, after=planned)
        # An errored snapshot of a previous run is replaced, never left behind.
        deleted = self._delete_snapshots(broken, volume)
        snapshot = self._create_snapshot(volume, name, name, options)
        snapshot, changed = self._settle_race(volume, name, snapshot)
        return Result(changed or bool(deleted), snapshot=snapshot_view(snapshot), volume=volume_view(volume),
                      deleted=deleted, before=None, after=snapshot_view(snapshot))

    def _protect_rotating(self, volume, name, options, dry_run):
        retain, min_age = options['retain'], options.get('min_age') or 0
        snapshots = [s for s in self.protection_snapshots(volume, name)
                     if (s.metadata or {}).get(MANAGED_KEY) == 'true']
        healthy = [s for s in snapshots if s.status not in SNAPSHOT_FAIL]
        newest = healthy[-1] if healthy else None
        age = (utcnow() - parse_time(newest.created_at)).total_seconds() if newest is not None else None
        create = newest is None or not min_age or age >= min_age
        # After this run the newest `retain` healthy snapshots stay; errored ones always go.
        keep = retain - 1 if create else retain
        doomed = [s for s in snapshots if s.status in SNAPSHOT_FAIL] + (healthy[:-keep] if keep else list(healthy))
        before = [snapshot_view(s) for s in snapshots]
        result = dict(volume=volume_view(volume), deleted=[s.id for s in doomed], skipped=not create,
                      snapshots_before=before)
        if create:
            self._check_volume(volume, options, dry_run)
        if dry_run:
            planned = dict(name='%s-<timestamp>' % name, volume_id=volume.id, status='(would be created)')
            snapshot = planned if create else snapshot_view(newest)
            return Result(create or bool(doomed), snapshot=snapshot, before=before, after=None, **result)
        snapshot = newest
        if create:
            snapshot = self._create_snapshot(volume, '%s-%s' % (name, utcnow().strftime('%Y%m%dT%H%M%S%fZ')),
                                             name, options)
        self._delete_snapshots(doomed, volume)
        after = [snapshot_view(s) for s in self.protection_snapshots(volume, name)]
        return Result(create or bool(doomed), snapshot=snapshot_view(snapshot), before=before, after=after, **result)

    def _check_volume(self, volume, options, dry_run):
        if volume.status in VOLUME_TRANSIENT and self.wait and not dry_run:
            volume = self.wait_for(lambda: self._get_volume(volume.id), VOLUME_OK, VOLUME_FAIL, VOLUME_TRANSIENT,
                                   describe='volume %s (%s)' % (volume.name, volume.id))
        if volume.status not in VOLUME_OK and volume.status not in VOLUME_TRANSIENT:
            raise ProtectionError('volume %s (%s) is %s: it cannot be snapshotted'
                                  % (volume.name, volume.id, volume.status), volume=volume_view(volume))
        if volume.status == 'in-use' and not options.get('force'):
            raise ProtectionError('volume %s (%s) is in-use (attached to %s): set force: true to snapshot an '
                                  'attached volume; Cinder refuses it otherwise'
                                  % (volume.name, volume.id, ', '.join(volume_view(volume)['attachments']) or '?'),
                                  volume=volume_view(volume))

    def _create_snapshot(self, volume, snapshot_name, protection, options):
        metadata = dict(options.get('metadata') or {})
        metadata.update({MANAGED_KEY: 'true', PROTECTION_KEY: protection})
        snapshot = self.conn.block_storage.create_snapshot(
            volume_id=volume.id, name=snapshot_name, description=options.get('description'),
            force=bool(options.get('force')), metadata=metadata)
        if not self.wait:
            return snapshot
        return self._wait_snapshot(snapshot, volume)

    def _wait_snapshot(self, snapshot, volume):
        describe = 'snapshot %s (%s) of volume %s (%s)' % (snapshot.name, snapshot.id, volume.name, volume.id)
        try:
            return self.wait_for(lambda: self._get_snapshot(snapshot.id), SNAPSHOT_OK, SNAPSHOT_FAIL,
                                 SNAPSHOT_TRANSIENT, describe=describe)
        except WaitTimeout as exc:
            left = self._try_delete(snapshot, volume)
            raise ProtectionError('%s; %s' % (exc.msg, left), snapshot=snapshot_view(exc.last),
                                  volume=volume_view(volume))
        except WaitFailed as exc:
            left = self._try_delete(snapshot, volume)
            raise ProtectionError('%s; %s' % (exc.msg, left), snapshot=snapshot_view(exc.last),
                                  volume=volume_view(volume))

    def _try_delete(self, snapshot, volume):
        """Remove a failed snapshot; say what happened (it is named if it stays)."""
        try:
            self._delete_snapshots([snapshot], volume)
            return 'the failed snapshot was removed'
        except (ProtectionError, Exception) as exc:  # pylint: disable=broad-except
            reason = exc.msg if isinstance(exc, ProtectionError) else os_connection.describe_error(exc)
            return 'the failed snapshot %s could not be removed (%s); the next run replaces it' % (snapshot.id, reason)

    def _settle_race(self, volume, name, mine):
        """Two concurrent runs may both create; the oldest snapshot wins, the other run removes its own."""
        if not self.wait:
            return mine, True
        same = [s for s in self.protection_snapshots(volume, name) if s.name == name and s.status not in SNAPSHOT_FAIL]
        if len(same) <= 1 or same[0].id == mine.id:
            return mine, True
        self._delete_snapshots([mine], volume)
        winner = same[0]
        if winner.status != 'available':
            winner = self._wait_snapshot(winner, volume)
        return winner, False

    # -- delete -----------------------------------------------------------
    def delete(self, source, name, dry_run=False):
        try:
            volume = self.find_volume(source)
        except NotFoundError:
            # Cinder cannot delete a volume that has snapshots: no volume, no snapshots.
            return Result(False, snapshot=None, volume=None, deleted=[], before=None, after=None)
        snapshots = self.protection_snapshots(volume, name)
        before = [snapshot_view(s) for s in snapshots]
        if not dry_run:
            self._delete_snapshots(snapshots, volume)
        return Result(bool(snapshots), snapshot=None, volume=volume_view(volume), deleted=[s.id for s in snapshots],
                      before=before, after=[])

    def _delete_snapshots(self, snapshots, volume):
        deleted = []
        for snapshot in snapshots:
            if snapshot.status in SNAPSHOT_TRANSIENT and self.wait:
                try:
                    self.wait_for(lambda s=snapshot: self._get_snapshot(s.id), SNAPSHOT_OK | {'error'} | GONE,
                                  describe='snapshot %s (%s)' % (snapshot.name, snapshot.id))
                except WaitTimeout:
                    pass  # try the delete anyway; Cinder says why if it refuses
            self.conn.block_storage.delete_snapshot(snapshot.id, ignore_missing=True)
            deleted.append(snapshot.id)
        if self.wait:
            for snapshot in snapshots:
                self.wait_for(lambda s=snapshot: self._get_snapshot(s.id), GONE, fail={'error_deleting'},
                              describe='deletion of snapshot %s (%s) of volume %s'
                              % (snapshot.name, snapshot.id, volume.id))
        return deleted

    # -- restore ----------------------------------------------------------
    def restore(self, source, name, options, dry_run=False):
        volume, snapshot = self.status(source, name)
        if snapshot is None:
            raise NotFoundError('volume %s (%s) has no snapshot %s to restore from' % (volume.name, volume.id, name),
                                volume=volume_view(volume))
        if snapshot.status != 'available':
            if snapshot.status in SNAPSHOT_TRANSIENT and self.wait and not dry_run:
                snapshot = self._wait_snapshot(snapshot, volume)
            else:
                raise ProtectionError('snapshot %s (%s) is %s, not available: it cannot be restored'
                                      % (snapshot.name, snapshot.id, snapshot.status),
                                      snapshot=snapshot_view(snapshot))
        restore_name = options['restore_name']
        existing = [v for v in self.conn.block_storage.volumes(details=True, name=restore_name)
                    if v.name == restore_name]
        ours = [v for v in existing if v.snapshot_id == snapshot.id]
        if existing and not ours:
            raise ConflictError('volume %s already exists (%s) and was not restored from snapshot %s (%s); '
                                'choose another restore_name' % (restore_name, ', '.join(v.id for v in existing),
                                                                 snapshot.name, snapshot.id),
                                snapshot=snapshot_view(snapshot))
        common = dict(snapshot=snapshot_view(snapshot), volume=volume_view(volume))
        if ours:
            restored = ours[0]
            if restored.status in ('error', 'error_restoring'):
                raise ProtectionError('volume %s (%s) restored from snapshot %s is in status %s; delete it and '
                                      'run again' % (restored.name, restored.id, snapshot.id, restored.status),
                                      **common)
            if self.wait and not dry_run and restored.status not in VOLUME_OK:
                restored = self._wait_volume(restored, snapshot)
            return Result(False, restored=volume_view(restored), resource_map={volume.id: restored.id},
                          before=volume_view(restored), after=volume_view(restored), **common)
        if dry_run:
            planned = dict(name=restore_name, snapshot_id=snapshot.id, status='(would be created)')
            return Result(True, restored=planned, resource_map={volume.id: None}, before=None, after=planned,
                          **common)
        restored = self.conn.block_storage.create_volume(
            name=restore_name, description=options.get('restore_description'), snapshot_id=snapshot.id,
            size=snapshot.size or volume.size,
            availability_zone=options.get('restore_availability_zone') or volume.availability_zone,
            volume_type=options.get('restore_volume_type'),
            metadata={MANAGED_KEY: 'true', RESTORED_FROM_KEY: snapshot.id})
        if self.wait:
            restored = self._wait_volume(restored, snapshot)
        return Result(True, restored=volume_view(restored), resource_map={volume.id: restored.id}, before=None,
                      after=volume_view(restored), **common)

    def _wait_volume(self, restored, snapshot):
        describe = 'volume %s (%s) restored from snapshot %s' % (restored.name, restored.id, snapshot.id)
        try:
            return self.wait_for(lambda: self._get_volume(restored.id), VOLUME_OK, VOLUME_FAIL, VOLUME_TRANSIENT,
                                 describe=describe)
        except WaitFailed as exc:
            try:
                self.conn.block_storage.delete_volume(restored.id, ignore_missing=True)
                left = 'the failed volume was removed'
            except Exception as cleanup:  # pylint: disable=broad-except
                left = 'the failed volume %s could not be removed (%s)' % (restored.id,
                                                                           os_connection.describe_error(cleanup))
            raise ProtectionError('%s; %s' % (exc.msg, left), restored=volume_view(exc.last),
                                  snapshot=snapshot_view(snapshot))

    # -- bulk -------------------------------------------------------------
    def protect_many(self, volumes, name, options, concurrency=8, dry_run=False):
        """Protect each volume independently; one failure never hides the others' results."""
        def one(volume):
            try:
                result = self.protect(volume, name, options, dry_run=dry_run)
                entry = dict(result.data, changed=result.changed, failed=False)
            except ProtectionError as exc:
                entry = dict(exc.result, changed=False, failed=True, msg=exc.msg)
            except Exception as exc:  # pylint: disable=broad-except
                msg = os_connection.describe_error(exc) if os_connection.is_sdk_error(exc) else '%s: %s' % (
                    type(exc).__name__, exc)
                entry = dict(changed=False, failed=True, msg='volume %s: %s' % (volume, msg))
            entry['volume_ref'] = getattr(volume, 'id', volume)
            entry.pop('before', None)
            entry.pop('after', None)
            return entry
        workers = max(1, min(concurrency, len(volumes)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, volumes))

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore of a Freezer ``cinder`` mode (through Glance) backup: always a NEW volume.

Freezer 19's agent uploads the stored image to Glance (``freezer_restore_<container>_segments/<volume id>/<time>``),
creates ``<volume name>~<time>`` from it with Cinder's defaults (type, zone), waits for it and deletes the image; it
cannot write into the existing volume. The collection picks the stored backup (newest at or before
``restore_from_date``) from Swift, asks the agent for exactly that time, waits for the new volume, names it
(``restore_volume_name``), marks it ``dataprotection_restored_from`` (a second run finds it: changed false) and returns
``resource_map``. A failed restore removes the volume and image it made; a volume in ``error`` (the agent would wait
for it forever) fails the task at once (the watch in cinder_mode.py).
"""

from __future__ import annotations

import datetime

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import get_or_none, reason_of
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import cinder
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    PROTECTION_KEY,
    RESTORED_FROM_KEY,
    Result,
    parse_time,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.views import (
    found_or_gone,
    volume_view,
)

RESTORE_IMAGE_PREFIX = 'freezer_restore_'


def created_after(resource, started):
    """Whether an OpenStack resource was created at or after ``started`` (epoch seconds, 1 s of clock skew)."""
    created = parse_time(getattr(resource, 'created_at', None))
    return created is not None and created.timestamp() >= started - 1


def iso_utc(stamp):
    return datetime.datetime.fromtimestamp(int(stamp), tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class CinderRestore:
    """Mixed into FreezerOperations (through CinderMode): restore of a cinder-mode backup into a new volume."""

    _cinder_run = None  # {'actions', 'started', 'temp_volumes': {id: name}} of the job being run
    _cinder_stamp = None  # the backup time a restore asked the agent for (its volume is named *~<time>)

    def _restored_volumes(self, action):
        """Volumes ``*~<time>`` of this run (the agent's name for the volume it restores)."""
        run = self._cinder_run or dict(started=0)
        suffix = '~%s' % self._cinder_stamp
        return [v for v in self.conn.block_storage.volumes(details=True)
                if (v.name or '').endswith(suffix) and created_after(v, run['started'])]

    def restore_cinder(self, resource_id, name, options, dry_run):
        """Restore a cinder-mode backup into a new volume (Freezer's agent cannot restore into the existing one)."""
        if options.get('restore_to') == 'existing':
            raise ProtectionError('volume %s: Freezer\'s cinder mode (through Glance) restores into a new volume only; '
                                  'use restore_to: new (the default for this mode)' % resource_id)
        volume = found_or_gone(self.find_volume, 'volume', resource_id)
        vol_id = volume.id if volume is not None else resource_id
        action = self._volume_action('restore', volume or _Id(vol_id), name, dict(options, restore_from_date=None))
        container = action['container']
        stored = self._stored(container, vol_id)
        cutoff = _epoch(options['restore_from_date']) if options.get('restore_from_date') else None
        stamps = sorted(t for t in stored if cutoff is None or t <= cutoff)
        resource = dict(type='volume', id=vol_id, name=volume.name if volume is not None else None,
                        volume=volume_view(volume), source_exists=volume is not None, mode='cinder')
        if not stamps:
            raise NotFoundError('volume %s has no Freezer cinder-mode backup %s in Swift container %s%s'
                                % (vol_id, name, container, ' taken before %s' % options['restore_from_date']
                                   if cutoff is not None else ''), resource=resource)
        stamp = stamps[-1]
        records = [r for r in self._cinder_records(vol_id, name)
                   if int(r['backup_metadata'].get('time_stamp') or 0) <= stamp]
        stored_at = 'swift:%s/%s_segments/%s/%d' % (container, container, vol_id, stamp)
        backup_id = records[-1]['backup_id'] if records else stored_at
        new_name = options.get('restore_volume_name') or options.get('restore_name') or \
            '%s~%d' % (volume.name if volume is not None and volume.name else vol_id, stamp)
        resource['backup'] = dict(backup_id=backup_id, time_stamp=stamp, container=container)
        common = dict(resource=resource, backups=[dict(backup_id=backup_id, time_stamp=stamp)], removed=[])
        existing = [v for v in self.conn.block_storage.volumes(details=True, name=new_name)
                    if v.name == new_name and (v.metadata or {}).get(RESTORED_FROM_KEY) == backup_id]
        if existing:
            view = volume_view(existing[0])
            return Result(False, job=None, restored=[view], resource_map={vol_id: existing[0].id}, before=view,
                          after=view, **common)
        action['restore_from_date'] = iso_utc(stamp)
        if dry_run:
            planned = dict(id='(would be created)', name=new_name, size=None, status=None,
                           metadata={RESTORED_FROM_KEY: backup_id})
            result = self._run_job(resource, [action], name, 'restore', options, True)
            result.data.update(restored=[planned], resource_map={vol_id: planned['id']}, after=planned, **common)
            return result
        return self._run_cinder_restore(vol_id, action, stamp, backup_id, new_name, name, options, resource, common)

    def _run_cinder_restore(self, vol_id, action, stamp, backup_id, new_name, name, options, resource, common):
        made = []
        try:
            self._cinder_stamp = stamp
            result = self._run_job(resource, [action], name, 'restore', options, False)
            with self.timings.step('wait for the restored volume'):
                made[:] = self._restored_volumes(action)
                if len(made) != 1:
                    raise ProtectionError('freezer job for %s reported success but %d new volumes named *~%d '
                                          'appeared in Cinder' % (vol_id, len(made), stamp))
                restored = self.wait_for(lambda: get_or_none(self.conn.block_storage.get_volume, made[0].id),
                                         ('available',), cinder.VOLUME_FAIL, cinder.VOLUME_TRANSIENT,
                                         describe='restored volume %s' % made[0].id)
            with self.timings.step('name and mark the restored volume'):
                if restored.name != new_name:
                    self.conn.block_storage.update_volume(restored, name=new_name)
                self.conn.block_storage.set_volume_metadata(restored, **{RESTORED_FROM_KEY: backup_id,
                                                                         PROTECTION_KEY: name})
                restored = self.conn.block_storage.get_volume(restored.id)
                notes, kept = self._drop_restore_images(action, stamp)
                if kept:
                    raise ProtectionError('the agent\'s image could not be removed: %s' % ', '.join(kept))
        except Exception as exc:  # pylint: disable=broad-except
            with self.timings.step('clean up'):
                if not made:
                    made[:] = self._restored_volumes(action)
                left = self._drop_cinder_restore(made, action, stamp)
            extra = dict((k, v) for k, v in getattr(exc, 'result', {}).items() if k != 'resource')
            raise ProtectionError('restore of volume %s from Freezer backup %s failed: %s; %s'
                                  % (vol_id, backup_id, getattr(exc, 'msg', None) or reason_of(exc, self.conn), left),
                                  resource=resource, **extra)
        finally:
            self._cinder_stamp = None
        view = volume_view(restored)
        result.data.update(restored=[view], resource_map={vol_id: restored.id}, after=view, **common)
        return result

    def _drop_restore_images(self, action, stamp):
        notes, kept = [], []
        image_name = '%s%s_segments/%s/%d' % (RESTORE_IMAGE_PREFIX, action['container'], action['cinder_vol_id'], stamp)
        started = (self._cinder_run or {}).get('started', 0)
        for image in self._own_images():
            if image.name == image_name and created_after(image, started):
                self._drop_image(image, notes, kept)
        return notes, kept

    def _drop_cinder_restore(self, volumes, action, stamp):
        notes, kept = self._drop_restore_images(action, stamp)
        for volume in volumes:
            self._remove(volume, 'volume', self.conn.block_storage.get_volume, self.conn.block_storage.delete_volume,
                         notes, kept)
        text = ', '.join(notes) if notes else 'no volume or image was left by the restore'
        return text + ('; left behind: %s' % ', '.join(kept) if kept else '')


class _Id:
    """A volume known by its id only (deleted): enough for the action document."""

    def __init__(self, volume_id):
        self.id = volume_id
        self.name = None


def _epoch(text):
    value = str(text).strip()
    parsed = datetime.datetime.fromisoformat(value[:-1] + '+00:00' if value[-1:] in ('Z', 'z') else value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return int(parsed.timestamp())

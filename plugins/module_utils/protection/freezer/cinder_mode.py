# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Freezer ``cinder`` volume mode (backup through Glance): what Freezer 19's agent does, and what the collection adds.

The agent's backup (``freezer/openstack/backup.py``) snapshots the volume (``freezer_backup_<volume id>``), makes a
volume of that name from the snapshot, uploads it to a Glance image ``freezer_backup_<temporary volume id>``, streams
the image to Swift (container ``<container>``, objects ``<container>_segments/<volume id>/<time>/segments/<n>`` and the
manifest ``.../<time>/<time>``, ``<time>`` = the snapshot's creation time) and deletes the snapshot, the volume and the
image. Its restore (``freezer/openstack/restore.py``) uploads the newest stored backup (at or before
``restore_from_date``) as an image ``freezer_restore_<container>_segments/<volume id>/<time>``, creates a NEW volume
``<volume name>~<time>`` from it and deletes the image: it never writes into the existing volume.

The agent waits in loops that never end on some failures (an image Cinder deleted after a refused upload, a volume in
``error`` on restore). The collection therefore watches Cinder while the job runs and fails early with Cinder's own
message; after any failure it removes what the agent left (only resources with the agent's names created after the
job started), or names it. A restore is found again by ``dataprotection_restored_from`` (changed: false).
"""

from __future__ import annotations

import datetime

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import get_or_none, reason_of
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import cinder
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.cinder_restore import (
    CinderRestore,
    created_after,
)

TEMP_PREFIX = 'freezer_backup_'


def stored_backups(object_names, container, volume_id):
    """{time: [object names]} of the backups of ``volume_id`` in a cinder-mode container listing."""
    prefix = '%s_segments/%s/' % (container, volume_id)
    found = {}
    for name in object_names:
        if not name.startswith(prefix):
            continue
        stamp = name[len(prefix):].split('/', 1)[0]
        if stamp.isdigit():
            found.setdefault(int(stamp), []).append(name)
    return found


class CinderMode(CinderRestore):
    """Mixed into FreezerOperations: cinder-mode watch, verification and cleanup, removal of backups (and restore)."""

    # -- the job's run --------------------------------------------------------------------
    def cinder_before(self, actions, started):
        """Before a job: its cinder actions and the containers that exist (a container the job made goes on failure)."""
        cinder_actions = [a for a in actions if a.get('mode') == 'cinder']
        self._cinder_run = dict(actions=cinder_actions, started=started, temp_volumes={})
        containers = {}
        for action in cinder_actions:
            if (action.get('storage') or 'swift') == 'swift':
                containers[action['container']] = get_or_none(self.conn.object_store.get_container_metadata,
                                                              action['container']) is not None
        return containers

    def _temporaries(self, action):
        """The agent's temporary snapshots and volumes of this run for the action's volume."""
        run = self._cinder_run
        vol_id = action['cinder_vol_id']
        name = TEMP_PREFIX + vol_id
        snapshots = [s for s in self.conn.block_storage.snapshots(details=True, volume_id=vol_id)
                     if s.name == name and created_after(s, run['started'])]
        volumes = [v for v in self.conn.block_storage.volumes(details=True, name=name)
                   if v.name == name and created_after(v, run['started'])]
        for volume in volumes:
            run['temp_volumes'][volume.id] = volume.name
        return snapshots, volumes

    def cinder_messages(self, resource_id):
        """Cinder's user messages about a resource (why an upload or a create failed), newest last."""
        response = self.conn.block_storage.get('/messages?resource_uuid=%s' % resource_id, microversion='3.3',
                                               raise_exc=False)
        if response.status_code != 200:
            return []
        messages = sorted((m for m in response.json().get('messages') or [] if m.get('resource_uuid') == resource_id),
                          key=lambda m: m.get('created_at') or '')  # the filter is not applied by every Cinder
        return [m.get('user_message') for m in messages if m.get('user_message')]

    def watch_cinder(self):
        """While the job runs: fail early on a Cinder failure the agent would wait for forever."""
        run = self._cinder_run
        if not run or not run['actions']:
            return
        for action in run['actions']:
            if action.get('action') == 'backup':
                _snapshots, volumes = self._temporaries(action)
                for volume in volumes:
                    messages = self.cinder_messages(volume.id)
                    if messages or volume.status == 'error':
                        raise ProtectionError(
                            'backup of volume %s through Glance failed: Cinder could not %s the agent\'s temporary '
                            'volume %s (%s)%s' % (action['cinder_vol_id'], 'upload to an image' if messages else
                                                  'create', volume.name, volume.id,
                                                  ': %s' % messages[-1] if messages else ''))
            elif action.get('action') == 'restore':
                for volume in self._restored_volumes(action):
                    if volume.status == 'error':
                        messages = self.cinder_messages(volume.id)
                        raise ProtectionError('restore of volume %s through Glance failed: the new volume %s (%s) is '
                                              'in error%s' % (action['cinder_vol_id'], volume.name, volume.id,
                                                              ' (Cinder: %s)' % messages[-1] if messages else ''))

    def verify_cinder_backup(self, actions, job):
        """Every cinder action has a Freezer record of this job; the agent's temporary resources are gone."""
        cinder_actions = [a for a in actions if a.get('mode') == 'cinder' and a.get('action') == 'backup']
        if not cinder_actions:
            return
        records = [r for r in self.api.list_backups() if (r.get('backup_metadata') or {}).get('job_id') ==
                   job['job_id']]
        for action in cinder_actions:
            if not [r for r in records if r['backup_metadata'].get('cinder_vol_id') == action['cinder_vol_id']]:
                raise ProtectionError('freezer job %s reported success but freezer-api has no cinder backup %s of '
                                      'volume %s' % (job['job_id'], action['backup_name'], action['cinder_vol_id']))
        notes, kept = self.remove_temporaries(cinder_actions)
        if kept:
            raise ProtectionError('the backup of %s succeeded but the agent\'s temporary resources could not be '
                                  'removed: %s' % (', '.join(a['cinder_vol_id'] for a in cinder_actions),
                                                   ', '.join(kept)))

    def remove_temporaries(self, actions):
        """The agent's temporary images, volumes and snapshots of this run: deleted and waited for (or named)."""
        notes, kept = [], []
        run = self._cinder_run or dict(started=0, temp_volumes={})
        for action in actions:
            snapshots, volumes = self._temporaries(action)
            image_names = set(TEMP_PREFIX + vid for vid in run['temp_volumes'])
            for image in self._own_images():
                if image.name in image_names and created_after(image, run['started']):
                    self._drop_image(image, notes, kept)
            for volume in volumes:
                self._remove(volume, 'volume', self.conn.block_storage.get_volume,
                             self.conn.block_storage.delete_volume, notes, kept)
            for snapshot in snapshots:
                self._remove(snapshot, 'snapshot', self.conn.block_storage.get_snapshot,
                             self.conn.block_storage.delete_snapshot, notes, kept)
        return notes, kept

    def _remove(self, resource, kind, get, delete, notes, kept):
        what = 'Cinder %s %s (%s)' % (kind, resource.name, resource.id)
        try:
            current = self.wait_for(lambda: get_or_none(get, resource.id),
                                    ('available', 'error', 'deleting', 'not-found'), describe=what)
            if current is not None and current.status != 'deleting':
                delete(resource.id, ignore_missing=True)
            self.wait_for(lambda: get_or_none(get, resource.id), cinder.GONE, fail=('error_deleting',), describe=what)
            notes.append('%s was removed' % what)
        except Exception as exc:  # pylint: disable=broad-except
            kept.append('%s: %s' % (what, reason_of(exc, self.conn)))

    def cleanup_cinder_backup(self, job, actions, containers):
        """After a failed cinder-mode backup: temporaries, this run's Swift objects (and container) and records."""
        cinder_actions = [a for a in actions if a.get('mode') == 'cinder']
        if not cinder_actions:
            return [], []
        run = self._cinder_run or dict(started=0)
        notes, kept = self.remove_temporaries(cinder_actions)
        for action in cinder_actions:
            container = action.get('container')
            if container not in containers:
                continue
            doomed = dict((t, names) for t, names in self._stored(container, action['cinder_vol_id']).items()
                          if t >= run['started'] - 1)
            self._drop_stored(container, doomed, not containers[container], notes, kept)
        try:
            for record in self.api.list_backups():
                meta = record.get('backup_metadata') or {}
                if meta.get('job_id') == job['job_id'] or (
                        meta.get('mode') == 'cinder' and meta.get('backup_name') == cinder_actions[0]['backup_name']
                        and meta.get('cinder_vol_id') in [a['cinder_vol_id'] for a in cinder_actions]
                        and int(meta.get('time_stamp') or 0) >= run['started'] - 1):
                    self.api.delete_backup(record['backup_id'])
                    notes.append('Freezer backup record %s was removed' % record['backup_id'])
        except Exception as exc:  # pylint: disable=broad-except
            kept.append('Freezer backup records of job %s (%s)' % (job['job_id'], reason_of(exc, self.conn)))
        return notes, kept

    # -- Swift ---------------------------------------------------------------------------
    def _stored(self, container, volume_id):
        try:
            names = [o.name for o in self.conn.object_store.objects(container)]
        except Exception:  # pylint: disable=broad-except
            return {}
        return stored_backups(names, container, volume_id)

    def _drop_stored(self, container, doomed, drop_container, notes, kept):
        """Delete the objects of the ``doomed`` backups; the container too when asked and it is empty then."""
        count = 0
        for names in doomed.values():
            for name in names:
                try:
                    self.conn.object_store.delete_object(name, container=container, ignore_missing=True)
                    count += 1
                except Exception as exc:  # pylint: disable=broad-except
                    kept.append('Swift object %s/%s (%s)' % (container, name, reason_of(exc, self.conn)))
        if count:
            notes.append('%d Swift objects in %s were removed' % (count, container))
        if drop_container and not list(self.conn.object_store.objects(container)):
            try:
                self.conn.object_store.delete_container(container, ignore_missing=True)
                notes.append('Swift container %s was removed' % container)
            except Exception as exc:  # pylint: disable=broad-except
                kept.append('Swift container %s (%s)' % (container, reason_of(exc, self.conn)))

    def _cinder_records(self, volume_id, name):
        found = []
        for record in self.api.list_backups():
            meta = record.get('backup_metadata') or {}
            if meta.get('mode') == 'cinder' and meta.get('cinder_vol_id') == volume_id and \
                    meta.get('backup_name') == name:
                found.append(record)
        return sorted(found, key=lambda r: int((r.get('backup_metadata') or {}).get('time_stamp') or 0))

    # -- removal of one protection's backups ---------------------------------------------------
    def admin_cinder(self, resource, actions, name, options, dry_run):
        """Remove this protection's cinder-mode backups: their Swift objects (and the container when empty and named
        by the collection's default) and Freezer records. Nothing to remove: changed false."""
        doomed_all, removed, notes, kept = {}, [], [], []
        for action in actions:
            doomed_all[(action['container'], action['cinder_vol_id'])] = _doomed(
                self._stored(action['container'], action['cinder_vol_id']), options)
        planned = ['%s/%s_segments/%s/%d' % (c, c, v, t) for (c, v), d in doomed_all.items() for t in sorted(d)]
        everything = not (options.get('fullbackup_rotation') or options.get('remove_older_than'))
        doomed_records = []
        for action in actions:
            stored = self._stored(action['container'], action['cinder_vol_id'])
            doomed = doomed_all[(action['container'], action['cinder_vol_id'])]
            for record in self._cinder_records(action['cinder_vol_id'], name):
                stamp = record_stamp(record, stored)
                if (stamp is None and everything) or stamp in doomed:
                    doomed_records.append(record)
        changed = bool(planned or doomed_records)
        result = Result(changed, job=None, resource=resource, backups=[], removed=[], before=None, after=None,
                        deleted_backups=planned + [r['backup_id'] for r in doomed_records])
        if dry_run or not changed:
            return result
        with self.timings.step('remove Swift backups'):
            for (container, _vol_id), doomed in doomed_all.items():
                default = container == 'freezer_%s' % name
                self._drop_stored(container, doomed, default and everything, notes, kept)
            for record in doomed_records:
                try:
                    self.api.delete_backup(record['backup_id'])
                    removed.append(record['backup_id'])
                except Exception as exc:  # pylint: disable=broad-except
                    kept.append('Freezer backup record %s (%s)' % (record['backup_id'], reason_of(exc, self.conn)))
        if kept:
            raise ProtectionError('removing the cinder-mode backups of %s failed; %s; left behind: %s'
                                  % (name, ', '.join(notes) or 'nothing was removed', ', '.join(kept)),
                                  resource=resource)
        return result


def _doomed(stored, options):
    """The stored backups (time -> objects) the retention options remove (default: all)."""
    stamps = sorted(stored)
    if options.get('fullbackup_rotation'):
        keep = set(stamps[-int(options['fullbackup_rotation']):])
    elif options.get('remove_older_than'):
        now = datetime.datetime.now(tz=datetime.timezone.utc).timestamp()
        cutoff = now - float(options['remove_older_than']) * 86400
        keep = set(t for t in stamps if t > cutoff)
    else:
        keep = set()
    return dict((t, stored[t]) for t in stamps if t not in keep)


def record_stamp(record, stored):
    """The stored backup (its time) a Freezer record describes: the first stored at or after the record's time
    (the record carries the agent's start time, the objects the snapshot's time); None when none is left."""
    stamp = int((record.get('backup_metadata') or {}).get('time_stamp') or 0)
    later = [t for t in stored if t >= stamp]
    return min(later) if later else None

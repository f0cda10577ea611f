# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore of a tenant (project) backup: the servers and volumes ONE project backup covered, recreated as NEW
resources named ``<restore_prefix><original name>``; and the manifests that say what a project backup covered.

A tenant backup (plan.py) is one Freezer job with a ``nova`` action per image-booted server and a
``cindernative`` action per volume (boot volumes of volume-booted servers included). Freezer records no session
for it (``cindernative`` records carry no ``job_id``), so when a one-shot project backup succeeds the collection
writes a manifest (manifests.py, a checkpoint of the bank in the project's Swift container): the servers with
their nova Freezer records, the volumes with their Cinder backups, the job and its time. A restore takes the
newest manifest (at or before ``restore_from_date``) and restores exactly its backups. Without any manifest
(backups made before manifests existed, by a managed job, or with ``wait: false``) it falls back to every server
with a nova record and every volume with a Freezer-made Cinder backup of that name, with a warning saying so.

Each server is restored as in servers.py (a new server from its nova backup), each volume into a new volume through
Cinder's backup-restore API (recovery.py), so the sources may be gone. ``resource_map`` maps every old id to its
new id; a second run finds every restored resource (``changed=false``). When one restore fails, the resources this
run restored before it are removed and the message names them. ``admin`` with a backup_name also removes the
manifests whose backups it removed (all of them when a project admin removes everything).
"""

from __future__ import annotations

import time

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import get_or_none, reason_of
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result, parse_time
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.manifests import (
    ProjectManifests,
    backup_ids,
    manifest_view,
    record_ids,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.recovery import (
    made_by_freezer,
)

DAY = 86400


def _epoch(text):
    try:
        parsed = parse_time(text)
    except (TypeError, ValueError):
        return 0
    return int(parsed.timestamp()) if parsed is not None else 0


def _stamp(record):
    try:
        return int((record.get('backup_metadata') or {}).get('time_stamp') or 0)
    except (TypeError, ValueError):
        return 0


class ProjectRestore:
    """Mixed into FreezerOperations: ``operation=restore`` of ``resource_type=project`` and its manifests."""

    _manifests = None

    @property
    def manifests(self):
        """The manifests of project backups (the project's Swift container ``dataprotection-bank``)."""
        if self._manifests is None:
            self._manifests = ProjectManifests.in_swift(self.conn)
        return self._manifests

    def project_contents(self, name):
        """(server ids with nova backups, volume ids with Freezer-made Cinder backups) of protection ``name``."""
        servers = sorted(set((r.get('backup_metadata') or {}).get('nova_inst_id') for r in self.api.list_backups()
                             if (r.get('backup_metadata') or {}).get('mode') == 'nova' and
                             (r.get('backup_metadata') or {}).get('backup_name') == name) - set([None, '']))
        volumes = sorted(set(b.volume_id for b in self.conn.block_storage.backups(details=True)
                             if b.name == name and made_by_freezer(b)))
        return servers, volumes

    # -- backup: the manifest of the session ------------------------------------
    def record_manifest(self, resource, actions, job, started, outcome):
        """Write what this project backup covered (called once the job's backups were verified)."""
        names = dict((s.get('id'), s.get('name')) for s in resource.get('servers') or [])
        nova = [a['nova_inst_id'] for a in actions if a.get('mode') == 'nova']
        records = [r for r in self.api.list_backups()
                   if (r.get('backup_metadata') or {}).get('job_id') == job['job_id']] if nova else []
        servers = []
        for server_id in nova:
            mine = sorted([r for r in records if r['backup_metadata'].get('nova_inst_id') == server_id], key=_stamp)
            servers.append(dict(id=server_id, name=names.get(server_id), freezer_backup_id=mine[-1].get('backup_id'),
                                time_stamp=_stamp(mine[-1])))
        volumes = [dict(id=b['volume_id'], cinder_backup_id=b['id'],
                        freezer_backup_id=(b.get('metadata') or {}).get('freezer_backup_id'))
                   for b in outcome.get('cinder_backups') or []]
        index = self.manifests.record(resource['id'], actions[0]['backup_name'], job['job_id'], started, servers,
                                      volumes)
        if index is None:
            outcome.setdefault('warnings', []).append(
                'no manifest of this project backup was recorded: %s; a restore of %s will take every server and '
                'volume ever backed up under that name' % (self.manifests.unavailable, actions[0]['backup_name']))
        return manifest_view(index, self.manifests.location)

    # -- restore ----------------------------------------------------------------
    def pick_nova_backup(self, server_id, name, options):
        """The record a manifest names (``manifest_backup_id``), else the newest one (servers.py)."""
        wanted = options.get('manifest_backup_id')
        if not wanted:
            return super().pick_nova_backup(server_id, name, options)
        for record in self.nova_records(server_id, name):
            if record.get('backup_id') == wanted:
                return record
        raise NotFoundError('the manifest of project backup %s names Freezer nova backup %s of server %s, which '
                            'freezer-api no longer has' % (name, wanted, server_id),
                            resource=dict(type='server', id=server_id))

    def _session(self, project_id, name, options):
        """(manifest or None, [(server id, record id)], [(volume id, Cinder backup id)], warnings)."""
        cutoff = _epoch(options['restore_from_date']) if options.get('restore_from_date') else None
        manifest, every = self.manifests.pick(project_id, name, cutoff)
        when = ' at or before %s' % options['restore_from_date'] if cutoff is not None else ''
        if manifest is None:
            servers, volumes = self.project_contents(name)
            warnings = []
            if servers or volumes:
                where = '(%s)' % self.manifests.unavailable if self.manifests.unavailable else \
                    'in the %s (backups made before the collection recorded manifests, by a managed job or with ' \
                    'wait: false)' % self.manifests.location
                warnings.append('project %s has no manifest of Freezer backup %s%s %s: restoring every server and '
                                'volume ever backed up as %s, which may include resources deleted before the newest '
                                'backup' % (project_id, name, when, where, name))
            return None, [(s, None) for s in servers], [(v, None) for v in volumes], warnings
        extra = manifest.get('extra') or {}
        servers = [(s['id'], s.get('freezer_backup_id')) for s in extra.get('servers') or []]
        volumes = [(v['id'], v.get('cinder_backup_id')) for v in extra.get('volumes') or []]
        return manifest, servers, volumes, self._unrecorded(manifest, every, name, cutoff)

    def _unrecorded(self, manifest, every, name, cutoff):
        """A warning when backups of the name newer than the manifest belong to no manifest (not restored)."""
        stamp = int((manifest.get('extra') or {}).get('time_stamp') or 0)
        cinder, records = set(), set()
        for index in every:
            cinder.update(backup_ids(index))
            records.update(record_ids(index))

        def newer(epoch):
            return epoch > stamp and (cutoff is None or epoch <= cutoff)

        left = sorted(b.id for b in self.conn.block_storage.backups(details=True)
                      if b.name == name and made_by_freezer(b) and b.id not in cinder and newer(_epoch(b.created_at)))
        left += sorted(r['backup_id'] for r in self.api.list_backups()
                       if (r.get('backup_metadata') or {}).get('mode') == 'nova' and
                       r['backup_metadata'].get('backup_name') == name and r.get('backup_id') not in records and
                       newer(_stamp(r)))
        if not left:
            return []
        taken_at = (manifest.get('extra') or {}).get('taken_at')
        return ['backups of %s newer than its manifest %s (%s) belong to no manifest (a managed job, wait: false or '
                'a failed run made them) and are not restored: %s' % (name, manifest['id'], taken_at, ', '.join(left))]

    def restore_project(self, project_id, name, options, dry_run):
        prefix = options.get('restore_prefix')
        if prefix is None:
            prefix = '%s-' % name
        manifest, servers, volumes, warnings = self._session(project_id, name, options)
        if not servers and not volumes:
            raise NotFoundError('project %s has no Freezer backup named %s (no manifest, no nova backup record, no '
                                'Cinder backup of that name) to restore from' % (project_id, name),
                                resource=dict(type='project', id=project_id))
        view = manifest_view(manifest, self.manifests.location)
        resource = dict(type='project', id=project_id, servers=[s for s, _r in servers],
                        volumes=[v for v, _b in volumes], manifest=view['id'] if view else None)
        results, done = [], []
        try:
            for server_id, record_id in servers:
                server_options = dict(options, restore_server_name=None, manifest_backup_id=record_id)
                record = self.pick_nova_backup(server_id, name, server_options)
                original = self._original_server_name(server_id, record)
                server_options['restore_server_name'] = prefix + original
                result = self.restore_server(server_id, name, server_options, dry_run)
                if result is None:
                    raise ProtectionError('server %s is volume-booted now; its nova backup %s cannot be restored '
                                          'as part of the project' % (server_id, record.get('backup_id')))
                results.append(result)
                if result.changed and not dry_run:
                    done.append(('server', result))
            for volume_id, backup_id in volumes:
                volume = self._volume_or_none(volume_id)
                backup = self._manifest_backup(volume_id, backup_id, name) if backup_id else \
                    self.native.pick(volume_id, name, options, 'volume %s' % volume_id)
                result = self.restore_boot_backup(backup.id, name, options, dry_run, name_prefix=prefix)
                if result is not None:  # a volume-booted server's boot volume: the server is recreated too
                    results.append(result)
                    if result.changed and not dry_run:
                        done.append(('boot', result))
                    continue
                volume_name = prefix + ((volume.name if volume is not None else None) or volume_id)
                result = self._restore_new(volume, backup, name, dict(options, restore_volume_name=volume_name),
                                           dry_run)
                results.append(result)
                if result.changed and not dry_run:
                    done.append(('volume', result))
        except Exception as exc:  # pylint: disable=broad-except
            with self.timings.step('clean up'):
                undone = self._undo(done)
            raise ProtectionError('restore of project %s from Freezer backup %s%s failed: %s%s'
                                  % (project_id, name, ' (manifest %s)' % view['id'] if view else '',
                                     reason_of(exc, self.conn), '; %s' % undone if undone else ''),
                                  resource=resource, manifest=view)
        resource_map, restored = {}, []
        for result in results:
            resource_map.update(result.data.get('resource_map') or {})
            restored.extend(result.data.get('restored') or [])
        changed = any(r.changed for r in results)
        return Result(changed, job=None, resource=resource, restored=restored, resource_map=resource_map,
                      backups=[b for r in results for b in r.data.get('backups') or []], removed=[],
                      cinder_backups=[b for r in results for b in r.data.get('cinder_backups') or []],
                      manifest=view, warnings=warnings, before=None if changed else restored, after=restored)

    def _manifest_backup(self, volume_id, backup_id, name):
        backup = self.native.get_backup(backup_id)
        if backup is None or backup.volume_id != volume_id:
            raise NotFoundError('the manifest of project backup %s names Cinder backup %s of volume %s, which Cinder '
                                'no longer has' % (name, backup_id, volume_id),
                                resource=dict(type='volume', id=volume_id))
        return backup

    # -- admin: the manifests go with the backups -------------------------------
    def gone_volume_actions(self, actions, name):
        """Project admin of a protection: the volumes gone from the project whose Freezer-made Cinder backups of
        ``name`` remain, as ``cindernative`` admin actions (removed through Cinder, never sent to the agent)."""
        have = set(a.get('cindernative_vol_id') or a.get('cinder_vol_id') for a in actions)
        _servers, volumes = self.project_contents(name)
        return [dict(action='admin', mode='cindernative', cindernative_vol_id=v, backup_name=name)
                for v in volumes if v not in have]

    def drop_manifests(self, resource, name, options, result, dry_run):
        """After an admin of protection ``name``: remove the manifests naming a removed Cinder backup, the ones not
        ``available``, and for a project those older than ``remove_older_than`` days (all without retention)."""
        project_id = self.conn.current_project_id
        try:
            every = self.manifests.list(project_id, name)
        except ProtectionError as exc:
            if resource.get('type') == 'project':
                raise
            result.data.setdefault('warnings', []).append('%s; a manifest naming a removed backup may be left' %
                                                          exc.msg)
            return result
        removed = set(result.data.get('deleted_backups') or [])
        days = options.get('remove_older_than')
        everything = resource.get('type') == 'project' and not options.get('fullbackup_rotation') and not days
        cutoff = time.time() - float(days) * DAY if resource.get('type') == 'project' and days else None
        doomed = [m for m in every if everything or m.get('status') != 'available' or backup_ids(m) & removed or
                  (cutoff is not None and int((m.get('extra') or {}).get('time_stamp') or 0) < cutoff)]
        ids = [m['id'] for m in doomed]
        if doomed and not dry_run:
            with self.timings.step('remove manifests'):
                self.manifests.remove(doomed)
        result.data['deleted_manifests'] = ids
        result.changed = result.changed or bool(ids)
        return result

    def _original_server_name(self, server_id, record):
        found = self.conn.compute.find_server(server_id, ignore_missing=True)
        if found is not None and found.name:
            return found.name
        return self.recorded_server(record).get('name') or server_id

    def _volume_or_none(self, volume_id):
        try:
            return self.find_volume(volume_id)
        except NotFoundError:
            return None

    def _undo(self, done):
        """Remove what this run restored before a later restore failed (newest first)."""
        notes = []
        for kind, result in reversed(done):
            if kind == 'server':
                servers = [s for s in (get_or_none(self.conn.compute.get_server, v['id'])
                                       for v in result.data['restored']) if s is not None]
                images = [i for i in self._own_images() if i.id in (result.data.get('restored_images') or [])]
                notes.append(self._drop_restore(servers, images))
            elif kind == 'boot':  # restored = [the server, its boot volume]
                server, volume = (get_or_none(getter, v['id']) for getter, v in
                                  zip((self.conn.compute.get_server, self.conn.block_storage.get_volume),
                                      result.data['restored']))
                notes.append(self._drop_boot_restore([server] if server is not None else [], volume))
            else:
                for view in result.data['restored']:
                    notes.append(self.native.remove_volume(view['id']))
        return '; '.join(notes)

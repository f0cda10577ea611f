# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore of a tenant (project) backup: every server and volume the protection backed up, recreated as NEW
resources named ``<restore_prefix><original name>``.

A tenant backup (plan.py) is one Freezer job with a ``nova`` action per image-booted server and a
``cindernative`` action per volume (boot volumes of volume-booted servers included). What it covered is found
again from what it left: freezer-api's nova backup records named after the protection (one per server) and the
Cinder backups of that name Freezer made (one per volume). Each server is restored as in servers.py (a new
server from its nova backup), each volume into a new volume through Cinder's backup-restore API (recovery.py), so
the sources may be gone. ``resource_map`` maps every old id to its new id; a second run finds every restored
resource (``changed=false``). When one restore fails, the resources this run restored before it are removed and
the message names them.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import get_or_none, reason_of
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.recovery import (
    made_by_freezer,
)


class ProjectRestore:
    """Mixed into FreezerOperations: ``operation=restore`` of ``resource_type=project``."""

    def project_contents(self, name):
        """(server ids with nova backups, volume ids with Freezer-made Cinder backups) of protection ``name``."""
        servers = sorted(set((r.get('backup_metadata') or {}).get('nova_inst_id') for r in self.api.list_backups()
                             if (r.get('backup_metadata') or {}).get('mode') == 'nova' and
                             (r.get('backup_metadata') or {}).get('backup_name') == name) - set([None, '']))
        volumes = sorted(set(b.volume_id for b in self.conn.block_storage.backups(details=True)
                             if b.name == name and made_by_freezer(b)))
        return servers, volumes

    def restore_project(self, project_id, name, options, dry_run):
        prefix = options.get('restore_prefix')
        if prefix is None:
            prefix = '%s-' % name
        servers, volumes = self.project_contents(name)
        if not servers and not volumes:
            raise NotFoundError('project %s has no Freezer backup named %s (no nova backup record, no Cinder backup '
                                'of that name) to restore from' % (project_id, name),
                                resource=dict(type='project', id=project_id))
        resource = dict(type='project', id=project_id, servers=servers, volumes=volumes)
        results, done = [], []
        try:
            for server_id in servers:
                server_options = dict(options, restore_server_name=None)
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
            for volume_id in volumes:
                volume = self._volume_or_none(volume_id)
                backup = self.native.pick(volume_id, name, options, 'volume %s' % volume_id)
                volume_name = prefix + ((volume.name if volume is not None else None) or volume_id)
                result = self._restore_new(volume, backup, name, dict(options, restore_volume_name=volume_name),
                                           dry_run)
                results.append(result)
                if result.changed and not dry_run:
                    done.append(('volume', result))
        except Exception as exc:  # pylint: disable=broad-except
            with self.timings.step('clean up'):
                undone = self._undo(done)
            raise ProtectionError('restore of project %s from Freezer backup %s failed: %s%s'
                                  % (project_id, name, reason_of(exc, self.conn),
                                     '; %s' % undone if undone else ''), resource=resource)
        resource_map, restored = {}, []
        for result in results:
            resource_map.update(result.data.get('resource_map') or {})
            restored.extend(result.data.get('restored') or [])
        changed = any(r.changed for r in results)
        return Result(changed, job=None, resource=resource, restored=restored, resource_map=resource_map,
                      backups=[b for r in results for b in r.data.get('backups') or []], removed=[],
                      cinder_backups=[b for r in results for b in r.data.get('cinder_backups') or []],
                      before=None if changed else restored, after=restored)

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
            else:
                for view in result.data['restored']:
                    notes.append(self.native.remove_volume(view['id']))
        return '; '.join(notes)

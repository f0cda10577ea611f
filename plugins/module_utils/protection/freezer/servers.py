# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Freezer ``nova`` mode for image-booted servers: what Freezer 19's agent does, and what the collection adds.

The agent's backup snapshots the server (Nova -> a Glance image ``freezer_backup_<server id>``), streams the image
data to the storage (Swift: ``data/nova/<host>_<backup_name>/<server id>/<time>/0_<time>/...``) with the server's
description (name, flavor, image, addresses) in ``metadata/...``, and deletes the temporary image. The backup
therefore carries the disk: a restore needs neither the server nor its Glance image.

The agent's restore uploads the data as a Glance image ``freezer_restore_<server name>`` and boots
``<server name>~<backup time>`` from it with the recorded flavor (looked up by name) and networks (by name), then
reports success without waiting for the server. The collection around it: picks the backup from freezer-api's
records, waits for the server to be ACTIVE, boots a replacement when the flavor or network is overridden, renames it,
marks it (metadata ``dataprotection_restored_from`` = the Freezer backup id: a second run finds it) and returns
``resource_map`` {old server id: new server id}. Whatever a failed backup or restore left (images, servers, Swift
objects, records of this job) is removed or named in the message.
"""

from __future__ import annotations

import datetime
import json

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import get_or_none, reason_of
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    PROTECTION_KEY,
    RESTORED_FROM_KEY,
    Result,
    parse_time,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.boot_volume import (
    BootVolumeServers,
    server_view,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.views import found_or_gone

SERVER_OK = ('ACTIVE',)
SERVER_FAIL = ('ERROR', 'DELETED', 'SOFT_DELETED', 'SHELVED', 'SHELVED_OFFLOADED', 'not-found')
RESTORE_IMAGE_PREFIX = 'freezer_restore_'
BACKUP_IMAGE_PREFIX = 'freezer_backup_'


def _stamp(record):
    try:
        return int((record.get('backup_metadata') or {}).get('time_stamp') or 0)
    except (TypeError, ValueError):
        return 0


def iso_utc(stamp):
    return datetime.datetime.fromtimestamp(int(stamp), tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class NovaMode(BootVolumeServers):
    """Mixed into FreezerOperations: nova-mode backup checks and cleanup, restore as a new server (a volume-booted
    server: boot_volume.py)."""

    # -- what the backup holds --------------------------------------------------
    def nova_records(self, server_id, name):
        """freezer-api's records of this server's nova backups named ``name``, oldest first."""
        found = []
        for record in self.api.list_backups():
            meta = record.get('backup_metadata') or {}
            if meta.get('mode') == 'nova' and meta.get('nova_inst_id') == server_id and \
                    meta.get('backup_name') == name:
                found.append(record)
        return sorted(found, key=_stamp)

    def pick_nova_backup(self, server_id, name, options):
        records = self.nova_records(server_id, name)
        if options.get('restore_from_date'):
            cutoff = _epoch(options['restore_from_date'])
            records = [r for r in records if _stamp(r) <= cutoff]
        if not records:
            raise NotFoundError('server %s has no Freezer nova backup named %s%s to restore from (nor a Cinder backup '
                                'of a boot volume that recorded it)'
                                % (server_id, name, ' taken before %s' % options['restore_from_date']
                                   if options.get('restore_from_date') else ''),
                                resource=dict(type='server', id=server_id))
        return records[-1]

    def recorded_server(self, record):
        """The server as the backup recorded it (from the backup's metadata object in Swift), or {}."""
        meta = record.get('backup_metadata') or {}
        if (meta.get('storage') or 'swift') != 'swift':
            return {}
        stamp = _stamp(record)
        path = 'metadata/nova/%s_%s/%s/%d/0_%d/metadata' % (meta.get('hostname'), meta.get('backup_name'),
                                                            meta.get('nova_inst_id'), stamp, stamp)
        try:
            data = json.loads(self.conn.object_store.download_object(path, container=meta.get('container')))
        except Exception:  # pylint: disable=broad-except
            return {}
        server = data.get('server') or {}
        flavor = server.get('flavor') or {}
        image = server.get('image') or {}
        return dict(name=server.get('name'), flavor=flavor.get('original_name') or flavor.get('name') or
                    flavor.get('id'), image_id=image.get('id') if isinstance(image, dict) else image,
                    networks=sorted((server.get('addresses') or {}).keys()))

    # -- backup: verify and clean up --------------------------------------------
    def nova_before(self, actions):
        """Whether each nova action's container exists before the job (a container the job made goes on failure)."""
        state = {}
        for action in actions:
            if action.get('mode') == 'nova' and (action.get('storage') or 'swift') == 'swift':
                container = action.get('container')
                state[container] = get_or_none(self.conn.object_store.get_container_metadata, container) is not None
        return state

    def verify_nova_backup(self, actions, job):
        """Every server of the job has a Freezer backup record of this job (the agent records what it stored)."""
        nova = [a for a in actions if a.get('mode') == 'nova']
        records = [r for r in self.api.list_backups() if (r.get('backup_metadata') or {}).get('job_id') ==
                   job['job_id']] if nova else []
        for action in nova:
            if not [r for r in records if r['backup_metadata'].get('nova_inst_id') == action['nova_inst_id']]:
                raise ProtectionError('freezer job %s reported success but freezer-api has no nova backup %s of '
                                      'server %s' % (job['job_id'], action['backup_name'], action['nova_inst_id']))

    def cleanup_nova_backup(self, job, actions, containers, started):
        """After a failed nova backup: the agent's temporary images, this job's Swift objects and records."""
        notes, kept = [], []
        servers = [a['nova_inst_id'] for a in actions if a.get('mode') == 'nova']
        if not servers:
            return notes, kept
        for image in self._own_images():  # this job's snapshots only (created after it started)
            created = parse_time(getattr(image, 'created_at', None))
            if image.name in [BACKUP_IMAGE_PREFIX + s for s in servers] and created is not None and \
                    created.timestamp() >= started - 1:
                self._drop_image(image, notes, kept)
        for action in [a for a in actions if a.get('mode') == 'nova']:
            container = action.get('container')
            if container not in containers:
                continue
            try:
                objects = list(self.conn.object_store.objects(container))
            except Exception:  # pylint: disable=broad-except
                continue
            doomed = [o.name for o in objects if '/%s/' % action['nova_inst_id'] in o.name and
                      _object_stamp(o.name, action['nova_inst_id']) >= started - 1]
            for obj in doomed:
                try:
                    self.conn.object_store.delete_object(obj, container=container, ignore_missing=True)
                except Exception as exc:  # pylint: disable=broad-except
                    kept.append('Swift object %s/%s (%s)' % (container, obj, reason_of(exc, self.conn)))
            if doomed:
                notes.append('%d Swift objects of the backup in %s were removed' % (len(doomed), container))
            if not containers[container] and len(doomed) == len(objects):
                try:
                    self.conn.object_store.delete_container(container, ignore_missing=True)
                    notes.append('Swift container %s was removed' % container)
                except Exception as exc:  # pylint: disable=broad-except
                    kept.append('Swift container %s (%s)' % (container, reason_of(exc, self.conn)))
        try:
            for record in self.api.list_backups():
                if (record.get('backup_metadata') or {}).get('job_id') == job['job_id']:
                    self.api.delete_backup(record['backup_id'])
                    notes.append('Freezer backup record %s was removed' % record['backup_id'])
        except Exception as exc:  # pylint: disable=broad-except
            kept.append('Freezer backup records of job %s (%s)' % (job['job_id'], reason_of(exc, self.conn)))
        return notes, kept

    # -- restore as a new server -------------------------------------------------
    def restore_server(self, resource_id, name, options, dry_run):
        """Restore a server as a NEW server: an image-booted one from its nova backup, a volume-booted one from the
        Cinder backup of its boot volume (boot_volume.py); None without a compute service (restore in place)."""
        server = found_or_gone(self.find_server, 'server', resource_id)
        if server is not None and server.get('boot_volume') is not None:
            if server.get('source') != 'nova':  # no compute service: the boot volume is restored in place
                return None
            return self.restore_boot_server(server['id'], server, name, options, dry_run)
        if server is None and not self.nova_records(resource_id, name) and self.boot_backups(resource_id, name):
            # a deleted volume-booted server: its boot volume's backup recorded it
            return self.restore_boot_server(resource_id, None, name, options, dry_run)
        server_id = server['id'] if server else resource_id
        record = self.pick_nova_backup(server_id, name, options)
        recorded = self.recorded_server(record)
        stamp = _stamp(record)
        resource = dict(type='server', id=server_id, name=(server or {}).get('name') or recorded.get('name'),
                        boot='image', source_exists=server is not None, image_id=recorded.get('image_id'),
                        flavor=recorded.get('flavor'), networks=recorded.get('networks') or [],
                        backup=dict(backup_id=record.get('backup_id'), time_stamp=stamp))
        new_name = options.get('restore_server_name') or '%s~%d' % (resource['name'] or server_id, stamp)
        common = dict(resource=resource, backups=[dict(backup_id=record.get('backup_id'), status=record.get('status'),
                                                       time_stamp=stamp)], removed=[])
        existing = self._restored_server(record.get('backup_id'), new_name)
        if existing is not None:
            view = server_view(existing)
            return Result(False, job=None, restored=[view], resource_map={server_id: existing.id}, before=view,
                          after=view, **common)
        flavor = self._flavor(options.get('restore_flavor')) if options.get('restore_flavor') else None
        if dry_run:
            planned = dict(id='(would be created)', name=new_name, status=None, image_id='(restored from Swift)',
                           flavor=flavor.name if flavor else recorded.get('flavor'),
                           networks=[options['restore_network']] if options.get('restore_network') else
                           resource['networks'], metadata={RESTORED_FROM_KEY: record.get('backup_id')})
            result = self._run_job(resource, [self._nova_action('restore', dict(id=server_id), name, options)],
                                   name, 'restore', options, True)
            result.data.update(restored=[planned], resource_map={server_id: planned['id']}, after=planned, **common)
            return result
        return self._run_restore(server_id, record, recorded, resource, new_name, flavor, name, options, common)

    def _run_restore(self, server_id, record, recorded, resource, new_name, flavor, name, options, common):
        stamp = _stamp(record)
        before_servers = set(s.id for s in self.conn.compute.servers())
        self._clear_agent_image_name(RESTORE_IMAGE_PREFIX + (recorded.get('name') or ''))
        before_images = set(i.id for i in self._own_images())
        action = self._nova_action('restore', dict(id=server_id), name,
                                   dict(options, restore_from_date=iso_utc(stamp)))
        made_servers, made_images, replacements = [], [], []

        def agent_made():
            """The servers (found once, kept even after a rename) and images the restore made so far."""
            suffix = '~%d' % stamp
            found = [s for s in self.conn.compute.servers()
                     if s.id not in before_servers and (s.name or '').endswith(suffix)]
            made_servers.extend(s for s in found + replacements if s.id not in [m.id for m in made_servers])
            image_name = RESTORE_IMAGE_PREFIX + (recorded.get('name') or '')
            used = set(server_view(s)['image_id'] for s in made_servers)
            made_images[:] = [i for i in self._own_images() if i.id not in before_images and
                              (i.id in used or (recorded.get('name') and i.name == image_name))]

        try:
            result = self._run_job(resource, [action], name, 'restore', options, False)
            with self.timings.step('wait for the restored server'):
                agent_made()
                if len(made_servers) != 1:
                    raise ProtectionError('freezer job for %s reported success but %d new servers named *~%d appeared '
                                          'in Nova' % (server_id, len(made_servers), stamp))
                restored = self._wait_server(made_servers[0].id)
                if flavor is not None or options.get('restore_network'):
                    restored = self._replace(restored, new_name, flavor, options.get('restore_network'),
                                             replacements)
            with self.timings.step('name and mark the restored server'):
                if restored.name != new_name:
                    self.conn.compute.update_server(restored, name=new_name)
                marks = {RESTORED_FROM_KEY: record.get('backup_id'), PROTECTION_KEY: name}
                self.conn.compute.set_server_metadata(restored, **marks)
                for image in made_images:
                    # renamed: the agent finds its restored image by name, so a second restore of this server
                    # would fail with two images named freezer_restore_<name>
                    self._mark_image(image.id, marks, name='dp-restored-%s' % restored.id)
                restored = self.conn.compute.get_server(restored.id)
        except Exception as exc:  # pylint: disable=broad-except
            agent_made()
            with self.timings.step('clean up'):
                left = self._drop_restore(made_servers, made_images)
            extra = dict((k, v) for k, v in getattr(exc, 'result', {}).items() if k != 'resource')
            raise ProtectionError('restore of server %s from Freezer backup %s failed: %s; %s'
                                  % (server_id, record.get('backup_id'), reason_of(exc, self.conn), left),
                                  resource=resource, **extra)
        view = server_view(restored)
        result.data.update(restored=[view], resource_map={server_id: restored.id}, after=view,
                           restored_images=[i.id for i in made_images], **common)
        result.data['removed'] = result.data.get('removed') or []
        return result

    def _wait_server(self, server_id):
        try:
            return self.wait_for(lambda: get_or_none(self.conn.compute.get_server, server_id), SERVER_OK,
                                 SERVER_FAIL, describe='restored server %s' % server_id)
        except ProtectionError as exc:
            last = getattr(exc, 'last', None)
            fault = (getattr(last, 'fault', None) or {}) if last is not None else {}
            reason = fault.get('message') if isinstance(fault, dict) else None
            raise ProtectionError('%s%s' % (exc.msg, ' (Nova: %s)' % reason if reason else ''))

    def _replace(self, agent_server, new_name, flavor, network, replacements):
        """The agent boots with the recorded flavor and networks: boot the overridden server from its image."""
        image_id = server_view(agent_server)['image_id']
        networks = network if network in ('none', 'auto') else [{'uuid': self._network_id(network)}] if network \
            else 'none'
        flavor_id = flavor.id if flavor is not None else self._flavor(server_view(agent_server)['flavor']).id
        replacement = self.conn.compute.create_server(name=new_name, image_id=image_id, flavor_id=flavor_id,
                                                      networks=networks)
        replacements.append(replacement)
        restored = self._wait_server(replacement.id)
        self._delete_server(agent_server.id)
        return restored

    def _flavor(self, name_or_id):
        flavor = self.conn.compute.find_flavor(name_or_id, ignore_missing=True)
        if flavor is None:
            raise NotFoundError('restore_flavor %s: no such Nova flavor' % name_or_id)
        return flavor

    def _network_id(self, name_or_id):
        network = self.conn.network.find_network(name_or_id, ignore_missing=True)
        if network is None:
            raise NotFoundError('restore_network %s: no such network' % name_or_id)
        return network.id

    def _restored_server(self, backup_id, new_name):
        for server in self.conn.compute.servers(name='^%s$' % _regex_escape(new_name)):
            if server.name == new_name and (server.metadata or {}).get(RESTORED_FROM_KEY) == backup_id:
                return server
        return None

    def _clear_agent_image_name(self, image_name):
        """Freezer's agent finds the image it restores by the name ``freezer_restore_<server name>`` and fails when
        two have it: rename ours (marked by an earlier restore), refuse for anyone else's."""
        taken = [i for i in self._own_images() if i.name == image_name]
        foreign = [i.id for i in taken if not (getattr(i, 'properties', None) or {}).get(RESTORED_FROM_KEY)]
        if foreign:
            raise ProtectionError('Glance image(s) %s in this project are named %s, the name Freezer\'s agent gives the '
                                  'image it restores and then looks up (two make it fail): they were not made by '
                                  'this collection and are left alone; rename or remove them first'
                                  % (', '.join(foreign), image_name))
        for image in taken:
            self._mark_image(image.id, {}, name='dp-restored-%s' % image.id)

    def _mark_image(self, image_id, marks, name=None):
        """Glance image properties through a JSON patch (the SDK's update_image sends a patch Glance refuses: 409)."""
        patch = [dict(op='add', path='/%s' % key, value=value) for key, value in sorted(marks.items())]
        if name:
            patch.append(dict(op='replace', path='/name', value=name))
        response = self.conn.image.patch('/images/%s' % image_id, json=patch, raise_exc=False,
                                         headers={'Content-Type': 'application/openstack-images-v2.1-json-patch'})
        if response.status_code >= 400:
            raise ProtectionError('Glance refused to mark the restored image %s: HTTP %s %s'
                                  % (image_id, response.status_code, (response.text or '')[:200]))

    def _own_images(self):
        return list(self.conn.image.images(owner=self.conn.current_project_id))

    # -- removal ------------------------------------------------------------------
    def _delete_server(self, server_id):
        self.conn.compute.delete_server(server_id, ignore_missing=True)
        self.wait_for(lambda: get_or_none(self.conn.compute.get_server, server_id), ('not-found', 'DELETED'),
                      describe='deletion of server %s' % server_id)

    def _drop_image(self, image, notes, kept):
        try:
            self.conn.image.delete_image(image.id, ignore_missing=True)
            notes.append('Glance image %s (%s) was removed' % (image.name, image.id))
        except Exception as exc:  # pylint: disable=broad-except
            kept.append('Glance image %s (%s: %s)' % (image.name, image.id, reason_of(exc, self.conn)))

    def _drop_servers(self, servers, notes, kept):
        for server in servers:
            try:
                self._delete_server(server.id)
                notes.append('server %s (%s) was removed' % (server.name, server.id))
            except Exception as exc:  # pylint: disable=broad-except
                kept.append('server %s (%s: %s)' % (server.name, server.id, reason_of(exc, self.conn)))

    def _drop_restore(self, servers, images):
        notes, kept = [], []
        self._drop_servers(servers, notes, kept)
        for image in images:
            self._drop_image(image, notes, kept)
        text = ', '.join(notes) if notes else 'no server or image was left by the restore'
        return text + ('; left behind: %s' % ', '.join(kept) if kept else '')


def _epoch(text):
    value = str(text).strip()
    parsed = datetime.datetime.fromisoformat(value[:-1] + '+00:00' if value[-1:] in ('Z', 'z') else value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return int(parsed.timestamp())


def _object_stamp(object_name, server_id):
    """The backup time in a Swift object name ``.../<server id>/<time>/...``; 0 when there is none."""
    parts = object_name.split('/')
    try:
        return int(parts[parts.index(server_id) + 1])
    except (ValueError, IndexError):
        return 0


def _regex_escape(text):
    return ''.join('\\' + c if c in '.^$*+?{}[]\\|()' else c for c in text)

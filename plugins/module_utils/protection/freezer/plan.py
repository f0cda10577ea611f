# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Freezer job does for a resource: the lookups and the ``freezer_action`` documents per resource type.

volume - a Cinder backup (``cindernative``, the default) or a backup through
Glance (``cinder``); server - ``nova`` mode for an image-booted server (its
image and networks recorded), the system volume of a volume-booted one;
project - all its servers and volumes; image and network - not backed up on
their own (no action). Reads only: nothing here changes the cloud.

freezer-api accepts extra keys in a freezer_action, but freezer-agent 19 dies
on any key it does not know ("'NoneType' object has no attribute 'replace'"),
so the collection writes no markers into actions. A managed job is identified
by its description (Freezer's job name) and the backup_name of its actions.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import is_endpoint_missing
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import looks_like_id
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_snapshot import find_volume
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.views import (
    NOT_ALONE,
    RESOURCE_TYPES,
    volume_view,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.service import CloudService

ROOT_DEVICES = ('/dev/vda', '/dev/sda', '/dev/xvda')


class FreezerPlan(CloudService):
    """Resource lookups (Cinder, Nova when the catalog has it) and the Freezer actions for them."""

    # -- resource lookups -------------------------------------------------
    def find_volume(self, name_or_id):
        """The volume by id or unique name, refused when it belongs to another project."""
        return find_volume(self.conn, name_or_id)

    def has_compute(self):
        """Whether the catalog has Nova (the local test cloud has none)."""
        try:
            self.conn.compute.get_endpoint()
            return True
        except Exception as exc:  # pylint: disable=broad-except
            if is_endpoint_missing(exc) or type(exc).__name__ in ('ServiceDisabledException', 'EndpointNotFound') \
                    or 'not present in the service catalog' in str(exc) or 'not found' in str(exc):
                return False
            raise

    def attached_volumes(self, server_id):
        """Cinder's view of a server's volumes: [(volume, device)], boot device first."""
        found = []
        for volume in self.conn.block_storage.volumes(details=True):
            for attachment in volume.attachments or []:
                if attachment.get('server_id') == server_id:
                    found.append((volume, attachment.get('device') or ''))
        return sorted(found, key=lambda pair: (pair[1] not in ROOT_DEVICES, pair[1]))

    def find_server(self, name_or_id):
        """A dict describing the server: id, name, image_id, networks, boot_volume (volume or None).

        With Nova the server, its image and networks come from Nova and the boot volume from Cinder
        attachments at the root device. Without Nova in the catalog (the local test cloud) a server id is
        resolved from Cinder attachments alone: it is volume-booted when a bootable volume is attached at the
        root device.
        """
        if self.has_compute():
            server = self.conn.compute.find_server(name_or_id, ignore_missing=True)
            if server is None:
                raise NotFoundError('server %s: not found' % name_or_id)
            image = server.image or {}
            image_id = image.get('id') if isinstance(image, dict) else image
            networks = sorted((server.addresses or {}).keys())
            root = getattr(server, 'root_device_name', None) or '/dev/vda'
            boot = None
            if not image_id:
                attached = self.attached_volumes(server.id)
                on_root = [v for v, dev in attached if dev == root] or [v for v, dev in attached
                                                                        if getattr(v, 'is_bootable', False)]
                if not on_root:
                    raise ProtectionError('server %s (%s) is volume-booted but Cinder shows no volume attached at %s'
                                          % (server.name, server.id, root))
                boot = on_root[0]
            return dict(id=server.id, name=server.name, image_id=image_id or None, networks=networks,
                        boot_volume=boot, source='nova')
        if not looks_like_id(name_or_id):
            raise NotFoundError('server %s: the cloud has no compute service, so servers are found by id only '
                                '(through Cinder attachments)' % name_or_id)
        attached = self.attached_volumes(name_or_id)
        boot = [v for v, dev in attached if getattr(v, 'is_bootable', False)]
        if not boot:
            raise NotFoundError('server %s: the cloud has no compute service and Cinder shows no bootable volume '
                                'attached to it' % name_or_id)
        return dict(id=name_or_id, name=None, image_id=None, networks=[], boot_volume=boot[0],
                    source='cinder-attachments')

    def list_servers(self):
        if not self.has_compute():
            return None
        return list(self.conn.compute.servers(details=True))

    # -- actions ----------------------------------------------------------
    def _volume_action(self, operation, volume, name, options):
        mode = options.get('volume_mode') or 'cindernative'
        action = dict(action=operation)
        if name:
            action['backup_name'] = name
        if mode == 'cindernative':
            action.update(mode='cindernative', cindernative_vol_id=volume.id)
            if operation == 'restore' and options.get('restore_backup_id'):
                action['cindernative_backup_id'] = options['restore_backup_id']
            if options.get('container') and operation == 'backup':
                action['cindernative_backup_container'] = options['container']
            if options.get('incremental') and operation == 'backup':
                action['incremental'] = True
        else:
            action.update(mode='cinder', cinder_vol_id=volume.id)
            self._storage(action, name, options)
        if operation == 'admin':
            self._retention(action, options, default_all=True)
        if operation == 'restore' and options.get('restore_from_date'):
            action['restore_from_date'] = options['restore_from_date']
        return self._extra(action, options)

    def _nova_action(self, operation, server, name, options):
        action = dict(action=operation, mode='nova', engine_name='nova', nova_inst_id=server['id'])
        if name:
            action['backup_name'] = name
        self._storage(action, name, options)
        if operation == 'restore':
            if options.get('restore_network'):
                action['nova_restore_network'] = options['restore_network']
            if options.get('restore_from_date'):
                action['restore_from_date'] = options['restore_from_date']
        if operation == 'admin':
            self._retention(action, options, default_all=True)
        return self._extra(action, options)

    @staticmethod
    def _storage(action, name, options):
        action['storage'] = options.get('storage') or 'swift'
        action['container'] = options.get('container') or 'freezer_%s' % (name or 'backups')
        if options.get('engine_name') and action.get('mode') != 'nova':
            action['engine_name'] = options['engine_name']

    @staticmethod
    def _retention(action, options, default_all=False):
        if options.get('fullbackup_rotation'):
            action['fullbackup_rotation'] = int(options['fullbackup_rotation'])
        elif options.get('remove_older_than') is not None:
            action['remove_older_than'] = options['remove_older_than']
        elif default_all:
            action['remove_older_than'] = 0

    @staticmethod
    def _extra(action, options):
        """The user's extra_action_options, never overriding what the module set."""
        for key, value in (options.get('extra_action_options') or {}).items():
            action.setdefault(key, value)
        return action

    def plan(self, resource_type, resource_id, operation, name, options):
        """(resource view, [freezer_action]) for one resource; no mutation."""
        if resource_type not in RESOURCE_TYPES:
            raise ProtectionError('resource_type must be one of %s, got %s' % (', '.join(RESOURCE_TYPES),
                                                                               resource_type))
        if resource_type in NOT_ALONE:
            return dict(type=resource_type, id=resource_id), []
        if resource_type == 'volume':
            volume = self.find_volume(resource_id)
            return (dict(type='volume', id=volume.id, name=volume.name, volume=volume_view(volume)),
                    [self._volume_action(operation, volume, name, options)])
        if resource_type == 'server':
            server = self.find_server(resource_id)
            return self._server_view(server), [self._server_action(operation, server, name, options)]
        return self._plan_project(resource_id, operation, name, options)

    @staticmethod
    def _server_view(server):
        view = dict(type='server', id=server['id'], name=server.get('name'), image_id=server.get('image_id'),
                    networks=server.get('networks') or [], source=server.get('source'),
                    boot='volume' if server.get('boot_volume') is not None else 'image')
        if server.get('boot_volume') is not None:
            view['boot_volume'] = volume_view(server['boot_volume'])
        return view

    def _server_action(self, operation, server, name, options):
        if server.get('boot_volume') is not None:
            return self._volume_action(operation, server['boot_volume'], name, options)
        return self._nova_action(operation, server, name, options)

    def check_project(self, resource_id):
        """The id of the project the credentials are scoped to; another project is refused."""
        project_id = self.conn.current_project_id
        if resource_id and resource_id != project_id:
            try:
                project = self.conn.identity.find_project(resource_id, ignore_missing=True)
            except Exception:  # pylint: disable=broad-except
                project = None  # members may not read projects; the id check below still applies
            if project is None or project.id != project_id:
                raise ProtectionError('project %s: a tenant backup runs in the project the credentials are scoped '
                                      'to (%s); scope the connection to that project' % (resource_id, project_id))
        return project_id

    def _plan_project(self, resource_id, operation, name, options):
        project_id = self.check_project(resource_id)
        actions, covered, servers_view = [], set(), []
        servers = self.list_servers()
        for server in servers or []:
            image = server.image or {}
            image_id = image.get('id') if isinstance(image, dict) else image
            info = dict(id=server.id, name=server.name, image_id=image_id or None,
                        networks=sorted((server.addresses or {}).keys()), boot_volume=None, source='nova')
            if not image_id:
                info = self.find_server(server.id)
            if info.get('boot_volume') is not None:
                covered.add(info['boot_volume'].id)
            servers_view.append(self._server_view(info))
            actions.append(self._server_action(operation, info, name, options))
        volumes = sorted(self.conn.block_storage.volumes(details=True), key=lambda v: (v.name or '', v.id))
        volume_ids = []
        for volume in volumes:
            if volume.id in covered:
                continue
            volume_ids.append(volume.id)
            actions.append(self._volume_action(operation, volume, name, options))
        view = dict(type='project', id=project_id, servers=servers_view, volumes=volume_ids,
                    compute=servers is not None)
        return view, actions

    # -- job documents ----------------------------------------------------
    @staticmethod
    def job_doc(description, client_id, actions, schedule=None, max_retries=0, max_retries_interval=10):
        return dict(description=description, client_id=client_id, job_schedule=dict(schedule or {}),
                    job_actions=[dict(freezer_action=a, max_retries=max_retries,
                                      max_retries_interval=max_retries_interval, mandatory=False)
                                 for a in actions])

    @staticmethod
    def default_job_name(name, resource):
        return '%s (%s %s)' % (name, resource['type'], resource['id'])

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Volume-booted servers: their backup is the ``cindernative`` Cinder backup of the boot volume (plan.py); their
restore is a NEW server booted from a NEW volume holding that backup.

Backup: Freezer's agent makes the Cinder backup of the boot volume and records nothing about the server. After the
backup succeeded the collection writes the server into the Cinder backup's own metadata (``dataprotection_server_id``,
``_name``, ``_flavor``, ``_networks``; Cinder 3.43 backup metadata, kept next to Freezer's ``created_by`` and
``freezer_backup_id``). Never into the Freezer action: the agent dies on keys it does not know.

Restore: the backup is restored into a new volume through Cinder's backup-restore API (recovery.py, the same code as
disaster recovery), marked bootable, and a new server is booted from it (flavor and networks as recorded, or
``restore_flavor``/``restore_network``), waited for ``ACTIVE`` through the shared waiter and marked with
``dataprotection_restored_from`` = the Cinder backup id. The server and its volume may both be gone: the backup is
found again by the server id it recorded. A second run finds the server by name and marker (``changed=false``); a
failure removes the server and the volume this restore made and names Nova's fault.
"""

from __future__ import annotations

import json

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import get_or_none, reason_of
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import cinder
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    PROTECTION_KEY,
    RESTORED_FROM_KEY,
    Result,
    parse_time,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.recovery import (
    made_by_freezer,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.views import (
    backup_view,
    volume_view,
)

SERVER_ID_KEY = 'dataprotection_server_id'
SERVER_NAME_KEY = 'dataprotection_server_name'
SERVER_FLAVOR_KEY = 'dataprotection_server_flavor'
SERVER_NETWORKS_KEY = 'dataprotection_server_networks'
METADATA_MAX = 255  # Cinder's limit for a metadata value
PLANNED = '(would be created)'
# a volume detached from a deleted server passes through these before it can be deleted
DETACHING = frozenset(['in-use', 'detaching', 'reserved', 'attaching'])


def server_view(server):
    """What the module returns of a Nova server (flavor by name: Nova >= 2.47 embeds it)."""
    if server is None:
        return None
    image = server.image or {}
    flavor = server.flavor or {}
    flavor_name = flavor.get('original_name') or flavor.get('name') if isinstance(flavor, dict) else \
        getattr(flavor, 'original_name', None) or getattr(flavor, 'name', None)
    return dict(id=server.id, name=server.name, status=server.status,
                image_id=image.get('id') if isinstance(image, dict) else getattr(image, 'id', None),
                flavor=flavor_name, networks=sorted((server.addresses or {}).keys()),
                metadata=dict(server.metadata or {}))


def server_marks(server_id, name, flavor, networks):
    """The Cinder backup metadata recording a volume-booted server (values within Cinder's 255 characters)."""
    marks = {SERVER_ID_KEY: server_id}
    if name:
        marks[SERVER_NAME_KEY] = name[:METADATA_MAX]
    if flavor:
        marks[SERVER_FLAVOR_KEY] = flavor[:METADATA_MAX]
    kept = list(networks or [])
    while kept and len(json.dumps(kept)) > METADATA_MAX:
        kept.pop()
    marks[SERVER_NETWORKS_KEY] = json.dumps(kept)
    return marks


def recorded_server(backup):
    """The server a boot-volume backup recorded: {id, name, flavor, networks (None when not recorded)}."""
    meta = getattr(backup, 'metadata', None) or {}
    try:
        networks = json.loads(meta[SERVER_NETWORKS_KEY]) if SERVER_NETWORKS_KEY in meta else None
    except ValueError:
        networks = None
    return dict(id=meta.get(SERVER_ID_KEY), name=meta.get(SERVER_NAME_KEY), flavor=meta.get(SERVER_FLAVOR_KEY),
                networks=networks)


def _stamp(backup):
    created = parse_time(getattr(backup, 'created_at', None))
    return int(created.timestamp()) if created is not None else 0


class BootVolumeServers:
    """Mixed into FreezerOperations (through NovaMode): record a volume-booted server at backup, restore it new."""

    # -- backup: record the server in the Cinder backup ---------------------------------
    def record_boot_servers(self, backups):
        """For each new Cinder backup (views) of a volume that is a volume-booted server's boot volume, write the
        server into the backup's metadata (and into the view). A refusal fails the backup (it is then removed)."""
        if not backups or not self.has_compute():
            return
        for view in backups:
            volume = get_or_none(self.conn.block_storage.get_volume, view['volume_id'])
            server = self._boot_server_of(volume) if volume is not None else None
            if server is None:
                continue
            live = server_view(get_or_none(self.conn.compute.get_server, server['id'])) or {}
            marks = server_marks(server['id'], server.get('name'), live.get('flavor'), server.get('networks'))
            metadata = dict(view.get('metadata') or {}, **marks)
            try:
                self.conn.block_storage.update_backup(view['id'], metadata=metadata)
            except Exception as exc:  # pylint: disable=broad-except
                raise ProtectionError('Cinder refused to record server %s (%s) in the metadata of backup %s of its '
                                      'boot volume %s: %s' % (server.get('name'), server['id'], view['id'],
                                                              view['volume_id'], reason_of(exc, self.conn)))
            view['metadata'] = metadata

    def _boot_server_of(self, volume):
        """find_server's dict of the server this volume boots (the same rule the backup plan uses), or None."""
        for attachment in volume.attachments or []:
            server_id = attachment.get('server_id')
            try:
                server = self.find_server(server_id) if server_id else None
            except (NotFoundError, ProtectionError):
                server = None
            if server is not None and getattr(server.get('boot_volume'), 'id', None) == volume.id:
                return server
        return None

    # -- restore as a new server --------------------------------------------------------
    def boot_backups(self, server_id, name):
        """Freezer-made Cinder backups named ``name`` that recorded ``server_id`` as their server, oldest first."""
        found = [b for b in self.conn.block_storage.backups(details=True)
                 if b.name == name and made_by_freezer(b) and (b.metadata or {}).get(SERVER_ID_KEY) == server_id]
        return sorted(found, key=lambda b: (str(b.created_at or ''), b.id))

    def _pick_boot_backup(self, server_id, server, name, options):
        if server is not None:
            boot = server['boot_volume']
            return self.native.pick(boot.id, name, options, 'boot volume %s of server %s (%s)'
                                    % (boot.id, server.get('name'), server_id))
        backups = self.boot_backups(server_id, name)
        if options.get('restore_backup_id'):
            chosen = [b for b in backups if b.id == options['restore_backup_id']]
            if not chosen:
                raise NotFoundError('restore_backup_id %s is no Freezer backup %s of the boot volume of server %s'
                                    % (options['restore_backup_id'], name, server_id))
            return chosen[0]
        backups = [b for b in backups if b.status == 'available']
        if options.get('restore_from_date'):
            cutoff = str(options['restore_from_date'])
            backups = [b for b in backups if str(b.created_at or '') <= cutoff]
        if not backups:
            raise NotFoundError('deleted server %s has no available Cinder backup %s of its boot volume to restore '
                                'from' % (server_id, name), resource=dict(type='server', id=server_id))
        return backups[-1]

    def restore_boot_backup(self, backup_id, name, options, dry_run, name_prefix=''):
        """For a project restore: the volume-booted server this Cinder backup recorded, restored from exactly this
        backup as a NEW volume and server named ``<name_prefix><recorded name>``; None when it recorded no server."""
        backup = self.native.get_backup(backup_id)
        server_id = (getattr(backup, 'metadata', None) or {}).get(SERVER_ID_KEY) if backup is not None else None
        if not server_id:
            return None
        new_name = name_prefix + (recorded_server(backup)['name'] or server_id)
        return self.restore_boot_server(server_id, None, name, dict(options, restore_backup_id=backup_id,
                                                                    restore_from_date=None), dry_run, new_name)

    def restore_boot_server(self, server_id, server, name, options, dry_run, new_name=None):
        """Restore a volume-booted server's boot-volume backup as a NEW volume and a NEW server booted from it.

        ``server`` is find_server's dict when the server still exists, else None (then the backup is found by the
        server id it recorded). ``new_name`` (a project restore's prefixed name) wins over ``restore_server_name``.
        Returns the Result: ``resource_map`` {old server id: new server id, old volume id: new volume id}.
        """
        backup = self._pick_boot_backup(server_id, server, name, options)
        recorded = recorded_server(backup)
        live = self._server_now(server)
        original = recorded['name'] or live.get('name')
        flavor_name = recorded['flavor'] or live.get('flavor')
        networks = recorded['networks'] if recorded['networks'] is not None else live.get('networks') or []
        default_name = '%s~%d' % (original or server_id, _stamp(backup))
        new_name = new_name or options.get('restore_server_name') or default_name
        exists = server is not None or get_or_none(self.conn.compute.get_server, server_id) is not None
        resource = dict(type='server', id=server_id, name=original, boot='volume', source_exists=exists,
                        boot_volume=volume_view(server['boot_volume']) if server else dict(id=backup.volume_id),
                        flavor=flavor_name, networks=networks,
                        backup=dict(cinder_backup_id=backup.id, created_at=backup.created_at))
        common = dict(job=None, resource=resource, backups=[], removed=[], cinder_backups=[backup_view(backup)])
        existing = self._restored_server(backup.id, new_name)
        if existing is not None:
            return self._found_boot_restore(existing, server_id, backup, new_name, dry_run, common)
        flavor = self._boot_flavor(options.get('restore_flavor'), flavor_name, server_id)
        boot_networks = self._boot_networks(options.get('restore_network'), networks, server_id)
        marks = {RESTORED_FROM_KEY: backup.id, PROTECTION_KEY: name}
        if dry_run:
            volume = dict(id=PLANNED, name=new_name, size=backup.size, bootable=True)
            planned = dict(id=PLANNED, name=new_name, status=None, image_id=None, flavor=flavor.name,
                           networks=[options['restore_network']] if options.get('restore_network') else networks,
                           metadata=marks, boot_volume=volume)
            return Result(True, restored=[planned, volume], before=None, after=planned,
                          resource_map={server_id: PLANNED, backup.volume_id: PLANNED}, **common)
        return self._boot_restore(server_id, backup, new_name, name, flavor, boot_networks, marks, options, common)

    def _server_now(self, server):
        """Name, flavor and networks of the source server when it still exists (backups from before the marks)."""
        if server is None:
            return {}
        found = get_or_none(self.conn.compute.get_server, server['id'])
        return server_view(found) if found is not None else dict(name=server.get('name'),
                                                                 networks=server.get('networks'))

    def _found_boot_restore(self, existing, server_id, backup, new_name, dry_run, common):
        """The server an earlier run restored (waited for when still building): no change."""
        if existing.status != 'ACTIVE' and not dry_run:
            existing = self._wait_server(existing.id)
        volume = self.native.restored_copy(backup.id, new_name)
        view = dict(server_view(existing), boot_volume=volume_view(volume))
        resource_map = {server_id: existing.id}
        if volume is not None:
            resource_map[backup.volume_id] = volume.id
        return Result(False, restored=[view] + ([volume_view(volume)] if volume is not None else []),
                      resource_map=resource_map, before=view, after=view, **common)

    def _boot_flavor(self, wanted, recorded, server_id):
        if wanted:
            return self._flavor(wanted)
        if not recorded:
            raise ProtectionError('the backup of server %s recorded no flavor (it was taken before the collection '
                                  'recorded servers): set restore_flavor' % server_id)
        flavor = self.conn.compute.find_flavor(recorded, ignore_missing=True)
        if flavor is None:
            raise NotFoundError('flavor %s recorded in the backup of server %s no longer exists: set restore_flavor'
                                % (recorded, server_id))
        return flavor

    def _boot_networks(self, wanted, recorded, server_id):
        if wanted in ('none', 'auto'):
            return wanted
        if wanted:
            return [{'uuid': self._network_id(wanted)}]
        found = []
        for network_name in recorded or []:
            network = self.conn.network.find_network(network_name, ignore_missing=True)
            if network is None:
                raise NotFoundError('network %s recorded in the backup of server %s no longer exists: set '
                                    'restore_network' % (network_name, server_id))
            found.append({'uuid': network.id})
        return found or 'none'

    def _boot_restore(self, server_id, backup, new_name, name, flavor, networks, marks, options, common):
        bs = self.conn.block_storage
        step = self.timings.step
        volume, servers = self.native.restored_copy(backup.id, new_name), []  # a volume of an interrupted run
        try:
            if volume is None:
                with step('restore the boot volume'):
                    volume = self.native.restore_new(backup, new_name, name, options)
            with step('boot the restored server'):
                if not getattr(volume, 'is_bootable', False):
                    bs.set_volume_bootable_status(volume, True)
                servers.append(self.conn.compute.create_server(
                    name=new_name, flavor_id=flavor.id, networks=networks, metadata=marks,
                    block_device_mapping=[dict(boot_index=0, uuid=volume.id, source_type='volume',
                                               destination_type='volume', delete_on_termination=False)]))
                restored = self._wait_server(servers[0].id)
        except Exception as exc:  # pylint: disable=broad-except
            with step('clean up'):
                left = self._drop_boot_restore(servers, volume)
            raise ProtectionError('restore of volume-booted server %s from Cinder backup %s failed: %s%s'
                                  % (server_id, backup.id, reason_of(exc, self.conn), '; %s' % left if left else ''),
                                  resource=common['resource'], cinder_backups=common['cinder_backups'])
        volume = get_or_none(bs.get_volume, volume.id) or volume
        view = dict(server_view(restored), boot_volume=volume_view(volume))
        return Result(True, restored=[view, volume_view(volume)],
                      resource_map={server_id: restored.id, backup.volume_id: volume.id}, before=None, after=view,
                      **common)

    def _drop_boot_restore(self, servers, volume):
        """Remove the servers and the volume a failed restore made (the volume once Nova let it go)."""
        notes, kept = [], []
        self._drop_servers(servers, notes, kept)  # servers.py
        if volume is not None:
            bs = self.conn.block_storage
            try:
                self.wait_for(lambda: get_or_none(bs.get_volume, volume.id),
                              (cinder.VOLUME_OK - DETACHING) | cinder.GONE | {'error'},
                              describe='detach of volume %s' % volume.id)
                bs.delete_volume(volume.id, ignore_missing=True)
                self.wait_for(lambda: get_or_none(bs.get_volume, volume.id), cinder.GONE, fail=('error_deleting',),
                              describe='deletion of volume %s' % volume.id)
                notes.append('volume %s (%s) was removed' % (volume.name, volume.id))
            except Exception as exc:  # pylint: disable=broad-except
                kept.append('volume %s (%s: %s)' % (volume.name, volume.id, reason_of(exc, self.conn)))
        return ', '.join(notes) + ('; left behind: %s' % ', '.join(kept) if kept else '')

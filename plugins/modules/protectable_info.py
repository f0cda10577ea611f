#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: protectable_info
short_description: List the project's Cinder volumes and Manila shares that can be protected, with their restore points
version_added: 0.1.0
description:
  - Lists the resources of the project that can be protected (Karbor's protectable plugins) - every volume and
    share (O(resource_type=all), the default), or only volumes or shares, that is not in a failed or deleting
    status - each with its snapshots, oldest first, and its restore points per protection (the values
    O(dataprotection.openstack.cinder_snapshot_protect#module:restore_point) accepts).
  - Resources in C(error), C(deleting), C(error_deleting) and the other failure statuses are returned apart in
    RV(unprotectable).
  - Two listing requests per kind (resources, snapshots), whatever the number of resources. With
    O(resource_type=all), a kind whose service the cloud's catalog does not offer is skipped and named in
    RV(skipped_services).
author:
  - dataprotection.openstack contributors (@dataprotection)
extends_documentation_fragment:
  - dataprotection.openstack.openstack
attributes:
  check_mode:
    support: full
    description: Read-only.
  diff_mode:
    support: none
    description: Read-only.
options:
  resource_type:
    description:
      - What to list - V(all) lists Cinder volumes and Manila shares, each entry with its C(resource_type).
    type: str
    choices: [all, share, volume]
    default: all
  protection:
    description:
      - Keep only the snapshots this collection made for this protection (the O(protection) of the protect
        modules, rotated ones included) in each resource's C(snapshots) and C(restore_points).
    type: str
    aliases: [snapshot_name]
'''

EXAMPLES = r'''
- name: List the volumes and shares that can be protected
  dataprotection.openstack.protectable_info:
    cloud: mycloud

- name: List the shares with their snapshots of the protection "nightly"
  dataprotection.openstack.protectable_info:
    cloud: mycloud
    resource_type: share
    protection: nightly
  register: protectable

- name: Protect every listed share that has no nightly snapshot yet (other protections' snapshots do not count)
  dataprotection.openstack.manila_share_protect:
    cloud: mycloud
    shares: "{{ protectable.protectables | rejectattr('snapshots') | map(attribute='id') }}"
    protection: nightly
  when: protectable.protectables | rejectattr('snapshots') | list | length > 0

- name: Show the volumes and their snapshots of the protection "nightly"
  dataprotection.openstack.protectable_info:
    cloud: mycloud
    resource_type: volume
    protection: nightly
'''

RETURN = r'''
protectables:
  description:
    - The resources that can be protected (the fields of the protect module's C(volume) or C(share) result), each
      with C(resource_type) (V(volume) or V(share)), C(snapshots) (oldest first) and C(restore_points).
    - C(restore_points) maps each protection name to its available snapshots made by this collection, oldest first,
      each with C(id), C(name), C(created_at) - the values C(restore_point) accepts.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa
      name: db-data
      resource_type: volume
      status: in-use
      size: 10
      snapshots: [{id: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d, name: nightly-20261201T020000000000Z,
                   status: available, created_at: "2026-12-01T02:00:00.000000"}]
      restore_points:
        nightly: [{id: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d, name: nightly-20261201T020000000000Z,
                   created_at: "2026-12-01T02:00:00.000000"}]
unprotectable:
  description: Resources that cannot be protected now, with C(id), C(name), C(status) and C(resource_type).
  returned: always
  type: list
  elements: dict
  sample: [{id: 0f0e0d0c-2222-4b4a-9c9d-8e8f7a6b5c4d, name: broken, status: error, resource_type: share}]
skipped_services:
  description: With O(resource_type=all), the kinds not listed because the cloud's catalog has no endpoint for
    their service (for example V(share) on a cloud without Manila).
  returned: always
  type: list
  elements: str
  sample: []
elapsed:
  description:
    - Seconds the task took, from the start of the module to its result. Also returned when the task fails.
  returned: always
  type: float
  sample: 42.137
'''

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils.args import protection_argument_spec
from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import PROTECTION_KEY
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import rotation
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_snapshot import (
    CinderSnapshotDriver,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.manila_share import ManilaShareDriver

DRIVERS = dict(share=ManilaShareDriver, volume=CinderSnapshotDriver)


class ProtectableInfoModule(ProtectionModule):
    option_groups = ('openstack',)
    name_options = ('protection',)
    argument_spec = dict(
        protection_argument_spec('snapshot_name', required=False),
        resource_type=dict(type='str', default='all', choices=['all'] + sorted(DRIVERS)),
    )

    def run(self):
        kinds = sorted(DRIVERS, reverse=True) if self.params['resource_type'] == 'all' else [self.params['resource_type']]
        protectables, unprotectable, skipped_services = [], [], []
        for kind in kinds:
            driver = DRIVERS[kind](self.conn)
            try:
                listed, skipped = driver.protectables()
            except Exception as exc:  # pylint: disable=broad-except
                if len(kinds) > 1 and os_connection.is_endpoint_missing(exc):
                    skipped_services.append(kind)
                    continue
                raise
            protectables.extend(self.with_restore_points(entry, kind) for entry in listed)
            unprotectable.extend(dict(entry, resource_type=kind) for entry in skipped)
        return dict(changed=False, protectables=protectables, unprotectable=unprotectable,
                    skipped_services=skipped_services)

    def with_restore_points(self, entry, kind):
        """The entry with its resource_type, its snapshots (of one protection when asked) and restore points."""
        wanted = self.params['protection']
        snapshots = [_View(s) for s in entry['snapshots']]
        if wanted is not None:
            entry['snapshots'] = [s for s in entry['snapshots'] if rotation.belongs(_View(s), wanted)]
        points = {}
        for snapshot in snapshots:
            protection = (snapshot.metadata or {}).get(PROTECTION_KEY)
            if rotation.is_managed(snapshot) and protection and snapshot.status == 'available' and \
                    wanted in (None, protection):
                points.setdefault(protection, []).append(dict(id=snapshot.id, name=snapshot.name,
                                                              created_at=snapshot.created_at))
        return dict(entry, resource_type=kind, restore_points=points)


class _View:
    """Attribute access to a snapshot view dict (rotation works on objects)."""

    def __init__(self, view):
        self.__dict__.update(view)


def main():
    ProtectableInfoModule()()


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: protectable_info
short_description: List the project's Manila shares or Cinder volumes that can be protected, with their snapshots
version_added: 0.1.0
description:
  - Lists the resources of the project that can be protected (Karbor's protectable plugins) - every share
    (O(resource_type=share)) or volume (O(resource_type=volume)) that is not in a failed or deleting status - each
    with its snapshots, oldest first.
  - Resources in C(error), C(deleting), C(error_deleting) and the other failure statuses are returned apart in
    RV(unprotectable).
  - Two listing requests per call (resources, snapshots), whatever the number of resources.
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
      - What to list.
    type: str
    choices: [share, volume]
    default: share
  protection:
    description:
      - Keep only the snapshots of this protection (a C(snapshot_name) of the protect modules, rotated ones
        included) in each resource's C(snapshots).
    type: str
'''

EXAMPLES = r'''
- name: List the shares that can be protected
  dataprotection.openstack.protectable_info:
    cloud: mycloud
    resource_type: share
  register: protectable

- name: Protect every listed share that has no nightly snapshot yet
  dataprotection.openstack.manila_share_protect:
    cloud: mycloud
    shares: "{{ protectable.protectables | rejectattr('snapshots') | map(attribute='id') }}"
    snapshot_name: nightly

- name: Show the volumes and their snapshots of the protection "nightly"
  dataprotection.openstack.protectable_info:
    cloud: mycloud
    resource_type: volume
    protection: nightly
'''

RETURN = r'''
protectables:
  description: The resources that can be protected (the fields of the protect module's C(share) or C(volume)
    result), each with C(snapshots) (share snapshots or volume snapshots, oldest first).
  returned: always
  type: list
  elements: dict
unprotectable:
  description: Resources that cannot be protected now, with C(id), C(name) and C(status).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import rotation
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_snapshot import (
    CinderSnapshotDriver,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.manila_share import ManilaShareDriver

DRIVERS = dict(share=ManilaShareDriver, volume=CinderSnapshotDriver)


class ProtectableInfoModule(ProtectionModule):
    use_wait = False
    argument_spec = dict(
        resource_type=dict(type='str', default='share', choices=sorted(DRIVERS)),
        protection=dict(type='str'),
    )

    def run(self):
        driver = DRIVERS[self.params['resource_type']](self.conn)
        protectables, skipped = driver.protectables()
        wanted = self.params['protection']
        if wanted is not None:
            for entry in protectables:
                entry['snapshots'] = [s for s in entry['snapshots'] if rotation.belongs(_View(s), wanted)]
        return dict(changed=False, protectables=protectables, unprotectable=skipped)


class _View:
    """Attribute access to a snapshot view dict (rotation works on objects)."""

    def __init__(self, view):
        self.__dict__.update(view)


def main():
    ProtectableInfoModule()()


if __name__ == '__main__':
    main()

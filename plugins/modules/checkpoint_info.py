#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: checkpoint_info
short_description: List and show the checkpoints of a checkpoint bank
version_added: 0.1.0
description:
  - Lists the checkpoints kept in a bank (a local directory or a Swift container), oldest first, optionally
    filtered by plugin, protection name, protected resource or status.
  - With O(checkpoint_id), returns that checkpoint with the metadata saved for each of its resources
    (for pods - the pod, PVC and PV manifests and each Cinder volume's snapshot or backup).
  - OpenStack credentials are only needed for a V(swift) bank.
author:
  - dataprotection.openstack contributors (@dataprotection)
extends_documentation_fragment:
  - dataprotection.openstack.openstack
  - dataprotection.openstack.bank
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
options:
  checkpoint_id:
    description:
      - Show this checkpoint, with its resources' metadata. The task fails if it does not exist.
    type: str
  plugin:
    description:
      - Only checkpoints of this protection plugin, for example V(k8s_pod).
    type: str
  protection:
    description:
      - Only checkpoints of this protection (the name the protecting task gave it, as O(protection) of
        M(dataprotection.openstack.k8s_pod_protect)).
    type: str
    aliases: [backup_name]
  resource:
    description:
      - Only checkpoints of this resource key, for a pod C(namespace/name).
    type: str
  status:
    description:
      - Only checkpoints in this status.
    type: str
    choices: [protecting, available, error, deleting]
seealso:
  - module: dataprotection.openstack.k8s_pod_protect
'''

EXAMPLES = r'''
- name: Available checkpoints of a pod in the Swift bank
  dataprotection.openstack.checkpoint_info:
    cloud: mycloud
    bank:
      type: swift
      container: k8s-checkpoints
    resource: shop/postgres-0
    status: available
  register: found

- name: Show one with its saved manifests
  dataprotection.openstack.checkpoint_info:
    cloud: mycloud
    bank:
      type: swift
      container: k8s-checkpoints
    checkpoint_id: "{{ found.checkpoints[-1].id }}"
  register: one

- name: Print the saved pod manifest
  ansible.builtin.debug:
    var: one.checkpoint.resource_data.pod
'''

RETURN = r'''
checkpoints:
  description: The matching checkpoints (their index documents), oldest first.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 3f2b8c1e-5d6a-4b7c-8e9f-0a1b2c3d4e5f
      status: available
      plugin: k8s_pod
      protection: {name: nightly, description: null, backup_mode: snapshot}
      resource: {type: "OS::Kubernetes::Pod", id: 6c1d0a4e-7b2f-4e8a-9c3d-1f2e3a4b5c6d, name: postgres-0,
                 namespace: shop, key: shop/postgres-0}
      resources: [{type: pod, name: shop/postgres-0}, {type: volume, name: 2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b}]
      extra: {volumes: {2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b: {pv: pv-data, pvc: data, source: csi, mode: snapshot,
                                                               snapshot_id: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d}}}
      created_at: "2026-12-01T02:00:03.123456Z"
      updated_at: "2026-12-01T02:00:41.654321Z"
      error: null
  contains:
    id:
      description: Checkpoint id.
      type: str
      sample: 3f2b8c1e-5d6a-4b7c-8e9f-0a1b2c3d4e5f
    status:
      description: C(protecting), C(available), C(error) or C(deleting).
      type: str
      sample: available
    plugin:
      description: Protection plugin, for example C(k8s_pod).
      type: str
      sample: k8s_pod
    protection:
      description: C(name), C(description) and plugin options.
      type: dict
      sample: {name: nightly, description: Nightly backup of the shop database, backup_mode: snapshot}
    resource:
      description: The protected resource (C(type), C(id), C(name), C(namespace), C(key)).
      type: dict
      sample: {type: "OS::Kubernetes::Pod", id: 6c1d0a4e-7b2f-4e8a-9c3d-1f2e3a4b5c6d, name: postgres-0,
               namespace: shop, key: shop/postgres-0}
    resources:
      description: The saved resources (C(type), C(name)).
      type: list
      elements: dict
      sample: [{type: pod, name: shop/postgres-0}, {type: persistentvolumeclaim, name: shop/data},
               {type: persistentvolume, name: pv-data}, {type: volume, name: 2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b}]
    created_at:
      description: Creation time (UTC).
      type: str
      sample: "2026-12-01T02:00:03.123456Z"
    updated_at:
      description: Last change (UTC).
      type: str
      sample: "2026-12-01T02:00:41.654321Z"
    error:
      description: Why the checkpoint is in C(error).
      type: str
      sample: null
checkpoint:
  description: With O(checkpoint_id) - that checkpoint, plus C(resource_data) ({type - {name - metadata}}).
  returned: when O(checkpoint_id) is set
  type: dict
  sample:
    id: 3f2b8c1e-5d6a-4b7c-8e9f-0a1b2c3d4e5f
    status: available
    plugin: k8s_pod
    protection: {name: nightly, description: null, backup_mode: snapshot}
    resource: {type: "OS::Kubernetes::Pod", id: 6c1d0a4e-7b2f-4e8a-9c3d-1f2e3a4b5c6d, name: postgres-0,
               namespace: shop, key: shop/postgres-0}
    resources: [{type: pod, name: shop/postgres-0}, {type: volume, name: 2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b}]
    extra:
      volumes:
        2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b: {pv: pv-data, pvc: data, source: csi, size: 10, mode: snapshot,
                                               snapshot_id: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d}
    created_at: "2026-12-01T02:00:03.123456Z"
    updated_at: "2026-12-01T02:00:41.654321Z"
    error: null
    resource_data:
      pod: {shop/postgres-0: {apiVersion: v1, kind: Pod, metadata: {name: postgres-0, namespace: shop}}}
      volume: {2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b: {pv: pv-data, pvc: data, mode: snapshot,
                                                     snapshot_id: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d}}
bank:
  description: Where the bank is.
  returned: always
  type: str
  sample: local bank /var/lib/dataprotection/bank
elapsed:
  description:
    - Seconds the task took, from the start of the module to its result. Also returned when the task fails.
  returned: always
  type: float
  sample: 42.137
'''

from ansible_collections.dataprotection.openstack.plugins.module_utils.args import protection_argument_spec
from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError
from ansible_collections.dataprotection.openstack.plugins.module_utils.validation import InputError


class CheckpointInfoModule(ProtectionModule):
    option_groups = ('openstack', 'bank')
    argument_spec = dict(
        protection_argument_spec('backup_name', required=False),
        checkpoint_id=dict(type='str'),
        plugin=dict(type='str'),
        resource=dict(type='str'),
        status=dict(type='str', choices=['protecting', 'available', 'error', 'deleting']),
    )
    name_options = ('checkpoint_id', 'plugin', 'protection', 'resource')

    def validate(self):
        super().validate()
        checkpoint_id = self.params['checkpoint_id']
        if checkpoint_id is not None and ('/' in checkpoint_id or '\\' in checkpoint_id
                                          or checkpoint_id in ('.', '..')):
            raise InputError('checkpoint_id %r is not a checkpoint id (ids have no path separators; list the bank '
                             'without checkpoint_id to see them)' % checkpoint_id)

    def run(self):
        p = self.params
        the_bank = self.bank
        result = dict(changed=False, bank=the_bank.location)
        if p['checkpoint_id']:
            index = the_bank.get(p['checkpoint_id'])
            if index is None:
                raise NotFoundError('checkpoint %s not found in the %s' % (p['checkpoint_id'], the_bank.location),
                                    **result)
            result['checkpoint'] = dict(index, resource_data=the_bank.resources(index))
            result['checkpoints'] = [index]
            return result
        result['checkpoints'] = the_bank.list(plugin=p['plugin'], protection=p['protection'],
                                              resource_key=p['resource'], status=p['status'])
        return result


def main():
    CheckpointInfoModule()()


if __name__ == '__main__':
    main()

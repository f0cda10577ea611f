#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: k8s_pod_protectable_info
short_description: List Kubernetes pods with the Cinder volumes behind their persistent volume claims
version_added: 0.1.0
description:
  - Lists the pods of all namespaces, of one namespace, or one pod, with each PersistentVolumeClaim the pod
    mounts, its PersistentVolume and the Cinder volume behind it (in-tree C(spec.cinder.volumeID) or CSI
    C(cinder.csi.openstack.org) C(volumeHandle)).
  - Says for each pod whether M(dataprotection.openstack.k8s_pod_protect) can protect it, and why not
    (claim missing or not C(Bound), PV missing, PV not backed by Cinder).
  - Talks to Kubernetes only; no OpenStack credentials are needed.
author:
  - dataprotection.openstack contributors (@dataprotection)
extends_documentation_fragment:
  - dataprotection.openstack.kubernetes
  - dataprotection.openstack.kubernetes.tls_plain_names
  - dataprotection.openstack.kubernetes.api_timeout
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
options:
  namespace:
    description:
      - Only pods of this namespace. Default - all namespaces (or C(default) with O(pod)).
    type: str
  pod:
    description:
      - Only this pod (the task fails if it does not exist).
    type: str
seealso:
  - module: dataprotection.openstack.k8s_pod_protect
'''

EXAMPLES = r'''
- name: Which pods of the shop namespace can be protected
  dataprotection.openstack.k8s_pod_protectable_info:
    kubeconfig: ~/.kube/prod.yaml
    namespace: shop
  register: protectables

- name: Protect each protectable pod
  dataprotection.openstack.k8s_pod_protect:
    cloud: mycloud
    kubeconfig: ~/.kube/prod.yaml
    namespace: "{{ item.namespace }}"
    pod: "{{ item.name }}"
    backup_name: nightly
  loop: "{{ protectables.pods | selectattr('protectable') | list }}"
  loop_control:
    label: "{{ item.namespace }}/{{ item.name }}"
'''

RETURN = r'''
pods:
  description: One entry per pod.
  returned: always
  type: list
  elements: dict
  sample:
    - namespace: shop
      name: postgres-0
      uid: 6c1d0a4e-7b2f-4e8a-9c3d-1f2e3a4b5c6d
      phase: Running
      node: worker-1
      labels: {app: postgres}
      annotations: {}
      protectable: true
      problems: []
      volumes: [{volume: data, pvc: data, pvc_phase: Bound, pv: pv-data, source: csi,
                 cinder_volume_id: 2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b, problem: null}]
  contains:
    namespace:
      description: Namespace.
      type: str
      sample: shop
    name:
      description: Pod name.
      type: str
      sample: postgres-0
    uid:
      description: Pod uid.
      type: str
      sample: 6c1d0a4e-7b2f-4e8a-9c3d-1f2e3a4b5c6d
    phase:
      description: Pod phase.
      type: str
      sample: Running
    node:
      description: Node the pod runs on.
      type: str
      sample: worker-1
    labels:
      description: Pod labels.
      type: dict
      sample: {app: postgres}
    annotations:
      description: Pod annotations.
      type: dict
      sample: {}
    protectable:
      description: Whether every volume of the pod can be protected.
      type: bool
      sample: true
    problems:
      description: Why not, one message per volume.
      type: list
      elements: str
      sample: []
    volumes:
      description: Per PVC-backed volume - C(volume) (name in the pod), C(pvc), C(pvc_phase), C(pv), C(source)
        (C(in-tree), C(csi) or the PV's other source), C(cinder_volume_id), C(problem).
      type: list
      elements: dict
      sample: [{volume: data, pvc: data, pvc_phase: Bound, pv: pv-data, source: csi,
                cinder_volume_id: 2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b, problem: null}]
elapsed:
  description:
    - Seconds the task took, from the start of the module to its result. Also returned when the task fails.
  returned: always
  type: float
  sample: 42.137
'''

from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.inspect import protectables


class K8sPodProtectableInfoModule(ProtectionModule):
    option_groups = ('kubernetes',)
    argument_spec = dict(namespace=dict(type='str'), pod=dict(type='str'))

    def run(self):
        return dict(changed=False, pods=protectables(self.kube, self.params['namespace'], self.params['pod']))


def main():
    K8sPodProtectableInfoModule()()


if __name__ == '__main__':
    main()

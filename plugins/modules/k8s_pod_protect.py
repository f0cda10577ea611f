#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: k8s_pod_protect
short_description: Protect a Kubernetes pod and its Cinder persistent volumes, restore it, delete the protection
version_added: 0.1.0
description:
  - O(state=present) saves the pod's full manifest, its PersistentVolumeClaims and PersistentVolumes (without
    the fields the API server sets) as a checkpoint in the bank, and protects every Cinder volume behind the
    PVs - in-tree C(spec.cinder.volumeID) and CSI C(cinder.csi.openstack.org) C(volumeHandle) - with a Cinder
    snapshot or, with O(backup_mode=backup), a Cinder backup. The checkpoint only becomes C(available) once
    every volume is protected; on failure the snapshots/backups made and the checkpoint are removed.
  - O(state=restored) creates new Cinder volumes from the newest available checkpoint, new PVs
    (reclaim policy C(Retain), C(claimRef) pre-bound to the new claim), PVCs bound to them and a new pod, in
    the same or another namespace (created when missing), then waits for every PVC to be C(Bound) and the pod
    to be C(Running). Restored objects carry the label C(dataprotection.openstack/checkpoint) and their
    original names in annotations; a second run finds the restore and reports no change.
  - If the restore fails (a volume cannot be restored, the pod fails or does not start in time) everything the
    run created is removed and named in the message, unless O(keep_on_failure=true). The pod is deleted first;
    its volumes stay attached to the node until some seconds after it is gone, so each new volume is deleted
    only once it is detached (each wait bounded by O(timeout)); what cannot be removed is named.
  - O(state=absent) removes every checkpoint of the protection and its Cinder snapshots/backups. Restored
    resources are not touched.
  - A protection is identified by the pod (O(namespace), O(pod)) and O(protection); the pod may be gone
    for O(state=restored) and O(state=absent).
  - Use M(dataprotection.openstack.k8s_pod_protectable_info) to list pods and their volumes, and
    M(dataprotection.openstack.checkpoint_info) to read checkpoints.
author:
  - dataprotection.openstack contributors (@dataprotection)
extends_documentation_fragment:
  - dataprotection.openstack.openstack
  - dataprotection.openstack.kubernetes
  - dataprotection.openstack.kubernetes.tls
  - dataprotection.openstack.kubernetes.hooks
  - dataprotection.openstack.bank
  - dataprotection.openstack.wait
  - dataprotection.openstack.rotation
attributes:
  check_mode:
    support: full
    description: Predicts C(changed) exactly; nothing is created or deleted in Kubernetes, Cinder or the bank.
  diff_mode:
    support: full
    description: Shows the checkpoint (or the restored pod) before and after.
options:
  pod:
    description:
      - Name of the pod.
    type: str
    required: true
  namespace:
    description:
      - Namespace of the pod.
    type: str
    default: default
  protection:
    description:
      - Name of the protection.
    type: str
    required: true
    aliases: [backup_name]
  description:
    description:
      - Description of the checkpoint and of its Cinder snapshots/backups.
    type: str
  backup_mode:
    description:
      - V(snapshot) protects each volume with a Cinder snapshot (fast, on the volume's backend).
      - V(backup) protects each volume with a Cinder backup (a full copy in the backup service; slower).
    type: str
    choices: [snapshot, backup]
    default: snapshot
  force:
    description:
      - Snapshot or back up volumes that are C(in-use) (attached to the node running the pod). The copy is
        crash-consistent. Cinder refuses attached volumes without it.
    type: bool
    default: true
  state:
    description:
      - V(present) protects the pod (once; a rerun with an available checkpoint changes nothing - with O(retain),
        a new checkpoint each run unless O(min_age) skips it).
      - V(restored) restores the available checkpoint O(restore_point) selects (the newest by default).
      - V(absent) removes the protection.
    type: str
    choices: [present, absent, restored]
    default: present
  restore_name:
    description:
      - Name of the restored pod. Default - the original name.
    type: str
  restore_namespace:
    description:
      - Namespace to restore into (created when missing). Default - the original namespace.
    type: str
  restore_point:
    description:
      - Which available checkpoint of the protection O(state=restored) restores.
      - V(latest) (the default) is the newest; a checkpoint id selects that one; an ISO 8601 date or date-time
        (V(2026-12-01T06:00:00Z), V(2026-12-01)) selects the newest checkpoint taken at or before it (a bare date
        means the end of that day, UTC when no zone is given).
      - M(dataprotection.openstack.checkpoint_info) lists the checkpoints with their C(created_at).
    type: str
    default: latest
  restore_description:
    description:
      - Description of the restored Cinder volumes, also set as the pod annotation
        C(dataprotection.openstack/restore-description).
    type: str
  on_collision:
    description:
      - What to do when the restored pod's or a PVC's name is taken in the target namespace.
      - V(fail) fails the task before anything is created.
      - V(rename) appends the first 8 characters of the checkpoint id; the original name stays in the annotation
        C(dataprotection.openstack/original-name). PV names are always new (original name + new volume id).
    type: str
    choices: [fail, rename]
    default: fail
  keep_on_failure:
    description:
      - Keep the objects created by a failed restore (for inspection) instead of removing them. They are named
        in the failure message and in RV(created).
    type: bool
    default: false
notes:
  - The Cinder snapshots and backups are always waited for (a checkpoint is only C(available) once they are);
    O(wait=false) only skips waiting for the restored PVCs and pod.
  - The restored pod gets a fresh service-account token volume, no C(nodeName), no owner references and no
    ephemeral (C(kubectl debug)) containers, which cannot be set on create.
  - Annotations are kept except those the cluster writes for binding and provisioning
    (C(pv.kubernetes.io/bind-completed), C(pv.kubernetes.io/bound-by-controller), C(pv.kubernetes.io/provisioned-by),
    C(volume.kubernetes.io/storage-provisioner) and its beta twin, C(volume.kubernetes.io/selected-node)); the
    legacy class annotation C(volume.beta.kubernetes.io/storage-class) and
    C(kubectl.kubernetes.io/last-applied-configuration) are the user's and are restored.
  - A namespace the restore creates gets its C(default) service account from the cluster shortly after; the
    restore waits for it (within O(timeout)). A pod running as another service account needs that account in
    the target namespace; otherwise the restore fails with the API server's reason.
seealso:
  - module: dataprotection.openstack.k8s_pod_protectable_info
  - module: dataprotection.openstack.checkpoint_info
  - module: dataprotection.openstack.cinder_snapshot_protect
'''

EXAMPLES = r'''
- name: Protect a database pod and its two Cinder volumes into the Swift bank
  dataprotection.openstack.k8s_pod_protect:
    cloud: mycloud
    kubeconfig: ~/.kube/prod.yaml
    namespace: shop
    pod: postgres-0
    protection: nightly
    description: before the schema migration
    bank:
      type: swift
      container: k8s-checkpoints
  register: protected

- name: Restore it into a fresh namespace, renaming on collisions
  dataprotection.openstack.k8s_pod_protect:
    cloud: mycloud
    kubeconfig: ~/.kube/prod.yaml
    namespace: shop
    pod: postgres-0
    protection: nightly
    state: restored
    restore_namespace: shop-restore-test
    on_collision: rename
    timeout: 600
    bank:
      type: swift
      container: k8s-checkpoints
  register: restored

- name: Show which volume replaced which
  ansible.builtin.debug:
    var: restored.resource_map.volumes

- name: Full copies with Cinder backups, credentials from AWX (K8S_AUTH_* and OS_CLIENT_CONFIG_FILE)
  dataprotection.openstack.k8s_pod_protect:
    namespace: shop
    pod: postgres-0
    protection: weekly
    backup_mode: backup
    bank:
      type: swift

- name: Freeze the data filesystem for the snapshot (application-consistent), thaw it right after
  dataprotection.openstack.k8s_pod_protect:
    cloud: mycloud
    namespace: shop
    pod: postgres-0
    protection: consistent
    hooks:
      pre:
        - container: postgres
          command: [psql, -U, postgres, -c, CHECKPOINT]
          timeout: 60
        - container: postgres
          command: [fsfreeze, --freeze, /var/lib/postgresql/data]
      post:
        - container: postgres
          command: [fsfreeze, --unfreeze, /var/lib/postgresql/data]

- name: Remove the protection (checkpoint and Cinder snapshots)
  dataprotection.openstack.k8s_pod_protect:
    cloud: mycloud
    namespace: shop
    pod: postgres-0
    protection: nightly
    state: absent
    bank:
      type: swift
      container: k8s-checkpoints
'''

RETURN = r'''
hooks:
  description:
    - One record per hook run, in the order they ran (O(state=present)); in check mode the hooks a real run
      would run, with status C((would run)). Empty when no hook applies. Also returned when the task fails.
  returned: O(state=present)
  type: list
  elements: dict
  contains:
    pod:
      description: The pod, C(<namespace>/<name>).
      type: str
      returned: always
      sample: shop/postgres-0
    container:
      description: The container the command ran in.
      type: str
      returned: always
      sample: postgres
    phase:
      description: C(pre) or C(post).
      type: str
      returned: always
      sample: pre
    command:
      description: The command and its arguments.
      type: list
      elements: str
      returned: always
      sample: [fsfreeze, --freeze, /data]
    source:
      description: C(hooks) (the option) or C(annotation) (Velero's pod annotations).
      type: str
      returned: always
      sample: hooks
    status:
      description: C(succeeded), C(failed) (non-zero exit), C(timed out), C(error) (refused or could not start).
      type: str
      returned: always
      sample: succeeded
    exit_code:
      description: The command's exit code; C(null) when it timed out or did not start.
      type: int
      returned: always
      sample: 0
    seconds:
      description: How long the hook took.
      type: float
      returned: always
      sample: 0.084
    stdout:
      description: The first 512 characters of the command's standard output.
      type: str
      returned: always
      sample: ''
    stderr:
      description: The first 512 characters of its standard error.
      type: str
      returned: always
      sample: ''
  sample: [{pod: shop/postgres-0, container: postgres, phase: pre, command: [fsfreeze, --freeze, /data],
            source: hooks, on_error: fail, timeout: 30, status: succeeded, exit_code: 0, seconds: 0.084,
            stdout: '', stderr: ''}]
checkpoint:
  description:
    - The checkpoint (protect - the one made or found; restore - the one restored from; C(null) after absent).
    - In check mode a planned one has C(id=null) and C(status=(would be created)).
  returned: always
  type: dict
  sample:
    id: 3f2b8c1e-5d6a-4b7c-8e9f-0a1b2c3d4e5f
    status: available
    plugin: k8s_pod
    created_at: "2026-12-01T02:00:03.123456Z"
    updated_at: "2026-12-01T02:00:41.654321Z"
    protection: {name: nightly, description: null, backup_mode: snapshot}
    resource: {type: "OS::Kubernetes::Pod", id: 6c1d0a4e-7b2f-4e8a-9c3d-1f2e3a4b5c6d, name: postgres-0,
               namespace: shop, key: shop/postgres-0}
    resources: [{type: pod, name: shop/postgres-0}, {type: persistentvolumeclaim, name: shop/data},
                {type: persistentvolume, name: pv-data}, {type: volume, name: 2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b}]
    extra:
      volumes:
        2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b: {pv: pv-data, pvc: data, source: csi, size: 10, mode: snapshot,
                                               snapshot_id: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d}
    error: null
    bank: local bank /var/lib/dataprotection/bank
  contains:
    id:
      description: Checkpoint id.
      type: str
      sample: 3f2b8c1e-5d6a-4b7c-8e9f-0a1b2c3d4e5f
    status:
      description: C(protecting), C(available), C(error) or C(deleting).
      type: str
      sample: available
    created_at:
      description: Creation time (UTC).
      type: str
      sample: "2026-12-01T02:00:03.123456Z"
    protection:
      description: C(name), C(description), C(backup_mode).
      type: dict
      sample: {name: nightly, description: Nightly backup of the shop database, backup_mode: snapshot}
    resource:
      description: The pod - C(type), C(id) (uid), C(name), C(namespace), C(key).
      type: dict
      sample: {type: "OS::Kubernetes::Pod", id: 6c1d0a4e-7b2f-4e8a-9c3d-1f2e3a4b5c6d, name: postgres-0,
               namespace: shop, key: shop/postgres-0}
    resources:
      description: The saved resources (C(type) and C(name) of each pod, PVC, PV and volume record).
      type: list
      elements: dict
      sample: [{type: pod, name: shop/postgres-0}, {type: persistentvolumeclaim, name: shop/data},
               {type: persistentvolume, name: pv-data}, {type: volume, name: 2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b}]
    extra:
      description: C(volumes) - per Cinder volume id its C(pv), C(pvc), C(source) (C(in-tree) or C(csi)),
        C(mode), C(snapshot_id) or C(backup_id).
      type: dict
      sample:
        volumes:
          2f6e4b1a-3c5d-4e7f-8a9b-0c1d2e3f4a5b: {pv: pv-data, pvc: data, source: csi, size: 10, mode: snapshot,
                                                 snapshot_id: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d}
    bank:
      description: Where the checkpoint is kept.
      type: str
      sample: local bank /var/lib/dataprotection/bank
restored:
  description: The restored pod (namespace, name, uid, phase, node, labels, annotations).
  returned: O(state=restored)
  type: dict
  sample:
    namespace: shop-restore
    name: postgres-0
    uid: a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d
    phase: Running
    node: worker-2
    labels: {app: postgres}
    annotations: {}
resource_map:
  description:
    - Original -> new, for C(volumes) (Cinder ids), C(persistentvolumes), C(persistentvolumeclaims) and C(pods)
      (C(namespace/name)). New ids are C(null) in check mode.
  returned: O(state=restored)
  type: dict
  sample:
    volumes: {"2f6e...": "9a1c..."}
    persistentvolumes: {"pv-data": "pv-data-9a1c0b2d"}
    persistentvolumeclaims: {"shop/data": "shop-restore/data"}
    pods: {"shop/postgres-0": "shop-restore/postgres-0"}
created:
  description: What a restore created (C(namespace), C(volumes), C(persistentvolumes), C(persistentvolumeclaims),
    C(pod)); on failure what was removed or kept.
  returned: O(state=restored) when something was created
  type: dict
  sample:
    namespace: shop-restore
    volumes: ["9a1c0b2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"]
    persistentvolumes: [pv-data-9a1c0b2d]
    persistentvolumeclaims: [data]
    pod: postgres-0
rotation_skipped:
  description: With O(retain) - true when O(min_age) skipped the new checkpoint.
  returned: O(state=present) with O(retain)
  type: bool
  sample: false
deleted:
  description: Ids of the checkpoints removed (O(state=absent), or rotated out with O(retain)).
  returned: always
  type: list
  elements: str
  sample: ["3f2b8c1e-5d6a-4b7c-8e9f-0a1b2c3d4e5f"]
replaced:
  description: Ids of unfinished or failed checkpoints of the protection that a new protection replaced.
  returned: O(state=present)
  type: list
  elements: str
  sample: []
elapsed:
  description:
    - Seconds the task took, from the start of the module to its result. Also returned when the task fails.
  returned: always
  type: float
  sample: 42.137
timings:
  description:
    - Seconds of each step, in the order the steps ended, to show where a long task spent its time (AWX job
      output). Also returned when the task fails; the step that failed is then followed by C(clean up).
    - Steps - C(create checkpoint), C(save manifests), C(snapshot volume <id>) or C(backup volume <id>),
      C(save volume <id>), C(mark checkpoint available); on restore C(restore volume <id>),
      C(create persistentvolume <pv>), C(create persistentvolumeclaim <ns>/<claim>), C(create pod <ns>/<pod>),
      C(wait for claims Bound), C(wait for pod Running). Empty for O(state=absent), check mode and when nothing
      had to be done.
  returned: always
  type: list
  elements: dict
  contains:
    step:
      description: What the step did.
      returned: always
      type: str
      sample: snapshot volume 0b6b6a8e-2f4a-4c1e-9d61-1f3f4f1c2a10
    seconds:
      description: How long it took, in seconds.
      returned: always
      type: float
      sample: 12.408
  sample: [{step: create checkpoint, seconds: 0.012}, {step: snapshot volume 0b6b6a8e-2f4a-4c1e-9d61-1f3f4f1c2a10, seconds: 12.408}]
'''

from ansible_collections.dataprotection.openstack.plugins.module_utils.args import (
    hooks_argument_spec,
    protection_argument_spec,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.hooks import check_hooks
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s_pod import K8sPodDriver
from ansible_collections.dataprotection.openstack.plugins.module_utils.validation import (
    check_k8s_name,
    check_rotation,
)


def _spec():
    spec = protection_argument_spec('backup_name')
    spec.update(
        pod=dict(type='str', required=True),
        namespace=dict(type='str', default='default'),
        description=dict(type='str'),
        backup_mode=dict(type='str', default='snapshot', choices=['snapshot', 'backup']),
        force=dict(type='bool', default=True),
        state=dict(type='str', default='present', choices=['present', 'absent', 'restored']),
        restore_name=dict(type='str'),
        restore_namespace=dict(type='str'),
        restore_point=dict(type='str', default='latest'),
        restore_description=dict(type='str'),
        on_collision=dict(type='str', default='fail', choices=['fail', 'rename']),
        keep_on_failure=dict(type='bool', default=False),
        retain=dict(type='int'),
        min_age=dict(type='int'),
    )
    spec.update(hooks_argument_spec())
    return spec


class K8sPodProtectModule(ProtectionModule):
    option_groups = ('openstack', 'wait', 'kubernetes', 'bank')
    argument_spec = _spec()
    name_options = ('pod', 'namespace', 'protection', 'restore_name', 'restore_namespace', 'restore_point')

    def validate(self):
        p = self.params
        for option in ('namespace', 'restore_namespace', 'pod', 'restore_name'):
            check_k8s_name(option, p.get(option))
        check_rotation(p['retain'], p['min_age'])
        check_hooks(p['hooks'])
        super().validate()

    def run(self):
        p = self.params
        driver = K8sPodDriver(self.conn, self.kube, self.bank, **self.wait_options())
        self.report_timings(driver.timings)
        source = (p['namespace'], p['pod'])
        options = dict((k, p[k]) for k in ('description', 'backup_mode', 'force', 'restore_name', 'restore_namespace',
                                           'restore_description', 'on_collision', 'keep_on_failure',
                                           'restore_point', 'retain', 'min_age', 'hooks'))
        if p['state'] == 'present':
            result = driver.protect(source, p['protection'], options, dry_run=self.check_mode)
        elif p['state'] == 'absent':
            result = driver.delete(source, p['protection'], dry_run=self.check_mode)
        else:
            result = driver.restore(source, p['protection'], options, dry_run=self.check_mode)
        return self.finish(result, drop=('plan',), deleted=[])


def main():
    K8sPodProtectModule()()


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: k8s_app_protect
short_description: Protect a Kubernetes application (pods, their owners, config and Cinder volumes), restore it
version_added: 0.1.0
description:
  - Protects what a selection in one namespace picks - the whole namespace (O(whole_namespace)), the pods a label
    selector picks (O(label_selector)) or a list of pods (O(pods)) - into ONE checkpoint in the bank.
  - A pod owned by a ReplicaSet is protected through its Deployment, a StatefulSet's or DaemonSet's pod through
    that owner, never as a bare pod; selecting one pod of an owner selects the owner with all its pods' claims.
    Pods owned by anything else (a Job, a custom controller) cannot be protected and are named (the task fails
    unless O(skip_unprotectable=true)).
  - With the owners and bare pods come the ServiceAccounts, ConfigMaps and Secrets their pod templates refer to,
    the Services whose selector picks one of the pods, and every PersistentVolumeClaim the pods mount with its
    PersistentVolume. With O(whole_namespace=true) every ServiceAccount, ConfigMap, Secret, Service, Deployment,
    StatefulSet and DaemonSet of the namespace is included, except what the cluster makes itself (the C(default)
    ServiceAccount, C(kube-root-ca.crt), service-account token Secrets).
  - Every Cinder volume behind the claims (in-tree and CSI C(cinder.csi.openstack.org)) is protected in turn by a
    Cinder snapshot or, with O(backup_mode=backup), a Cinder backup; the checkpoint records the order and time of
    each (C(extra.volumes.<id>.order), C(taken_at)) and becomes C(available) only when all are protected. On
    failure the snapshots/backups made and the checkpoint are removed.
  - O(state=restored) restores the checkpoint into the same namespace or the one O(namespace_map) maps it to
    (created when missing), in dependency order - ServiceAccounts, ConfigMaps, Secrets, new Cinder volumes with
    PVs and claims of the original names, Services (with new cluster IPs and node ports), then Deployments,
    StatefulSets (which find their claims made and use them), DaemonSets and bare pods - and waits for every claim
    to be C(Bound) and every owner and pod to be ready.
  - Any object of the checkpoint that already exists in the target namespace fails the restore before anything is
    created (restore into another namespace with O(namespace_map), or let O(on_collision=rename) pick one). A
    second run finds the restore by the label C(dataprotection.openstack/checkpoint) and changes nothing.
  - A restore that fails removes what it created, owners first; each new volume is deleted once no pod uses it and
    it is detached (bounded by O(timeout)); what cannot be removed is named. O(keep_on_failure=true) keeps it.
  - O(state=absent) removes every checkpoint of the protection and its Cinder snapshots/backups. Restored objects
    are not touched.
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
    description: Shows the checkpoint (or the restored objects) before and after.
options:
  namespace:
    description:
      - Namespace of the application. A protection is identified by O(namespace) and O(protection).
    type: str
    required: true
  whole_namespace:
    description:
      - Protect everything protectable in O(namespace).
      - With O(state=present) exactly one of O(whole_namespace=true), O(label_selector) or O(pods) is required -
        nothing is ever selected by default.
    type: bool
    default: false
  label_selector:
    description:
      - Protect the pods this label selector picks (Kubernetes syntax, for example V(app=shop,tier!=cache)), with
        their owners. An empty selector is refused.
    type: str
  pods:
    description:
      - Protect these pods (names in O(namespace)), with their owners. An empty list is refused.
    type: list
    elements: str
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
  include_kinds:
    description:
      - The optional kinds saved with the workloads (default all four). Claims, volumes and the workloads
        themselves are always saved.
    type: list
    elements: str
    choices: [ServiceAccount, ConfigMap, Secret, Service]
  exclude_kinds:
    description:
      - Optional kinds left out (applied after O(include_kinds)). For example V([Secret]) keeps secrets out of the
        bank; they must then exist in the target namespace before a restore.
    type: list
    elements: str
    choices: [ServiceAccount, ConfigMap, Secret, Service]
  skip_unprotectable:
    description:
      - Protect the rest when some selected pods cannot be protected (owned by a Job, a volume that is not Cinder,
        an unbound claim); they are listed in the checkpoint's C(extra.skipped) and in RV(problems).
      - By default such a selection fails, naming every pod and its reason, before anything is made.
    type: bool
    default: false
  state:
    description:
      - V(present) protects the application (once; a rerun with an available checkpoint changes nothing - with
        O(retain), a new checkpoint each run unless O(min_age) skips it).
      - V(restored) restores the available checkpoint O(restore_point) selects (the newest by default).
      - V(absent) removes the protection.
    type: str
    choices: [present, absent, restored]
    default: present
  namespace_map:
    description:
      - 'Where to restore: a dict with one key, the original namespace, whose value is the target namespace.
        The target is created when missing. Default - the original namespace (which then must not hold any of the checkpoint''s objects).'
      - Only the protection's own namespace may be a key.
    type: dict
  restore_point:
    description:
      - Which available checkpoint O(state=restored) restores - V(latest) (the default), a checkpoint id, or an
        ISO 8601 date or date-time (the newest checkpoint taken at or before it).
    type: str
    default: latest
  restore_description:
    description:
      - Description of the restored Cinder volumes, also set on restored bare pods as the annotation
        C(dataprotection.openstack/restore-description).
    type: str
  keep_on_failure:
    description:
      - Keep the objects and volumes a failed restore created (for inspection) instead of removing them.
    type: bool
    default: false
  on_collision:
    description:
      - What O(state=restored) does when the target namespace already holds an object of the checkpoint.
      - V(fail) refuses before anything is created, naming the objects.
      - V(rename) restores into a new namespace C(<target>-<first 8 characters of the checkpoint id>) instead (a
        number is appended when that one collides too). The namespace is what is renamed - every object keeps its
        name, so no reference needs rewriting, and the copy's Services select only the copy's pods (which a copy
        beside the original in one namespace could not promise). A rerun finds the renamed restore.
    type: str
    choices: [fail, rename]
    default: fail
  encrypt_secrets:
    description:
      - Seal the C(data) and C(stringData) of every saved Secret with O(secrets_key) before it reaches the bank
        (Fernet - AES-128-CBC with HMAC-SHA256 - from the C(cryptography) library, under a key derived from the
        passphrase by scrypt with a random salt per checkpoint). Names and labels stay readable.
      - Applies to new checkpoints; an available checkpoint made without it is not rewritten.
    type: bool
    default: false
  secrets_key:
    description:
      - The passphrase that seals secrets (O(encrypt_secrets=true), at least 12 characters) and that
        O(state=restored) needs to restore a checkpoint with sealed secrets. A wrong one is refused before
        anything is created. Keep it apart from the bank (for example in an AWX credential); without it the sealed
        secrets cannot be restored.
    type: str
requirements:
  - cryptography (only for O(encrypt_secrets) and O(secrets_key))
notes:
  - Without O(encrypt_secrets), Secrets are saved in the bank as Kubernetes holds them (base64, not encrypted). A
    local bank keeps its files 0600 in 0700 directories; in a Swift bank anyone who can read the container (the
    project's members and whoever it is shared with through ACLs) can read them. Use O(encrypt_secrets=true), or
    O(exclude_kinds=[Secret]) to keep them out.
  - Services get new cluster IPs and node ports (the old ones may be taken; the API server refuses a taken one);
    headless services (C(clusterIP - None)) stay headless.
  - The Cinder snapshots and backups are always waited for; O(wait=false) only skips waiting for the restored
    claims and workloads.
  - O(hooks) run in every Running pod of the selection (pods that are not Running are protected without them).
  - Not yet - O(namespace_map) with several namespaces, Jobs and CronJobs.
seealso:
  - module: dataprotection.openstack.k8s_pod_protect
  - module: dataprotection.openstack.k8s_pod_protectable_info
  - module: dataprotection.openstack.checkpoint_info
'''

EXAMPLES = r'''
- name: Protect the whole shop namespace (Deployments, StatefulSets, config, services, Cinder volumes)
  dataprotection.openstack.k8s_app_protect:
    cloud: mycloud
    kubeconfig: ~/.kube/prod.yaml
    namespace: shop
    whole_namespace: true
    protection: nightly
    bank:
      type: swift
      container: k8s-checkpoints

- name: Protect only what runs the web tier, without its secrets
  dataprotection.openstack.k8s_app_protect:
    cloud: mycloud
    kubeconfig: ~/.kube/prod.yaml
    namespace: shop
    label_selector: tier=web
    exclude_kinds: [Secret]
    protection: web-before-upgrade

- name: Application-consistent - every database pod flushes and freezes before the snapshots, thaws after
  dataprotection.openstack.k8s_app_protect:
    cloud: mycloud
    namespace: shop
    label_selector: app=db
    protection: consistent
    hooks:
      pre:
        - command: [sh, -c, "psql -U postgres -c CHECKPOINT && fsfreeze --freeze /var/lib/postgresql/data"]
          timeout: 120
      post:
        - command: [fsfreeze, --unfreeze, /var/lib/postgresql/data]
          on_error: continue

- name: Restore the nightly protection into a test namespace
  dataprotection.openstack.k8s_app_protect:
    cloud: mycloud
    kubeconfig: ~/.kube/prod.yaml
    namespace: shop
    protection: nightly
    state: restored
    namespace_map:
      shop: shop-restore-test
    timeout: 900
    bank:
      type: swift
      container: k8s-checkpoints
  register: restored

- name: Show which volume replaced which, and each object's status
  ansible.builtin.debug:
    msg: "{{ restored.resource_map.volumes }} {{ restored.restored.objects }}"
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
  description: The checkpoint (index) protected, restored from, or planned (id C(null) in check mode).
  returned: O(state=present) or O(state=restored)
  type: dict
  sample: {id: 3f2b8c1e-5d6a-4b7c-8e9f-0a1b2c3d4e5f, status: available, plugin: k8s_app,
           resource: {type: OS::Kubernetes::Application, namespace: shop, selection: {whole_namespace: true}},
           extra: {objects: [Deployment/shop/web, PersistentVolumeClaim/shop/data], volumes: {}}}
restored:
  description: The target namespace and each object with its restore status (V(created), V(exists), or
    V((would be created)) in check mode).
  returned: O(state=restored)
  type: dict
  sample:
    namespace: shop-restore
    objects:
      - {object: Deployment/shop/web, restored_as: Deployment/shop-restore/web, status: created}
resource_map:
  description:
    - Original -> new, for C(volumes) (Cinder ids), C(persistentvolumes) and C(objects)
      (C(Kind/namespace/name)). New ids are C(null) in check mode.
  returned: O(state=restored)
  type: dict
  sample:
    volumes: {"2f6e...": "9a1c..."}
    persistentvolumes: {"pv-data": "pv-data-9a1c0b2d"}
    objects: {"Deployment/shop/web": "Deployment/shop-restore/web"}
created:
  description: What a restore created besides the objects (C(namespace), C(volumes), C(persistentvolumes),
    C(persistentvolumeclaims)).
  returned: O(state=restored) when something was created
  type: dict
  sample: {namespace: shop-restore, volumes: [9a1c0b2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d],
           persistentvolumes: [pv-data-9a1c0b2d], persistentvolumeclaims: [data], pod: null}
problems:
  description: What in the selection cannot be protected, and why.
  returned: when the selection has such pods
  type: list
  elements: str
  sample: ["pod shop/report-28391 cannot be protected: it is owned by Job report-28391"]
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
  sample: []
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
    - Seconds of each step, in the order the steps ended (C(create checkpoint), C(save manifests), C(snapshot
      volume <id>), C(create <kind> <ns>/<name>), C(wait for workloads ready), C(clean up), ...).
  returned: always
  type: list
  elements: dict
  contains:
    step:
      description: What the step did.
      returned: always
      type: str
      sample: create deployment shop-restore/web
    seconds:
      description: How long it took, in seconds.
      returned: always
      type: float
      sample: 0.041
  sample: [{step: create checkpoint, seconds: 0.012}]
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.dataprotection.openstack.plugins.module_utils.args import (
    hooks_argument_spec,
    protection_argument_spec,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.app_objects import OPTIONAL_KINDS
from ansible_collections.dataprotection.openstack.plugins.module_utils.kube_objects import KubeObjects
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.sealed import (
    HAS_CRYPTOGRAPHY,
    MIN_KEY_LENGTH,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.hooks import check_hooks
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s_app import K8sAppDriver
from ansible_collections.dataprotection.openstack.plugins.module_utils.validation import (
    InputError,
    check_k8s_name,
    check_name,
    check_rotation,
)


def _spec():
    spec = protection_argument_spec('backup_name')
    spec.update(
        namespace=dict(type='str', required=True),
        whole_namespace=dict(type='bool', default=False),
        label_selector=dict(type='str'),
        pods=dict(type='list', elements='str'),
        description=dict(type='str'),
        backup_mode=dict(type='str', default='snapshot', choices=['snapshot', 'backup']),
        force=dict(type='bool', default=True),
        include_kinds=dict(type='list', elements='str', choices=list(OPTIONAL_KINDS)),
        exclude_kinds=dict(type='list', elements='str', choices=list(OPTIONAL_KINDS)),
        skip_unprotectable=dict(type='bool', default=False),
        state=dict(type='str', default='present', choices=['present', 'absent', 'restored']),
        namespace_map=dict(type='dict'),
        restore_point=dict(type='str', default='latest'),
        restore_description=dict(type='str'),
        keep_on_failure=dict(type='bool', default=False),
        on_collision=dict(type='str', default='fail', choices=['fail', 'rename']),
        encrypt_secrets=dict(type='bool', default=False),
        secrets_key=dict(type='str', no_log=True),
        retain=dict(type='int'),
        min_age=dict(type='int'),
    )
    spec.update(hooks_argument_spec())
    return spec


class K8sAppProtectModule(ProtectionModule):
    option_groups = ('openstack', 'wait', 'kubernetes', 'bank')
    argument_spec = _spec()
    name_options = ('namespace', 'protection', 'restore_point', 'label_selector')

    def validate(self):
        p = self.params
        check_k8s_name('namespace', p['namespace'])
        check_rotation(p['retain'], p['min_age'])
        check_hooks(p['hooks'])
        self._check_sealing(p)
        for pod in p.get('pods') or []:
            check_k8s_name('pods', pod)
        for source, target in (p.get('namespace_map') or {}).items():
            check_k8s_name('namespace_map', source)
            check_k8s_name('namespace_map', target if isinstance(target, str) else str(target))
            if source != p['namespace']:
                raise InputError('namespace_map maps namespace %r, but the protection is of namespace %r: only it '
                                 'may be mapped' % (source, p['namespace']))
        if p['pods'] is not None and not p['pods']:
            raise InputError('pods is an empty list: an empty selection selects nothing; name the pods, or use '
                             'label_selector or whole_namespace')
        chosen = [o for o in ('whole_namespace', 'label_selector', 'pods')
                  if (p[o] if o == 'whole_namespace' else p[o] is not None)]
        if len(chosen) > 1:
            raise InputError('whole_namespace, label_selector and pods are mutually exclusive; got %s'
                             % ', '.join(chosen))
        if p['state'] == 'present' and not chosen:
            raise InputError('state=present needs a selection: whole_namespace: true, label_selector or pods '
                             '(nothing is selected by default)')
        super().validate()
        if p.get('label_selector') is not None:
            check_name('label_selector', p['label_selector'])

    def _check_sealing(self, p):
        if p['encrypt_secrets'] and p['state'] == 'present' and not p['secrets_key']:
            raise InputError('encrypt_secrets needs secrets_key, the passphrase that seals the secrets')
        if p['secrets_key'] is not None and len(p['secrets_key']) < MIN_KEY_LENGTH:
            raise InputError('secrets_key is shorter than %d characters: too easy to guess' % MIN_KEY_LENGTH)
        if (p['encrypt_secrets'] or p['secrets_key']) and not HAS_CRYPTOGRAPHY:
            self.ansible.fail_json(msg=missing_required_lib('cryptography'))

    def run(self):
        p = self.params
        driver = K8sAppDriver(self.conn, self.kube, self.bank, KubeObjects(self.kube), **self.wait_options())
        self.report_timings(driver.timings)
        selection = dict(whole_namespace=p['whole_namespace'] or None, label_selector=p['label_selector'],
                         pods=p['pods'])
        kinds = [k for k in (p['include_kinds'] or OPTIONAL_KINDS) if k not in (p['exclude_kinds'] or [])]
        source = (p['namespace'], selection)
        options = dict((k, p[k]) for k in ('description', 'backup_mode', 'force', 'skip_unprotectable',
                                           'namespace_map', 'restore_point', 'restore_description',
                                           'keep_on_failure', 'retain', 'min_age', 'encrypt_secrets', 'on_collision',
                                           'secrets_key'))
        options['kinds'] = kinds
        options['hooks'] = p['hooks']
        if p['state'] == 'present':
            result = driver.protect(source, p['protection'], options, dry_run=self.check_mode)
            problems = ((result.data.get('checkpoint') or {}).get('extra') or {}).get('skipped')
            if problems:
                result.data['problems'] = problems
        elif p['state'] == 'absent':
            result = driver.delete(source, p['protection'], dry_run=self.check_mode)
        else:
            result = driver.restore(source, p['protection'], options, dry_run=self.check_mode)
        return self.finish(result, deleted=[])


def main():
    K8sAppProtectModule()()


if __name__ == '__main__':
    main()

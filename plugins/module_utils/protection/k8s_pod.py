# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes pod + Cinder persistent volume protection (Karbor's pod plugin, done end to end).

protect = the pod's full manifest, its PVCs and PVs (minus server-set fields)
saved as a checkpoint in the bank, and every Cinder volume behind the PVs
(in-tree ``spec.cinder.volumeID`` and CSI ``cinder.csi.openstack.org``
``volumeHandle``) protected by a snapshot (CinderSnapshotDriver) or a Cinder
backup (CinderBackups). The checkpoint becomes ``available`` only after
every volume is protected; on failure what this run created is removed.

restore = new Cinder volumes from the protection, new PVs (reclaim Retain,
claimRef pre-bound to the new claim, no uid), PVCs bound to them by
``volumeName``, and a new pod using them, then a bounded wait for Bound and
Running. ``resource_map`` records every volume, PV, PVC and the pod (original
-> new). Restored objects carry the label ``dataprotection.openstack/checkpoint``
and the original names in annotations, which is how a rerun finds them.

delete = the protection's Cinder snapshots/backups and the checkpoint removed.

The Kubernetes side goes through a ``KubeClient``-like object (dict in, dict
out, ``None`` for 404) so this module stays free of Ansible and of the
kubernetes library.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    ConflictError,
    NotFoundError,
    ProtectionError,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s import inspect
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.checkpoint_driver import (
    CheckpointDriver,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.manifests import (
    ANN_RESTORE_NAME,
    LABEL_CHECKPOINT,
    clean_manifest,
    pod_key,
    restored_pod,
    restored_pv,
    restored_pvc,
    service_account,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.inspect import pod_view
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.undo import (
    describe_created,
    undo_restore,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.waits import KubeWaits

PLUGIN = 'k8s_pod'
RESOURCE_TYPE = 'OS::Kubernetes::Pod'


class K8sPodDriver(CheckpointDriver):
    resource_kind = 'pod'
    plugin = PLUGIN

    # -- protectables (pod inspection lives in k8s/inspect.py; it needs no cloud connection) -----------------
    def pod_volumes(self, pod):
        return inspect.pod_volumes(self.kube, pod)

    volume_view = staticmethod(inspect.volume_view)

    def protectables(self, namespace=None, name=None):
        return inspect.protectables(self.kube, namespace, name)

    def _waits(self):
        return KubeWaits(self.kube, self.timeout, self.poll_interval)

    # -- checkpoints --------------------------------------------------------------
    def checkpoints(self, source, name):
        return self.bank.list(plugin=PLUGIN, protection=name, resource_key=pod_key(*source))

    def source_label(self, source):
        return 'pod %s' % pod_key(*source)

    # -- protect ----------------------------------------------------------------
    def protect(self, source, name, options, dry_run=False):
        namespace, pod_name = source
        key = pod_key(namespace, pod_name)
        existing = self.checkpoints(source, name)
        unchanged = self._unchanged(existing, options, dry_run)
        if unchanged:
            return unchanged
        pod = self.kube.get_pod(namespace, pod_name)
        if pod is None:
            raise NotFoundError('pod %s not found' % key)
        entries = self.pod_volumes(pod)
        problems = [e['problem'] for e in entries if e['problem']]
        if problems:
            raise ProtectionError('pod %s cannot be protected: %s' % (key, '; '.join(problems)),
                                  volumes=[self.volume_view(e) for e in entries])
        resource = dict(type=RESOURCE_TYPE, id=pod['metadata'].get('uid'), name=pod_name, namespace=namespace, key=key)

        def save_manifests(index):
            self.bank.put_resource(index, 'pod', key, clean_manifest(pod, 'Pod'))
            for entry in entries:
                self.bank.put_resource(index, 'persistentvolumeclaim', pod_key(namespace, entry['pvc']),
                                       clean_manifest(entry['pvc_obj'], 'PersistentVolumeClaim'))
                self.bank.put_resource(index, 'persistentvolume', entry['pv'],
                                       clean_manifest(entry['pv_obj'], 'PersistentVolume'))

        return self._checkpointed_protect(existing, name, options, resource, self._volume_records(entries), {},
                                          save_manifests, 'pod %s' % key, dry_run, hook_pods=[pod])

    # -- restore ------------------------------------------------------------------
    def restore(self, source, name, options, dry_run=False):
        namespace, pod_name = source
        key = pod_key(namespace, pod_name)
        index = self.restore_point(source, name, options.get('restore_point'))
        checkpoint = self._checkpoint_result(index)
        target_ns = options.get('restore_namespace') or namespace
        requested = options.get('restore_name') or pod_name
        mine = [p for p in self.kube.list_pods(target_ns, label_selector='%s=%s' % (LABEL_CHECKPOINT, index['id']))
                if ((p['metadata'].get('annotations') or {}).get(ANN_RESTORE_NAME)) == requested]
        if mine:
            pod = mine[0]
            if self.wait and not dry_run:
                with self.timings.step('wait for pod Running'):
                    pod = self._waits().pod_running(pod['metadata']['namespace'], pod['metadata']['name'])
            resource_map = inspect.live_resource_map(self.kube, pod)
            view = pod_view(pod)
            return Result(False, checkpoint=checkpoint, restored=view, resource_map=resource_map, before=view,
                          after=view)

        resources = self.bank.resources(index)
        manifest = (resources.get('pod') or {}).get(key)
        if manifest is None:
            raise ProtectionError('checkpoint %s in the %s has no manifest of pod %s' % (index['id'],
                                                                                         self.bank.location, key))
        rename = options.get('on_collision') == 'rename'
        suffix = index['id'][:8]
        create_namespace = self.kube.get_namespace(target_ns) is None
        new_pod = requested
        if not create_namespace and self.kube.get_pod(target_ns, new_pod) is not None:
            if not rename:
                raise ConflictError('pod %s already exists: choose restore_name or restore_namespace, or set '
                                    'on_collision: rename' % pod_key(target_ns, new_pod), checkpoint=checkpoint)
            new_pod = self._free_name(new_pod, suffix, lambda n: self.kube.get_pod(target_ns, n))
        claims = {}
        for claim in sorted(set(v['persistentVolumeClaim']['claimName'] for v in manifest['spec'].get('volumes') or []
                                if v.get('persistentVolumeClaim'))):
            new_claim = claim
            if not create_namespace and self.kube.get_pvc(target_ns, claim) is not None:
                if not rename:
                    raise ConflictError('persistentvolumeclaim %s already exists: choose restore_namespace, or set '
                                        'on_collision: rename' % pod_key(target_ns, claim), checkpoint=checkpoint)
                new_claim = self._free_name(claim, suffix, lambda n: self.kube.get_pvc(target_ns, n))
            claims[claim] = new_claim
        volumes = (index.get('extra') or {}).get('volumes') or {}
        plan = dict(namespace=target_ns, create_namespace=create_namespace, pod=new_pod, claims=claims)
        if dry_run:
            resource_map = dict(volumes=dict((v, None) for v in volumes),
                                persistentvolumes=dict((r['pv'], None) for r in volumes.values()),
                                persistentvolumeclaims=dict((pod_key(namespace, c), pod_key(target_ns, n))
                                                            for c, n in claims.items()),
                                pods={key: pod_key(target_ns, new_pod)})
            planned = dict(namespace=target_ns, name=new_pod, phase='(would be created)')
            return Result(True, checkpoint=checkpoint, restored=planned, resource_map=resource_map, plan=plan,
                          before=None, after=planned)
        return self._do_restore(index, checkpoint, resources, manifest, plan, options)

    @staticmethod
    def _free_name(name, suffix, exists):
        for candidate in ['%s-%s' % (name[:243], suffix)] + ['%s-%s-%d' % (name[:240], suffix, n) for n in range(2, 10)]:
            if exists(candidate) is None:
                return candidate
        raise ConflictError('no free name for %s in the target namespace' % name)

    def _do_restore(self, index, checkpoint, resources, manifest, plan, options):
        namespace = index['resource']['namespace']
        target_ns, suffix = plan['namespace'], index['id'][:8]
        volumes = (index.get('extra') or {}).get('volumes') or {}
        created = dict(namespace=None, volumes=[], persistentvolumes=[], persistentvolumeclaims=[], pod=None)
        resource_map = dict(volumes={}, persistentvolumes={}, persistentvolumeclaims={}, pods={})
        pod = None
        step = self.timings.step
        try:
            if plan['create_namespace']:
                with step('create namespace %s' % target_ns):
                    self.kube.create_namespace(dict(apiVersion='v1', kind='Namespace', metadata=dict(
                        name=target_ns, labels={LABEL_CHECKPOINT: index['id']})))
                created['namespace'] = target_ns
            pv_names = {}
            for volume_id, record in sorted(volumes.items()):
                claim = plan['claims'].get(record['pvc'], record['pvc'])
                with step('restore volume %s' % volume_id):
                    new_volume = self._restore_volume(volume_id, record, '%s-%s-%s' % (target_ns, claim, suffix),
                                                      options, created)
                resource_map['volumes'][volume_id] = new_volume
                pv_manifest = resources['persistentvolume'][record['pv']]
                pv_name = '%s-%s' % (record['pv'][:240], new_volume[:8])
                with step('create persistentvolume %s' % pv_name):
                    self.kube.create_pv(restored_pv(pv_manifest, pv_name, new_volume, target_ns, claim, index['id']))
                created['persistentvolumes'].append(pv_name)
                resource_map['persistentvolumes'][record['pv']] = pv_name
                pv_names[record['pvc']] = pv_name
            for claim, new_claim in sorted(plan['claims'].items()):
                pvc_manifest = resources['persistentvolumeclaim'][pod_key(namespace, claim)]
                with step('create persistentvolumeclaim %s' % pod_key(target_ns, new_claim)):
                    self.kube.create_pvc(target_ns, restored_pvc(pvc_manifest, new_claim, target_ns, pv_names[claim],
                                                                 index['id']))
                created['persistentvolumeclaims'].append(new_claim)
                resource_map['persistentvolumeclaims'][pod_key(namespace, claim)] = pod_key(target_ns, new_claim)
            body = restored_pod(manifest, plan['pod'], target_ns, plan['claims'], index['id'],
                                options.get('restore_name') or index['resource']['name'],
                                options.get('restore_description'))
            if service_account(body) == 'default':
                with step('wait for serviceaccount %s/default' % target_ns):
                    self._waits().service_account(target_ns, 'default')
            with step('create pod %s' % pod_key(target_ns, plan['pod'])):
                pod = self.kube.create_pod(target_ns, body)
            created['pod'] = plan['pod']
            resource_map['pods'][index['resource']['key']] = pod_key(target_ns, plan['pod'])
            if self.wait:
                with step('wait for claims Bound'):
                    for new_claim in created['persistentvolumeclaims']:
                        self._waits().pvc_bound(target_ns, new_claim)
                with step('wait for pod Running'):
                    pod = self._waits().pod_running(target_ns, plan['pod'])
        except Exception as exc:  # pylint: disable=broad-except
            reason = os_connection.reason_of(exc, self.conn)
            if options.get('keep_on_failure'):
                left = 'kept for inspection (keep_on_failure): %s' % describe_created(created)
            else:
                with step('clean up'):
                    left = undo_restore(self.kube, self.backups, self._waits(), target_ns, created)
            raise ProtectionError('restore of checkpoint %s of pod %s into namespace %s failed: %s; %s'
                                  % (index['id'], index['resource']['key'], target_ns, reason, left),
                                  checkpoint=checkpoint, resource_map=resource_map, created=created)
        view = pod_view(pod)
        return Result(True, checkpoint=checkpoint, restored=view, resource_map=resource_map, created=created,
                      before=None, after=view)

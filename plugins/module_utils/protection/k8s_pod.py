# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes pod + Cinder persistent volume protection (the seed's pod plugin, done end to end).

protect = the pod's full manifest, its PVCs and PVs (minus server-set fields)
saved as a checkpoint in the bank, and every Cinder volume behind the PVs
(in-tree ``spec.cinder.volumeID`` and CSI ``cinder.csi.openstack.org``
``volumeHandle``) protected by a snapshot (CinderSnapshotDriver) or a Cinder
backup (CinderBackupDriver). The checkpoint becomes ``available`` only after
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

import copy

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils import waiter
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.base import AVAILABLE, ERROR
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    ConflictError,
    NotFoundError,
    ProtectionError,
    WaitFailed,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import ProtectionDriver, Result
from ansible_collections.dataprotection.openstack.plugins.module_utils.timings import Timings
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import restore_point as restore_points
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_backup import CinderBackupDriver
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_snapshot import (
    CinderSnapshotDriver,
)

PLUGIN = 'k8s_pod'
RESOURCE_TYPE = 'OS::Kubernetes::Pod'
CSI_DRIVER = 'cinder.csi.openstack.org'

PREFIX = 'dataprotection.openstack/'
LABEL_CHECKPOINT = PREFIX + 'checkpoint'
ANN_ORIGINAL_NAME = PREFIX + 'original-name'
ANN_ORIGINAL_NAMESPACE = PREFIX + 'original-namespace'
ANN_ORIGINAL_VOLUME = PREFIX + 'original-volume-id'
ANN_RESTORE_NAME = PREFIX + 'restore-name'
ANN_DESCRIPTION = PREFIX + 'restore-description'

# Set by the API server; a manifest carrying them cannot be created again (FACTS.md).
SERVER_METADATA = ('uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation', 'selfLink',
                   'deletionTimestamp', 'deletionGracePeriodSeconds', 'ownerReferences')
SERVER_ANNOTATION_PREFIXES = ('pv.kubernetes.io/', 'volume.kubernetes.io/', 'volume.beta.kubernetes.io/',
                              'kubectl.kubernetes.io/last-applied-configuration')
SERVER_FINALIZERS = ('kubernetes.io/pvc-protection', 'kubernetes.io/pv-protection')
SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount'

POD_OK = frozenset(['Running'])
POD_FAIL = frozenset(['Failed', 'Succeeded', waiter.NOT_FOUND])
POD_TRANSIENT = frozenset(['Pending', 'Unknown'])
PVC_OK = frozenset(['Bound'])
PVC_FAIL = frozenset(['Lost', waiter.NOT_FOUND])
PVC_TRANSIENT = frozenset(['Pending'])


# -- manifests ----------------------------------------------------------------
def _meta(obj):
    return obj.setdefault('metadata', {})


def clean_manifest(obj, kind):
    """A copy without the server-set fields, with kind/apiVersion (list items carry none)."""
    obj = copy.deepcopy(obj)
    obj['apiVersion'], obj['kind'] = 'v1', kind
    obj.pop('status', None)
    meta = _meta(obj)
    for field in SERVER_METADATA:
        meta.pop(field, None)
    annotations = dict((k, v) for k, v in (meta.get('annotations') or {}).items()
                       if not k.startswith(SERVER_ANNOTATION_PREFIXES))
    if annotations:
        meta['annotations'] = annotations
    else:
        meta.pop('annotations', None)
    finalizers = [f for f in meta.get('finalizers') or [] if f not in SERVER_FINALIZERS]
    if finalizers:
        meta['finalizers'] = finalizers
    else:
        meta.pop('finalizers', None)
    if kind == 'Pod':
        spec = obj.setdefault('spec', {})
        spec.pop('nodeName', None)
        # the service account admission adds a fresh token volume to the new pod
        token_volumes = set(v['name'] for v in spec.get('volumes') or []
                            if v.get('projected') and v['name'].startswith('kube-api-access-'))
        if token_volumes:
            spec['volumes'] = [v for v in spec['volumes'] if v['name'] not in token_volumes]
            for container in (spec.get('containers') or []) + (spec.get('initContainers') or []):
                mounts = [m for m in container.get('volumeMounts') or [] if m.get('name') not in token_volumes]
                if mounts:
                    container['volumeMounts'] = mounts
                else:
                    container.pop('volumeMounts', None)
    return obj


def cinder_source(pv):
    """(cinder volume id, 'in-tree'|'csi') for a PV backed by Cinder, else (None, the source's name)."""
    spec = (pv or {}).get('spec') or {}
    if spec.get('cinder'):
        return spec['cinder'].get('volumeID'), 'in-tree'
    csi = spec.get('csi')
    if csi:
        if csi.get('driver') == CSI_DRIVER:
            return csi.get('volumeHandle'), 'csi'
        return None, 'csi:%s' % csi.get('driver')
    sources = [k for k in spec if k not in ('accessModes', 'capacity', 'claimRef', 'mountOptions', 'nodeAffinity',
                                            'persistentVolumeReclaimPolicy', 'storageClassName', 'volumeMode',
                                            'volumeAttributesClassName')]
    return None, (sources[0] if sources else 'none')


def restored_pv(manifest, name, volume_id, namespace, claim, checkpoint_id):
    pv = clean_manifest(manifest, 'PersistentVolume')
    original = pv['metadata']['name']
    pv['metadata'] = dict(name=name, labels=dict(pv['metadata'].get('labels') or {}),
                          annotations=dict(pv['metadata'].get('annotations') or {}))
    pv['metadata']['labels'][LABEL_CHECKPOINT] = checkpoint_id
    pv['metadata']['annotations'].update({ANN_ORIGINAL_NAME: original,
                                          ANN_ORIGINAL_VOLUME: cinder_source(manifest)[0]})
    spec = pv['spec']
    # Retain: with Delete, releasing the PV would delete the restored Cinder volume.
    spec['persistentVolumeReclaimPolicy'] = 'Retain'
    # Pre-bound to the new claim without a uid; an old uid would leave the PV Released forever.
    spec['claimRef'] = dict(apiVersion='v1', kind='PersistentVolumeClaim', namespace=namespace, name=claim)
    if spec.get('cinder'):
        spec['cinder']['volumeID'] = volume_id
    else:
        spec['csi']['volumeHandle'] = volume_id
    return pv


def restored_pvc(manifest, name, namespace, pv_name, checkpoint_id):
    pvc = clean_manifest(manifest, 'PersistentVolumeClaim')
    meta = pvc['metadata']
    original = '%s/%s' % (meta.get('namespace'), meta['name'])
    pvc['metadata'] = dict(name=name, namespace=namespace, labels=dict(meta.get('labels') or {}),
                           annotations=dict(meta.get('annotations') or {}))
    pvc['metadata']['labels'][LABEL_CHECKPOINT] = checkpoint_id
    pvc['metadata']['annotations'][ANN_ORIGINAL_NAME] = original
    pvc['spec']['volumeName'] = pv_name
    return pvc


def restored_pod(manifest, name, namespace, claims, checkpoint_id, requested, description=None):
    pod = clean_manifest(manifest, 'Pod')
    meta = pod['metadata']
    original_namespace, original = meta.get('namespace'), meta['name']
    meta.pop('generateName', None)
    meta.update(name=name, namespace=namespace)
    meta.setdefault('labels', {})[LABEL_CHECKPOINT] = checkpoint_id
    annotations = meta.setdefault('annotations', {})
    annotations.update({ANN_ORIGINAL_NAME: original, ANN_ORIGINAL_NAMESPACE: original_namespace,
                        ANN_RESTORE_NAME: requested})
    if description:
        annotations[ANN_DESCRIPTION] = description
    for volume in pod['spec'].get('volumes') or []:
        claim = volume.get('persistentVolumeClaim')
        if claim:
            claim['claimName'] = claims[claim['claimName']]
    return pod


class _CheckpointPoint:
    """A checkpoint index as a restore point (``restore_point.select`` reads id, name and created_at)."""

    def __init__(self, index):
        self.index = index
        self.id = self.name = index['id']
        self.created_at = index.get('created_at')


def pod_key(namespace, name):
    return '%s/%s' % (namespace, name)


def pod_view(pod):
    if pod is None:
        return None
    meta, status = pod.get('metadata') or {}, pod.get('status') or {}
    return dict(namespace=meta.get('namespace'), name=meta.get('name'), uid=meta.get('uid'),
                phase=status.get('phase'), node=(pod.get('spec') or {}).get('nodeName'),
                labels=meta.get('labels') or {}, annotations=meta.get('annotations') or {})


def pod_problem(pod):
    """The pod's own account of why it is not running (reason, message, container states, conditions)."""
    status = (pod or {}).get('status') or {}
    parts = [p for p in (status.get('reason'), status.get('message')) if p]
    for container in status.get('containerStatuses') or []:
        for state in ('waiting', 'terminated'):
            detail = (container.get('state') or {}).get(state)
            if detail and (detail.get('reason') or detail.get('message')):
                parts.append('container %s %s: %s' % (container.get('name'), state,
                                                      detail.get('message') or detail.get('reason')))
    for condition in status.get('conditions') or []:
        if condition.get('status') == 'False' and condition.get('message'):
            parts.append('%s: %s' % (condition.get('type'), condition['message']))
    return '; '.join(parts)


class K8sPodDriver(ProtectionDriver):
    resource_kind = 'pod'

    def __init__(self, conn, kube, bank, **wait):
        super().__init__(conn, **wait)
        self.kube = kube
        self.bank = bank
        # The volume protections always complete before the checkpoint is available, whatever ``wait`` says.
        cinder_wait = dict(wait, wait=True)
        self.snapshots = CinderSnapshotDriver(conn, **cinder_wait)
        self.backups = CinderBackupDriver(conn, **cinder_wait)
        self.timings = Timings()  # the steps of protect and restore, for the module's ``timings``

    # -- protectables -----------------------------------------------------------
    def pod_volumes(self, pod):
        """One entry per PVC the pod mounts: pvc, pv, Cinder source and a ``problem`` when not protectable."""
        namespace = pod['metadata']['namespace']
        entries = []
        for volume in (pod.get('spec') or {}).get('volumes') or []:
            if volume.get('cinder'):
                entries.append(dict(volume=volume['name'], pvc=None, pv=None, source='inline-cinder',
                                    cinder_volume_id=volume['cinder'].get('volumeID'),
                                    problem='inline cinder volume %s: only PVC-backed volumes are supported'
                                    % volume['name']))
            claim = (volume.get('persistentVolumeClaim') or {}).get('claimName')
            if not claim:
                continue
            entry = dict(volume=volume['name'], pvc=claim, pv=None, source=None, cinder_volume_id=None, problem=None,
                         pvc_phase=None)
            entries.append(entry)
            pvc = self.kube.get_pvc(namespace, claim)
            if pvc is None:
                entry['problem'] = 'persistentvolumeclaim %s/%s does not exist' % (namespace, claim)
                continue
            entry['pvc_obj'] = pvc
            entry['pvc_phase'] = (pvc.get('status') or {}).get('phase')
            pv_name = (pvc.get('spec') or {}).get('volumeName')
            if entry['pvc_phase'] != 'Bound' or not pv_name:
                entry['problem'] = ('persistentvolumeclaim %s/%s is %s, not Bound to a persistent volume'
                                    % (namespace, claim, entry['pvc_phase']))
                continue
            pv = self.kube.get_pv(pv_name)
            entry['pv'] = pv_name
            if pv is None:
                entry['problem'] = 'persistentvolume %s (of claim %s/%s) does not exist' % (pv_name, namespace, claim)
                continue
            entry['pv_obj'] = pv
            entry['cinder_volume_id'], entry['source'] = cinder_source(pv)
            if not entry['cinder_volume_id']:
                entry['problem'] = ('persistentvolume %s is not a Cinder volume (source %s); only in-tree cinder and '
                                    'CSI %s volumes can be protected' % (pv_name, entry['source'], CSI_DRIVER))
        return entries

    @staticmethod
    def volume_view(entry):
        keys = ('volume', 'pvc', 'pvc_phase', 'pv', 'source', 'cinder_volume_id', 'problem')
        return dict((k, entry.get(k)) for k in keys)

    def protectables(self, namespace=None, name=None):
        """Pods (all namespaces, one namespace, or one pod) with their Cinder volumes and whether they can be protected."""
        if name:
            pod = self.kube.get_pod(namespace or 'default', name)
            if pod is None:
                raise NotFoundError('pod %s not found' % pod_key(namespace or 'default', name))
            pods = [pod]
        else:
            pods = self.kube.list_pods(namespace)
        found = []
        for pod in pods:
            volumes = [self.volume_view(v) for v in self.pod_volumes(pod)]
            problems = [v['problem'] for v in volumes if v['problem']]
            found.append(dict(pod_view(pod), volumes=volumes, protectable=not problems, problems=problems))
        return found

    # -- checkpoints --------------------------------------------------------------
    def checkpoints(self, source, name):
        return self.bank.list(plugin=PLUGIN, protection=name, resource_key=pod_key(*source))

    def status(self, source, name):
        available = [c for c in self.checkpoints(source, name) if c['status'] == AVAILABLE]
        return available[-1] if available else None

    def restore_point(self, source, name, wanted=None):
        """The available checkpoint ``wanted`` selects: latest (default), a checkpoint id, or a date/time."""
        available = [_CheckpointPoint(c) for c in self.checkpoints(source, name) if c['status'] == AVAILABLE]
        what = 'pod %s, protection %s, in the %s' % (pod_key(*source), name, self.bank.location)
        if not available and wanted in (None, restore_points.LATEST):
            raise NotFoundError('pod %s has no available checkpoint of protection %s in the %s'
                                % (pod_key(*source), name, self.bank.location))
        return restore_points.select(available, wanted, what).index

    def _checkpoint_result(self, index):
        return dict(index, bank=self.bank.location) if index else None

    # -- protect ----------------------------------------------------------------
    def protect(self, source, name, options, dry_run=False):
        namespace, pod_name = source
        key = pod_key(namespace, pod_name)
        existing = self.checkpoints(source, name)
        available = [c for c in existing if c['status'] == AVAILABLE]
        if available:
            checkpoint = self._checkpoint_result(available[-1])
            return Result(False, checkpoint=checkpoint, before=checkpoint, after=checkpoint)
        pod = self.kube.get_pod(namespace, pod_name)
        if pod is None:
            raise NotFoundError('pod %s not found' % key)
        entries = self.pod_volumes(pod)
        problems = [e['problem'] for e in entries if e['problem']]
        if problems:
            raise ProtectionError('pod %s cannot be protected: %s' % (key, '; '.join(problems)),
                                  volumes=[self.volume_view(e) for e in entries])
        volumes = {}
        for entry in entries:
            volume = self.snapshots.find_volume(entry['cinder_volume_id']) if entry['cinder_volume_id'] else None
            volumes.setdefault(volume.id, dict(pv=entry['pv'], pvc=entry['pvc'], source=entry['source'],
                                               size=volume.size, availability_zone=volume.availability_zone,
                                               volume_type=volume.volume_type))
        mode = options.get('backup_mode') or 'snapshot'
        resource = dict(type=RESOURCE_TYPE, id=pod['metadata'].get('uid'), name=pod_name, namespace=namespace, key=key)
        if dry_run:
            planned = dict(id=None, status='(would be created)', plugin=PLUGIN, resource=resource,
                           protection=dict(name=name, description=options.get('description'), backup_mode=mode),
                           extra=dict(volumes=volumes), bank=self.bank.location)
            return Result(True, checkpoint=planned, replaced=[c['id'] for c in existing], before=None, after=planned)
        replaced = []
        step = self.timings.step
        if existing:
            with step('remove stale checkpoints'):
                for stale in existing:  # a checkpoint of an interrupted or failed run is replaced, never left behind
                    self._delete_checkpoint(stale)
                    replaced.append(stale['id'])
        with step('create checkpoint'):
            index = self.bank.create(PLUGIN, dict(name=name, description=options.get('description'),
                                                  backup_mode=mode), resource, extra=dict(volumes={}))
            protection_name = 'dp-%s' % index['id']
            for volume_id, record in volumes.items():
                record.update(mode=mode, protection_name=protection_name)
            # planned first: a run that dies half-way leaves a checkpoint whose deletion still finds everything
            self.bank.update(index, extra=dict(volumes=volumes))
        try:
            with step('save manifests'):
                self.bank.put_resource(index, 'pod', key, clean_manifest(pod, 'Pod'))
                for entry in entries:
                    self.bank.put_resource(index, 'persistentvolumeclaim', pod_key(namespace, entry['pvc']),
                                           clean_manifest(entry['pvc_obj'], 'PersistentVolumeClaim'))
                    self.bank.put_resource(index, 'persistentvolume', entry['pv'],
                                           clean_manifest(entry['pv_obj'], 'PersistentVolume'))
                self.bank.update(index)
            for volume_id, record in volumes.items():
                with step('%s volume %s' % (mode, volume_id)):
                    record.update(self._protect_volume(volume_id, record, index, options))
                with step('save volume %s' % volume_id):
                    self.bank.put_resource(index, 'volume', volume_id, record)
                    self.bank.update(index, extra=dict(volumes=volumes))
            with step('mark checkpoint available'):
                self.bank.update(index, status=AVAILABLE)
        except Exception as exc:  # pylint: disable=broad-except
            reason = self._reason(exc)
            with step('clean up'):
                left = self._undo_protect(index, reason)
            raise ProtectionError('protection %s of pod %s failed: %s; %s' % (name, key, reason, left),
                                  checkpoint=self._checkpoint_result(self.bank.get(index['id'])))
        checkpoint = self._checkpoint_result(index)
        return Result(True, checkpoint=checkpoint, replaced=replaced, before=None, after=checkpoint)

    @staticmethod
    def _reason(exc):
        if isinstance(exc, ProtectionError):
            return exc.msg
        if os_connection.is_sdk_error(exc):
            return os_connection.describe_error(exc)
        return '%s: %s' % (type(exc).__name__, exc)

    def _protect_volume(self, volume_id, record, index, options):
        description = options.get('description') or 'checkpoint %s of pod %s' % (index['id'], index['resource']['key'])
        if record['mode'] == 'backup':
            backup, _changed = self.backups.create(volume_id, record['protection_name'], description=description,
                                                   force=options.get('force', True),
                                                   protection=record['protection_name'])
            return dict(backup_id=backup.id, status=backup.status)
        metadata = {'dataprotection_checkpoint': index['id']}
        result = self.snapshots.protect(volume_id, record['protection_name'],
                                        dict(description=description, force=options.get('force', True),
                                             metadata=metadata))
        return dict(snapshot_id=result.data['snapshot']['id'], status=result.data['snapshot']['status'])

    def _undo_protect(self, index, reason):
        try:
            self._delete_checkpoint(index)
            return 'the checkpoint %s and the volume protections made for it were removed' % index['id']
        except Exception as exc:  # pylint: disable=broad-except
            try:
                self.bank.update(index, status=ERROR, error=reason)
            except Exception:  # pylint: disable=broad-except
                pass
            return ('cleaning up failed (%s): checkpoint %s is left in status error; state=absent removes it'
                    % (self._reason(exc), index['id']))

    # -- delete -------------------------------------------------------------------
    def _delete_checkpoint(self, index):
        """Remove the Cinder snapshots/backups a checkpoint made (found by their names), then its bank data."""
        for volume_id, record in ((index.get('extra') or {}).get('volumes') or {}).items():
            name = record.get('protection_name')
            if not name:
                continue
            if record.get('mode') == 'backup':
                ids = set([record['backup_id']] if record.get('backup_id') else [])
                try:
                    ids.update(b.id for b in self.backups.find_backups(volume_id, name))
                except Exception as exc:  # pylint: disable=broad-except
                    if not os_connection.is_not_found(exc):
                        raise
                for backup_id in sorted(ids):
                    self.backups.delete(backup_id)
            else:
                self.snapshots.delete(volume_id, name)
        self.bank.delete(index)

    def delete(self, source, name, dry_run=False):
        existing = self.checkpoints(source, name)
        before = [self._checkpoint_result(c) for c in existing]
        if not dry_run:
            for index in existing:
                self._delete_checkpoint(index)
        return Result(bool(existing), checkpoint=None, deleted=[c['id'] for c in existing], before=before, after=[])

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
                    pod = self._wait_pod(pod['metadata']['namespace'], pod['metadata']['name'])
            resource_map = self._live_map(pod)
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
            with step('create pod %s' % pod_key(target_ns, plan['pod'])):
                pod = self.kube.create_pod(target_ns, body)
            created['pod'] = plan['pod']
            resource_map['pods'][index['resource']['key']] = pod_key(target_ns, plan['pod'])
            if self.wait:
                with step('wait for claims Bound'):
                    for new_claim in created['persistentvolumeclaims']:
                        self._wait_pvc(target_ns, new_claim)
                with step('wait for pod Running'):
                    pod = self._wait_pod(target_ns, plan['pod'])
        except Exception as exc:  # pylint: disable=broad-except
            reason = self._reason(exc)
            if options.get('keep_on_failure'):
                left = 'kept for inspection (keep_on_failure): %s' % self._describe_created(created)
            else:
                with step('clean up'):
                    left = self._undo_restore(target_ns, created)
            raise ProtectionError('restore of checkpoint %s of pod %s into namespace %s failed: %s; %s'
                                  % (index['id'], index['resource']['key'], target_ns, reason, left),
                                  checkpoint=checkpoint, resource_map=resource_map, created=created)
        view = pod_view(pod)
        return Result(True, checkpoint=checkpoint, restored=view, resource_map=resource_map, created=created,
                      before=None, after=view)

    def _restore_volume(self, volume_id, record, volume_name, options, created):
        description = options.get('restore_description')
        if record.get('mode') == 'backup':
            volume = self.backups.restore_to_new_volume(record['backup_id'], volume_name, description=description,
                                                        availability_zone=record.get('availability_zone'))
            created['volumes'].append(volume.id)
            return volume.id
        result = self.snapshots.restore(volume_id, record['protection_name'],
                                        dict(restore_name=volume_name, restore_description=description))
        new_id = result.data['resource_map'][volume_id]
        created['volumes'].append(new_id)
        return new_id

    @staticmethod
    def _describe_created(created):
        parts = []
        if created['pod']:
            parts.append('pod %s' % created['pod'])
        for label in ('persistentvolumeclaims', 'persistentvolumes', 'volumes'):
            if created[label]:
                parts.append('%s %s' % (label, ', '.join(created[label])))
        if created['namespace']:
            parts.append('namespace %s' % created['namespace'])
        return '; '.join(parts) or 'nothing was created'

    def _undo_restore(self, namespace, created):
        """Delete what this restore created, newest first; name what could not be removed."""
        failed = []
        steps = []
        if created['pod']:
            steps.append(('pod %s/%s' % (namespace, created['pod']), lambda: self.kube.delete_pod(namespace,
                                                                                                  created['pod'])))
        for claim in created['persistentvolumeclaims']:
            steps.append(('persistentvolumeclaim %s/%s' % (namespace, claim),
                          lambda c=claim: self.kube.delete_pvc(namespace, c)))
        for pv in created['persistentvolumes']:
            steps.append(('persistentvolume %s' % pv, lambda p=pv: self.kube.delete_pv(p)))
        for what, step in steps:
            try:
                step()
            except Exception as exc:  # pylint: disable=broad-except
                failed.append('%s (%s)' % (what, self._reason(exc)))
        for volume_id in created['volumes']:
            outcome = self.backups.remove_volume(volume_id)
            if 'could not' in outcome:
                failed.append(outcome)
        if created['namespace'] and not failed:
            try:
                self.kube.delete_namespace(created['namespace'])
            except Exception as exc:  # pylint: disable=broad-except
                failed.append('namespace %s (%s)' % (created['namespace'], self._reason(exc)))
        if failed:
            return 'these objects could not be removed: %s' % '; '.join(failed)
        return 'removed what this run created (%s)' % self._describe_created(created)

    def _wait_pvc(self, namespace, name):
        try:
            return waiter.wait_for_status(lambda: self.kube.get_pvc(namespace, name), PVC_OK, PVC_FAIL, PVC_TRANSIENT,
                                          timeout=self.timeout, poll_interval=self.poll_interval,
                                          describe='persistentvolumeclaim %s/%s to be Bound' % (namespace, name),
                                          status_of=lambda o: (o.get('status') or {}).get('phase') or 'Pending')
        except WaitFailed as exc:
            raise ProtectionError(exc.msg)

    def _wait_pod(self, namespace, name):
        try:
            return waiter.wait_for_status(lambda: self.kube.get_pod(namespace, name), POD_OK, POD_FAIL, POD_TRANSIENT,
                                          timeout=self.timeout, poll_interval=self.poll_interval,
                                          describe='pod %s/%s to be Running' % (namespace, name),
                                          status_of=lambda o: (o.get('status') or {}).get('phase') or 'Pending')
        except WaitFailed as exc:
            problem = pod_problem(exc.last)
            raise ProtectionError('%s%s' % (exc.msg, ' (%s)' % problem if problem else ''),
                                  restored=pod_view(exc.last))

    def _live_map(self, pod):
        """The resource map of an existing restore, read back from the objects' annotations."""
        meta = pod['metadata']
        annotations = meta.get('annotations') or {}
        namespace = meta['namespace']
        resource_map = dict(volumes={}, persistentvolumes={}, persistentvolumeclaims={},
                            pods={pod_key(annotations.get(ANN_ORIGINAL_NAMESPACE), annotations.get(ANN_ORIGINAL_NAME)):
                                  pod_key(namespace, meta['name'])})
        for volume in (pod.get('spec') or {}).get('volumes') or []:
            claim = (volume.get('persistentVolumeClaim') or {}).get('claimName')
            if not claim:
                continue
            pvc = self.kube.get_pvc(namespace, claim) or {}
            original = ((pvc.get('metadata') or {}).get('annotations') or {}).get(ANN_ORIGINAL_NAME)
            if original:
                resource_map['persistentvolumeclaims'][original] = pod_key(namespace, claim)
            pv_name = (pvc.get('spec') or {}).get('volumeName')
            pv = self.kube.get_pv(pv_name) if pv_name else None
            if pv:
                pv_annotations = (pv.get('metadata') or {}).get('annotations') or {}
                if pv_annotations.get(ANN_ORIGINAL_NAME):
                    resource_map['persistentvolumes'][pv_annotations[ANN_ORIGINAL_NAME]] = pv_name
                if pv_annotations.get(ANN_ORIGINAL_VOLUME):
                    resource_map['volumes'][pv_annotations[ANN_ORIGINAL_VOLUME]] = cinder_source(pv)[0]
        return resource_map

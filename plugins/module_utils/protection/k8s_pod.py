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
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.base import AVAILABLE, ERROR, timestamp
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    ConflictError,
    NotFoundError,
    ProtectionError,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import ProtectionDriver, Result
from ansible_collections.dataprotection.openstack.plugins.module_utils.timings import Timings
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import restore_point as restore_points
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_backup import CinderBackups
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_snapshot import (
    CinderSnapshotDriver,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s import inspect
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


class _CheckpointPoint:
    """A checkpoint index as a restore point (``restore_point.select`` reads id, name and created_at)."""

    def __init__(self, index):
        self.index = index
        self.id = self.name = index['id']
        self.created_at = index.get('created_at')


class K8sPodDriver(ProtectionDriver):
    resource_kind = 'pod'

    def __init__(self, conn, kube, bank, **wait):
        super().__init__(conn, **wait)
        self.kube = kube
        self.bank = bank
        # The volume protections always complete before the checkpoint is available, whatever ``wait`` says.
        cinder_wait = dict(wait, wait=True)
        self.snapshots = CinderSnapshotDriver(conn, **cinder_wait)
        self.backups = CinderBackups(conn, **cinder_wait)
        self.timings = Timings()  # the steps of protect and restore, for the module's ``timings``

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
        volumes = self._volume_records(entries)
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
            self._protect_volumes(index, volumes, options)
            with step('mark checkpoint available'):
                self.bank.update(index, status=AVAILABLE)
        except Exception as exc:  # pylint: disable=broad-except
            reason = os_connection.reason_of(exc, self.conn)
            with step('clean up'):
                left = self._undo_protect(index, reason)
            raise ProtectionError('protection %s of pod %s failed: %s; %s' % (name, key, reason, left),
                                  checkpoint=self._checkpoint_result(self.bank.get(index['id'])))
        checkpoint = self._checkpoint_result(index)
        return Result(True, checkpoint=checkpoint, replaced=replaced, before=None, after=checkpoint)

    def _volume_records(self, entries):
        """{Cinder volume id: its PV, PVC, source, size, AZ and type} of protectable volume entries."""
        volumes = {}
        for entry in entries:
            volume = self.snapshots.find_volume(entry['cinder_volume_id'])
            volumes.setdefault(volume.id, dict(pv=entry['pv'], pvc=entry['pvc'], source=entry['source'],
                                               size=volume.size, availability_zone=volume.availability_zone,
                                               volume_type=volume.volume_type))
        return volumes

    def _protect_volumes(self, index, volumes, options):
        """Protect each volume in turn, recording in the checkpoint when each one's protection was taken."""
        mode = options.get('backup_mode') or 'snapshot'
        for order, (volume_id, record) in enumerate(volumes.items(), 1):
            with self.timings.step('%s volume %s' % (mode, volume_id)):
                record.update(self._protect_volume(volume_id, record, index, options), order=order,
                              taken_at=timestamp())
            with self.timings.step('save volume %s' % volume_id):
                self.bank.put_resource(index, 'volume', volume_id, record)
                self.bank.update(index, extra=dict(index.get('extra') or {}, volumes=volumes))

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
                    % (os_connection.reason_of(exc, self.conn), index['id']))

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

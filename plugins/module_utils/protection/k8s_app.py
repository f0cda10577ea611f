# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes application protection: what a selection in one namespace picks (k8s/app_objects.py), in ONE checkpoint.

protect = every object's manifest (without server-set fields) saved in the bank, then every Cinder volume behind
the pods' claims protected in turn (order and time recorded per volume); the checkpoint becomes ``available`` only
when all are. restore = into the same or a mapped namespace: service accounts, config maps, secrets, then new
Cinder volumes with PVs and claims of the original names, services (new cluster IPs), then the owners (the
controllers make their pods; a StatefulSet finds its claims already there and uses them) and bare pods; then a
bounded wait for claims Bound and workloads ready. A restore that fails removes what it made, owners first, each
volume only once it is detached. The volume, checkpoint and deletion machinery is the pod driver's.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils import waiter
from ansible_collections.dataprotection.openstack.plugins.module_utils.kube_objects import api_version
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    ConflictError,
    NotFoundError,
    ProtectionError,
    WaitFailed,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s import app_objects
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.app_objects import (
    ORDER,
    object_key,
    ready,
    restored_object,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.inspect import pod_problem
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.manifests import (
    LABEL_CHECKPOINT,
    clean_manifest,
    restored_pod,
    restored_pv,
    restored_pvc,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.sealed import (
    SealError,
    Sealer,
    is_sealed,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.undo import undo_restore
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s_pod import K8sPodDriver

PLUGIN = 'k8s_app'
RESOURCE_TYPE = 'OS::Kubernetes::Application'
READY = 'ready'


def describe_selection(selection):
    if selection.get('pods'):
        return 'pods %s' % ', '.join(selection['pods'])
    if selection.get('label_selector'):
        return 'label selector %s' % selection['label_selector']
    return 'the whole namespace'


class K8sAppDriver(K8sPodDriver):
    resource_kind = 'application'
    plugin = PLUGIN

    def __init__(self, conn, kube, bank, objects, **wait):
        super().__init__(conn, kube, bank, **wait)
        self.objects = objects  # a KubeObjects

    # -- checkpoints: one protection per namespace and name ------------------------------------------------------
    def checkpoints(self, source, name):
        return self.bank.list(plugin=PLUGIN, protection=name, resource_key=source[0])

    def source_label(self, source):
        return 'namespace %s' % source[0]

    # -- protect ----------------------------------------------------------------------------------------------
    def protect(self, source, name, options, dry_run=False):
        namespace, selection = source
        existing = self.checkpoints(source, name)
        unchanged = self._unchanged(existing, options, dry_run)
        if unchanged:
            return unchanged
        if self.kube.get_namespace(namespace) is None:
            raise NotFoundError('namespace %s not found' % namespace)
        app = app_objects.collect(self.objects, self.kube, namespace, selection.get('label_selector'),
                                  selection.get('pods'), options.get('kinds') or app_objects.OPTIONAL_KINDS)
        what = '%s in namespace %s' % (describe_selection(selection), namespace)
        if app.problems and not options.get('skip_unprotectable'):
            raise ProtectionError('%s cannot be protected: %s' % (what, '; '.join(app.problems)),
                                  problems=app.problems)
        workloads = [k for k in app.keys() if k.split('/')[0] in app_objects.WORKLOADS]
        if not workloads:
            raise ProtectionError('%s selects no pod and no workload: nothing to protect' % what,
                                  problems=app.problems)
        resource = dict(type=RESOURCE_TYPE, namespace=namespace, key=namespace, name=namespace,
                        selection=dict((k, v) for k, v in selection.items() if v is not None))

        sealer = self._sealer(options)

        def save_manifests(index):
            for kind in ORDER:
                for obj_name, obj in sorted(app.objects[kind].items()):
                    manifest = dict(clean_manifest(obj, kind), apiVersion=api_version(kind))
                    if kind == 'Secret' and sealer:
                        manifest = sealer.seal(manifest)
                    self.bank.put_resource(index, 'object', object_key(kind, namespace, obj_name), manifest)
            for entry in app.volumes:
                self.bank.put_resource(index, 'persistentvolume', entry['pv'],
                                       clean_manifest(entry['pv_obj'], 'PersistentVolume'))

        extra = dict(objects=app.keys(), members=app.members, skipped=app.problems)
        if sealer:
            extra['sealing'] = sealer.describe()
        return self._checkpointed_protect(existing, name, options, resource, self._volume_records(app.volumes),
                                          extra, save_manifests, what, dry_run,
                                          hook_pods=[p for p in app.pods
                                                     if (p.get('status') or {}).get('phase') == 'Running'])

    @staticmethod
    def _sealer(options):
        """With ``encrypt_secrets``: the sealer of a new checkpoint (its own salt)."""
        if not options.get('encrypt_secrets'):
            return None
        try:
            return Sealer(options['secrets_key'])
        except SealError as exc:
            raise ProtectionError(str(exc)) from None

    def _opener(self, index, options):
        """The sealer that opens a checkpoint's sealed secrets (None when it has none); checked before anything."""
        sealing = (index.get('extra') or {}).get('sealing')
        if not sealing:
            return None
        if not options.get('secrets_key'):
            raise ProtectionError('checkpoint %s holds sealed secrets (encrypt_secrets): give the secrets_key that '
                                  'sealed them' % index['id'], checkpoint=self._checkpoint_result(index))
        try:
            return Sealer.for_checkpoint(sealing, options['secrets_key'], index['id'])
        except SealError as exc:
            raise ProtectionError(str(exc), checkpoint=self._checkpoint_result(index)) from None

    # -- restore ----------------------------------------------------------------------------------------------
    def restore(self, source, name, options, dry_run=False):
        namespace = source[0]
        index = self.restore_point(source, name, options.get('restore_point'))
        checkpoint = self._checkpoint_result(index)
        target = (options.get('namespace_map') or {}).get(namespace, namespace)
        keys = (index.get('extra') or {}).get('objects') or []
        volumes = (index.get('extra') or {}).get('volumes') or {}
        planned = [(key.split('/')[0], key.split('/', 2)[2]) for key in keys]
        # on_collision=rename: the namespace is the unit renamed - every name inside stays, so no reference needs
        # rewriting and the copy's Services select only the copy's pods
        candidates = [target]
        if options.get('on_collision') == 'rename':
            candidates += ['%s-%s' % (target[:54], index['id'][:8])] + \
                ['%s-%s-%d' % (target[:52], index['id'][:8], n) for n in range(2, 10)]
        for candidate in candidates:
            mine = self._restored(candidate, index['id'], planned)
            if mine:
                return self._already_restored(checkpoint, namespace, candidate, planned, mine, dry_run)
            create_namespace = self.kube.get_namespace(candidate) is None
            taken = [] if create_namespace else [object_key(kind, candidate, obj_name) for kind, obj_name in planned
                                                 if self.objects.get(kind, candidate, obj_name) is not None]
            if not taken:
                target = candidate
                break
            if len(candidates) == 1:
                raise ConflictError('cannot restore checkpoint %s into namespace %s: %s already exist; restore into '
                                    'another namespace with namespace_map, set on_collision: rename, or remove them'
                                    % (index['id'], target, ', '.join(taken)), checkpoint=checkpoint)
        else:
            raise ConflictError('no free namespace for checkpoint %s: %s all hold some of its objects'
                                % (index['id'], ', '.join(candidates)), checkpoint=checkpoint)
        options = dict(options, opener=self._opener(index, options))
        resource_map = dict(volumes=dict((v, None) for v in volumes),
                            persistentvolumes=dict((r['pv'], None) for r in volumes.values()),
                            objects=dict((object_key(k, namespace, n), object_key(k, target, n)) for k, n in planned))
        if dry_run:
            view = dict(namespace=target, objects=[dict(object=object_key(k, namespace, n),
                                                        restored_as=object_key(k, target, n),
                                                        status='(would be created)') for k, n in planned])
            return Result(True, checkpoint=checkpoint, restored=view, resource_map=resource_map, before=None,
                          after=view)
        return self._do_app_restore(index, checkpoint, target, create_namespace, planned, resource_map, options)

    def _restored(self, target, checkpoint_id, planned):
        """(kind, name) of the planned objects a run already restored into ``target`` (found by our label)."""
        if self.kube.get_namespace(target) is None:
            return set()
        found = set()
        for kind in sorted(set(k for k, _n in planned)):
            for obj in self.objects.list(kind, target, label_selector='%s=%s' % (LABEL_CHECKPOINT, checkpoint_id)):
                found.add((kind, obj['metadata']['name']))
        return found & set(planned)

    def _already_restored(self, checkpoint, namespace, target, planned, mine, dry_run):
        missing = [object_key(k, target, n) for k, n in planned if (k, n) not in mine]
        if missing:
            raise ConflictError('checkpoint %s is partly restored in namespace %s (missing %s): remove what it '
                                'restored there, or restore into another namespace'
                                % (checkpoint['id'], target, ', '.join(missing)), checkpoint=checkpoint)
        if self.wait and not dry_run:
            with self.timings.step('wait for workloads ready'):
                self._wait_ready(target, planned)
        view = dict(namespace=target, objects=[dict(object=object_key(k, namespace, n),
                                                    restored_as=object_key(k, target, n), status='exists')
                                               for k, n in planned])
        resource_map = dict(objects=dict((o['object'], o['restored_as']) for o in view['objects']))
        return Result(False, checkpoint=checkpoint, restored=view, resource_map=resource_map, before=view,
                      after=view)

    def _do_app_restore(self, index, checkpoint, target, create_namespace, planned, resource_map, options):
        namespace, suffix = index['resource']['namespace'], index['id'][:8]
        manifests = self.bank.resources(index)
        volumes = (index.get('extra') or {}).get('volumes') or {}
        created = dict(namespace=None, volumes=[], persistentvolumes=[], persistentvolumeclaims=[], pod=None)
        made, statuses = [], []
        step = self.timings.step
        try:
            if create_namespace:
                with step('create namespace %s' % target):
                    self.kube.create_namespace(dict(apiVersion='v1', kind='Namespace', metadata=dict(
                        name=target, labels={LABEL_CHECKPOINT: index['id']})))
                created['namespace'] = target
            with step('wait for serviceaccount %s/default' % target):
                self._waits().service_account(target, 'default')
            by_claim = dict((r['pvc'], (v, r)) for v, r in volumes.items())
            for kind, obj_name in sorted(planned, key=lambda o: (ORDER.index(o[0]), o[1])):
                manifest = manifests['object'][object_key(kind, namespace, obj_name)]
                if is_sealed(manifest):
                    manifest = options['opener'].unseal(manifest, object_key(kind, namespace, obj_name))
                with step('create %s %s/%s' % (kind.lower(), target, obj_name)):
                    if kind == 'PersistentVolumeClaim':
                        volume_id, record = by_claim[obj_name]
                        pv_name = self._restore_claim_volume(volume_id, record, manifests, target, suffix, index,
                                                             options, created, resource_map)
                        body = restored_pvc(manifest, obj_name, target, pv_name, index['id'])
                    elif kind == 'Pod':
                        body = restored_pod(manifest, obj_name, target, _identity_claims(manifest), index['id'],
                                            obj_name, options.get('restore_description'))
                    else:
                        body = restored_object(kind, manifest, target, index['id'])
                    self.objects.create(kind, target, body)
                made.append((kind, obj_name))
                if kind == 'PersistentVolumeClaim':
                    created['persistentvolumeclaims'].append(obj_name)
                statuses.append(dict(object=object_key(kind, namespace, obj_name),
                                     restored_as=object_key(kind, target, obj_name), status='created'))
            if self.wait:
                with step('wait for workloads ready'):
                    self._wait_ready(target, planned)
        except Exception as exc:  # pylint: disable=broad-except
            reason = os_connection.reason_of(exc, self.conn)
            if options.get('keep_on_failure'):
                left = 'kept for inspection (keep_on_failure): %s' % ', '.join(
                    [object_key(k, target, n) for k, n in made] + ['volume %s' % v for v in created['volumes']])
            else:
                with step('clean up'):
                    left = self._undo_app_restore(target, made, created)
            raise ProtectionError('restore of checkpoint %s of namespace %s into namespace %s failed: %s; %s'
                                  % (index['id'], namespace, target, reason, left), checkpoint=checkpoint,
                                  resource_map=resource_map, objects=statuses)
        view = dict(namespace=target, objects=statuses)
        return Result(True, checkpoint=checkpoint, restored=view, resource_map=resource_map, created=created,
                      before=None, after=view)

    def _restore_claim_volume(self, volume_id, record, manifests, target, suffix, index, options, created,
                              resource_map):
        """A new Cinder volume from the claim's protection and a PV pre-bound to the claim; returns the PV name."""
        new_volume = self._restore_volume(volume_id, record, '%s-%s-%s' % (target, record['pvc'], suffix), options,
                                          created)
        resource_map['volumes'][volume_id] = new_volume
        pv_name = ('%s-%s' % (record['pv'][:240], new_volume[:8])).rstrip('-.')  # a DNS-1123 subdomain
        self.kube.create_pv(restored_pv(manifests['persistentvolume'][record['pv']], pv_name, new_volume, target,
                                        record['pvc'], index['id']))
        created['persistentvolumes'].append(pv_name)
        resource_map['persistentvolumes'][record['pv']] = pv_name
        return pv_name

    def _wait_ready(self, target, planned):
        """Claims Bound, then each owner and bare pod ready; a timeout names what the pods report."""
        for kind, obj_name in sorted(planned, key=lambda o: (ORDER.index(o[0]), o[1])):
            if kind not in ('PersistentVolumeClaim',) + app_objects.WORKLOADS:
                continue
            try:
                # any status but ready and gone is "still on its way" (transient=None): its text is what it is at
                waiter.wait_for_status(lambda k=kind, n=obj_name: self.objects.get(k, target, n), [READY],
                                       [waiter.NOT_FOUND, 'Failed', 'Succeeded'], None, timeout=self.timeout,
                                       poll_interval=self.poll_interval,
                                       describe='%s %s/%s to be ready' % (kind.lower(), target, obj_name),
                                       status_of=lambda o, k=kind: READY if ready(k, o)[0] else ready(k, o)[1])
            except WaitFailed as exc:
                problems = [pod_problem(p) for p in self.objects.list('Pod', target)
                            if (p.get('status') or {}).get('phase') != 'Running']
                problems = [p for p in problems if p]
                raise ProtectionError('%s%s' % (exc.msg, ': ' + '; '.join(problems) if problems else ''))

    def _undo_app_restore(self, target, made, created):
        """Owners and other objects first (newest first), then - once no pod uses them - claims, PVs, volumes."""
        failed = []
        for kind, obj_name in reversed(made):
            if kind == 'PersistentVolumeClaim':
                continue
            try:
                self.objects.delete(kind, target, obj_name)
            except Exception as exc:  # pylint: disable=broad-except
                failed.append('%s (%s)' % (object_key(kind, target, obj_name), os_connection.reason_of(exc)))
        claims = set(created['persistentvolumeclaims'])

        def pods_using_claims():
            using = [p for p in self.objects.list('Pod', target)
                     if claims & set((v.get('persistentVolumeClaim') or {}).get('claimName')
                                     for v in (p.get('spec') or {}).get('volumes') or [])]
            return using or None

        if claims:
            try:
                waiter.wait_for_status(pods_using_claims, [waiter.NOT_FOUND], timeout=self.timeout,
                                       poll_interval=self.poll_interval, status_of=lambda pods: 'present',
                                       describe='the pods using the restored claims in namespace %s to be gone'
                                       % target)
            except Exception as exc:  # pylint: disable=broad-except
                failed.append('pods in namespace %s (%s)' % (target, os_connection.reason_of(exc)))
        left = undo_restore(self.kube, self.backups, self._waits(), target,
                            dict(created, namespace=None if failed else created['namespace']))
        if failed:
            return 'these objects could not be removed: %s; %s' % ('; '.join(failed), left)
        removed = [object_key(k, target, n) for k, n in reversed(made) if k != 'PersistentVolumeClaim']
        return 'removed %s; %s' % (', '.join(removed), left) if removed else left


def _identity_claims(manifest):
    return dict((v['persistentVolumeClaim']['claimName'], v['persistentVolumeClaim']['claimName'])
                for v in (manifest.get('spec') or {}).get('volumes') or [] if v.get('persistentVolumeClaim'))

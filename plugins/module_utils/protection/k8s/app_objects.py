# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An application in one namespace: the pods a selection picks, the owners that recreate them, and what they need.

A pod owned by a ReplicaSet belongs to its Deployment, a StatefulSet's or DaemonSet's pod to that owner: the owner
is saved and restored, never the pod (the owner's controller makes new pods). Pods owned by anything else (a Job,
a custom controller) are named as not protectable. Selecting one pod of an owner selects the owner, with all its
pods' claims. With it: the service accounts, config maps and secrets the pod templates refer to, and the services
whose selector picks one of the pods; with a whole-namespace selection every one of those kinds in the namespace
(except what the cluster makes itself). Restore creates them in ``ORDER``.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError
from ansible_collections.dataprotection.openstack.plugins.module_utils.kube_objects import api_version
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s import inspect
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.manifests import (
    ANN_ORIGINAL_NAME,
    ANN_ORIGINAL_NAMESPACE,
    LABEL_CHECKPOINT,
    clean_manifest,
    pod_key,
)

# The order a restore creates them in: what a pod needs first, the owners that make pods last.
ORDER = ('ServiceAccount', 'ConfigMap', 'Secret', 'PersistentVolumeClaim', 'Service', 'Deployment', 'StatefulSet',
         'DaemonSet', 'ReplicaSet', 'Pod')
WORKLOADS = ('Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod')
OPTIONAL_KINDS = ('ServiceAccount', 'ConfigMap', 'Secret', 'Service')  # what include/exclude_kinds may leave out
# Made by the cluster in every namespace; a restore must not (and cannot) make them again.
SYSTEM_OBJECTS = {('ServiceAccount', 'default'), ('ConfigMap', 'kube-root-ca.crt'), ('Service', 'kubernetes')}
TOKEN_SECRET = 'kubernetes.io/service-account-token'
SERVER_ANNOTATIONS = ('deployment.kubernetes.io/revision',)


def object_key(kind, namespace, name):
    return '%s/%s' % (kind, pod_key(namespace, name))


def _controller(obj):
    for ref in (obj.get('metadata') or {}).get('ownerReferences') or []:
        if ref.get('controller'):
            return ref
    return None


def _template_spec(kind, obj):
    if kind == 'Pod':
        return obj.get('spec') or {}
    return (((obj.get('spec') or {}).get('template') or {}).get('spec')) or {}


def references(spec):
    """{kind: names} of the config maps, secrets and service account a pod spec needs (optional ones included)."""
    found = dict(ConfigMap=set(), Secret=set(), ServiceAccount=set())
    account = spec.get('serviceAccountName') or spec.get('serviceAccount')
    if account:
        found['ServiceAccount'].add(account)
    for secret in spec.get('imagePullSecrets') or []:
        if secret.get('name'):
            found['Secret'].add(secret['name'])
    for volume in spec.get('volumes') or []:
        if (volume.get('configMap') or {}).get('name'):
            found['ConfigMap'].add(volume['configMap']['name'])
        if (volume.get('secret') or {}).get('secretName'):
            found['Secret'].add(volume['secret']['secretName'])
        for source in (volume.get('projected') or {}).get('sources') or []:
            if (source.get('configMap') or {}).get('name'):
                found['ConfigMap'].add(source['configMap']['name'])
            if (source.get('secret') or {}).get('name'):
                found['Secret'].add(source['secret']['name'])
    for container in (spec.get('containers') or []) + (spec.get('initContainers') or []):
        for source in container.get('envFrom') or []:
            if (source.get('configMapRef') or {}).get('name'):
                found['ConfigMap'].add(source['configMapRef']['name'])
            if (source.get('secretRef') or {}).get('name'):
                found['Secret'].add(source['secretRef']['name'])
        for env in container.get('env') or []:
            value_from = env.get('valueFrom') or {}
            if (value_from.get('configMapKeyRef') or {}).get('name'):
                found['ConfigMap'].add(value_from['configMapKeyRef']['name'])
            if (value_from.get('secretKeyRef') or {}).get('name'):
                found['Secret'].add(value_from['secretKeyRef']['name'])
    return found


def _selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _is_system(kind, obj):
    if (kind, obj['metadata']['name']) in SYSTEM_OBJECTS:
        return True
    return kind == 'Secret' and obj.get('type') == TOKEN_SECRET


class Application:
    """What a selection in a namespace protects: ``objects`` {kind: {name: object}}, the pods' volume entries,
    ``members`` (owner key -> its pods) and ``problems`` (what cannot be protected, and why)."""

    def __init__(self, namespace):
        self.namespace = namespace
        self.objects = dict((kind, {}) for kind in ORDER)
        self.volumes = []
        self.members = {}
        self.problems = []
        self.pods = []  # the selected pods (those of the selected owners), for the hooks

    def add(self, kind, obj):
        self.objects[kind][obj['metadata']['name']] = obj

    def keys(self):
        return [object_key(kind, self.namespace, name) for kind in ORDER for name in sorted(self.objects[kind])]


def _owner(objects, namespace, pod, replica_sets):
    """(kind, name) of what recreates the pod, or (None, why it cannot be protected)."""
    ref = _controller(pod)
    if ref is None:
        return 'Pod', pod['metadata']['name']
    if ref.get('kind') == 'ReplicaSet':
        if ref['name'] not in replica_sets:
            replica_sets[ref['name']] = objects.get('ReplicaSet', namespace, ref['name'])
        replica_set = replica_sets[ref['name']]
        if replica_set is None:
            return None, 'its ReplicaSet %s is gone' % ref['name']
        owner = _controller(replica_set)
        if owner is None:
            return 'ReplicaSet', ref['name']
        if owner.get('kind') == 'Deployment':
            return 'Deployment', owner['name']
        return None, 'its ReplicaSet %s is owned by %s %s' % (ref['name'], owner.get('kind'), owner.get('name'))
    if ref.get('kind') in ('StatefulSet', 'DaemonSet'):
        return ref['kind'], ref['name']
    return None, 'it is owned by %s %s' % (ref.get('kind'), ref.get('name'))


def collect(objects, kube, namespace, label_selector=None, pods=None, kinds=OPTIONAL_KINDS):
    """The application a selection picks: whole namespace (no selector), a label selector, or a list of pods."""
    app = Application(namespace)
    everything = pods is None and not label_selector
    all_pods = [p for p in objects.list('Pod', namespace) if not p['metadata'].get('deletionTimestamp')]
    if pods is not None:
        missing = [name for name in pods if name not in set(p['metadata']['name'] for p in all_pods)]
        if missing:
            raise NotFoundError('pod(s) %s not found in namespace %s' % (', '.join(missing), namespace))
        chosen = set(pods)
    elif label_selector:
        chosen = set(p['metadata']['name'] for p in objects.list('Pod', namespace, label_selector=label_selector))
    else:
        chosen = set(p['metadata']['name'] for p in all_pods)
    replica_sets, owners, selected = {}, {}, set()
    for pod in all_pods:
        owner = _owner(objects, namespace, pod, replica_sets)
        owners[pod['metadata']['name']] = owner
        if pod['metadata']['name'] not in chosen:
            continue
        if owner[0] is None:
            app.problems.append('pod %s cannot be protected: %s' % (pod_key(namespace, pod['metadata']['name']),
                                                                    owner[1]))
        else:
            selected.add(owner)
    if everything:
        for kind in ('Deployment', 'StatefulSet', 'DaemonSet'):
            selected.update((kind, o['metadata']['name']) for o in objects.list(kind, namespace))
    pods_by_name = dict((p['metadata']['name'], p) for p in all_pods)
    for kind, name in sorted(selected):
        if kind == 'Pod':
            obj = pods_by_name.get(name)
        elif kind == 'ReplicaSet' and replica_sets.get(name):
            obj = replica_sets[name]
        else:
            obj = objects.get(kind, namespace, name)
        if obj is None:
            app.problems.append('%s %s vanished while it was being read' % (kind.lower(), pod_key(namespace, name)))
            continue
        app.add(kind, dict(obj, apiVersion=api_version(kind), kind=kind))
        app.members[object_key(kind, namespace, name)] = sorted(
            p['metadata']['name'] for p in all_pods if owners[p['metadata']['name']] == (kind, name))
    member_pods = [p for p in all_pods if owners[p['metadata']['name']] in selected]
    app.pods = member_pods
    _collect_volumes(app, kube, member_pods)
    _collect_config(app, objects, namespace, kinds, everything, member_pods)
    return app


def _collect_volumes(app, kube, pods):
    seen = set()
    for pod in pods:
        for entry in inspect.pod_volumes(kube, pod):
            if entry['problem']:
                app.problems.append('pod %s: %s' % (pod_key(app.namespace, pod['metadata']['name']), entry['problem']))
                continue
            if entry['pvc'] in seen:
                continue
            seen.add(entry['pvc'])
            app.volumes.append(entry)
            app.add('PersistentVolumeClaim', dict(entry['pvc_obj'], apiVersion='v1', kind='PersistentVolumeClaim'))


def _collect_config(app, objects, namespace, kinds, everything, pods):
    wanted = dict(ConfigMap=set(), Secret=set(), ServiceAccount=set())
    for kind in WORKLOADS:
        for obj in app.objects[kind].values():
            for ref_kind, names in references(_template_spec(kind, obj)).items():
                wanted[ref_kind].update(names)
    for kind in ('ServiceAccount', 'ConfigMap', 'Secret', 'Service'):
        if kind not in kinds:
            continue
        for obj in objects.list(kind, namespace):
            name = obj['metadata']['name']
            if _is_system(kind, obj):
                continue
            if kind == 'Service':
                picked = everything or any(_selects((obj.get('spec') or {}).get('selector'),
                                                    p['metadata'].get('labels') or {}) for p in pods)
            else:
                picked = everything or name in wanted[kind]
            if picked:
                app.add(kind, obj)


# -- restore ------------------------------------------------------------------------------------------------------
def restored_object(kind, manifest, namespace, checkpoint_id):
    """The object to create in ``namespace``: no server-set fields, new cluster IPs and node ports, our marks."""
    obj = clean_manifest(manifest, kind)
    obj['apiVersion'] = api_version(kind)
    meta = obj['metadata']
    original_namespace = meta.get('namespace')
    meta['namespace'] = namespace
    meta.setdefault('labels', {})[LABEL_CHECKPOINT] = checkpoint_id
    annotations = meta.setdefault('annotations', {})
    for key in SERVER_ANNOTATIONS:
        annotations.pop(key, None)
    annotations.update({ANN_ORIGINAL_NAME: meta['name'], ANN_ORIGINAL_NAMESPACE: original_namespace})
    spec = obj.get('spec') or {}
    if kind == 'Service':
        # Cluster IPs and node ports are the cluster's: taken ones are refused (422), so let it allocate new ones.
        if spec.get('clusterIP') != 'None':
            spec.pop('clusterIP', None)
            spec.pop('clusterIPs', None)
        spec.pop('healthCheckNodePort', None)
        for port in spec.get('ports') or []:
            port.pop('nodePort', None)
    elif kind == 'ServiceAccount':
        obj.pop('secrets', None)  # token secrets of the old namespace
    return obj


def ready(kind, obj):
    """(True, '') when a restored workload runs as wanted, else (False, what it is at)."""
    status, spec = obj.get('status') or {}, obj.get('spec') or {}
    if kind == 'Pod':
        phase = status.get('phase') or 'Pending'
        return phase == 'Running', phase
    if kind == 'PersistentVolumeClaim':
        phase = status.get('phase') or 'Pending'
        return phase == 'Bound', phase
    generation = (obj.get('metadata') or {}).get('generation')
    if generation and (status.get('observedGeneration') or 0) < generation:
        return False, 'not observed by its controller yet'
    if kind == 'DaemonSet':
        want, have = status.get('desiredNumberScheduled') or 0, status.get('numberReady') or 0
    else:
        want = spec.get('replicas', 1)
        have = status.get('availableReplicas' if kind == 'Deployment' else 'readyReplicas') or 0
    return have >= want, '%d of %d ready' % (have, want)

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pod inspection: which Cinder volumes a pod mounts (through PVCs and PVs) and whether it can be protected.

Needs only a ``KubeClient``-like object (dict in, dict out, ``None`` for 404): no cloud connection, no bank.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.manifests import (
    ANN_ORIGINAL_NAME,
    ANN_ORIGINAL_NAMESPACE,
    ANN_ORIGINAL_VOLUME,
    CSI_DRIVER,
    cinder_source,
    pod_key,
)

VOLUME_KEYS = ('volume', 'pvc', 'pvc_phase', 'pv', 'source', 'cinder_volume_id', 'problem')


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


def _claim_entry(kube, namespace, volume, claim):
    entry = dict(volume=volume['name'], pvc=claim, pv=None, source=None, cinder_volume_id=None, problem=None,
                 pvc_phase=None)
    pvc = kube.get_pvc(namespace, claim)
    if pvc is None:
        entry['problem'] = 'persistentvolumeclaim %s/%s does not exist' % (namespace, claim)
        return entry
    entry['pvc_obj'] = pvc
    entry['pvc_phase'] = (pvc.get('status') or {}).get('phase')
    pv_name = (pvc.get('spec') or {}).get('volumeName')
    if entry['pvc_phase'] != 'Bound' or not pv_name:
        entry['problem'] = ('persistentvolumeclaim %s/%s is %s, not Bound to a persistent volume'
                            % (namespace, claim, entry['pvc_phase']))
        return entry
    pv = kube.get_pv(pv_name)
    entry['pv'] = pv_name
    if pv is None:
        entry['problem'] = 'persistentvolume %s (of claim %s/%s) does not exist' % (pv_name, namespace, claim)
        return entry
    entry['pv_obj'] = pv
    entry['cinder_volume_id'], entry['source'] = cinder_source(pv)
    if not entry['cinder_volume_id']:
        entry['problem'] = ('persistentvolume %s is not a Cinder volume (source %s); only in-tree cinder and '
                            'CSI %s volumes can be protected' % (pv_name, entry['source'], CSI_DRIVER))
    return entry


def pod_volumes(kube, pod):
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
        if claim:
            entries.append(_claim_entry(kube, namespace, volume, claim))
    return entries


def volume_view(entry):
    return dict((k, entry.get(k)) for k in VOLUME_KEYS)


def protectables(kube, namespace=None, name=None):
    """Pods (all namespaces, one namespace, or one pod) with their Cinder volumes and whether they can be protected."""
    if name:
        pod = kube.get_pod(namespace or 'default', name)
        if pod is None:
            raise NotFoundError('pod %s not found' % pod_key(namespace or 'default', name))
        pods = [pod]
    else:
        pods = kube.list_pods(namespace)
    found = []
    for pod in pods:
        volumes = [volume_view(v) for v in pod_volumes(kube, pod)]
        problems = [v['problem'] for v in volumes if v['problem']]
        found.append(dict(pod_view(pod), volumes=volumes, protectable=not problems, problems=problems))
    return found


def live_resource_map(kube, pod):
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
        pvc = kube.get_pvc(namespace, claim) or {}
        original = ((pvc.get('metadata') or {}).get('annotations') or {}).get(ANN_ORIGINAL_NAME)
        if original:
            resource_map['persistentvolumeclaims'][original] = pod_key(namespace, claim)
        pv_name = (pvc.get('spec') or {}).get('volumeName')
        pv = kube.get_pv(pv_name) if pv_name else None
        if pv:
            pv_annotations = (pv.get('metadata') or {}).get('annotations') or {}
            if pv_annotations.get(ANN_ORIGINAL_NAME):
                resource_map['persistentvolumes'][pv_annotations[ANN_ORIGINAL_NAME]] = pv_name
            if pv_annotations.get(ANN_ORIGINAL_VOLUME):
                resource_map['volumes'][pv_annotations[ANN_ORIGINAL_VOLUME]] = cinder_source(pv)[0]
    return resource_map

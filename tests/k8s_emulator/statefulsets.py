"""StatefulSet controller (kube-controller-manager): ordered pods ``<set>-<ordinal>``, claims from volumeClaimTemplates.

Real behaviour copied:
- OrderedReady (default): pods are created one at a time in ordinal order; pod N+1 only once pods 0..N are Running and
  Ready. Parallel: all at once. Scale down removes the highest ordinal first (OrderedReady: one at a time, only while the
  remaining pods are healthy).
- For each volumeClaimTemplate the claim ``<template>-<set>-<ordinal>`` is created *only if it does not exist*: an
  existing claim of that name (e.g. pre-created by a restore, pre-bound through ``volumeName``) is used as is. Claims get
  the template's labels plus the selector's matchLabels. persistentVolumeClaimRetentionPolicy defaults to Retain/Retain
  (claims outlive pods and the set); whenDeleted: Delete gives the claims an ownerReference to the set (deleted by the
  garbage collector with it). whenScaled: Delete is not emulated.
- Pods get ``spec.hostname`` = pod name, ``spec.subdomain`` = serviceName, labels
  ``statefulset.kubernetes.io/pod-name``, ``apps.kubernetes.io/pod-index``, ``controller-revision-hash``, a controller
  ownerReference, and a volume per template (replacing a template volume of the same name).
- RollingUpdate: after a template change, pods of the old revision are deleted from the highest ordinal down, one at a
  time, once all pods are Running and Ready; they come back with the new template. OnDelete: nothing happens.
  (ControllerRevision objects are not emulated; the hash is the emulator's template hash.)
- Failed pods are deleted and recreated.
"""

import copy
import re

from . import workloads as wl

POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name'
POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index'
REVISION_LABEL = 'controller-revision-hash'


def _ordinal(set_name, pod):
    match = re.fullmatch(re.escape(set_name) + r'-(\d+)', pod['metadata']['name'])
    return int(match.group(1)) if match else None


def _claims(ctl, sts, ordinal):
    """Make sure every claim of one pod exists. Returns '' or why the pod cannot be created yet."""
    meta, spec = sts['metadata'], sts['spec']
    pod_name = f"{meta['name']}-{ordinal}"
    for template in spec.get('volumeClaimTemplates') or []:
        tmeta = template.get('metadata') or {}
        claim_name = f"{tmeta['name']}-{pod_name}"
        existing = ctl.store.get_raw('persistentvolumeclaims', meta['namespace'], claim_name)
        if existing is not None:
            if existing['metadata'].get('deletionTimestamp'):
                return f'pvc {claim_name} is being deleted'
            continue  # Real: an existing claim is used unchanged.
        labels = dict(tmeta.get('labels') or {}, **((spec.get('selector') or {}).get('matchLabels') or {}))
        body = {'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim', 'metadata': {'name': claim_name, 'labels': labels},
                'spec': copy.deepcopy(template.get('spec') or {})}
        if tmeta.get('annotations'):
            body['metadata']['annotations'] = dict(tmeta['annotations'])
        if (spec.get('persistentVolumeClaimRetentionPolicy') or {}).get('whenDeleted') == 'Delete':
            body['metadata']['ownerReferences'] = [{'apiVersion': 'apps/v1', 'kind': 'StatefulSet', 'name': meta['name'], 'uid': meta['uid']}]
        created, error = ctl.create('persistentvolumeclaims', sts, body,
                                    f"create Claim {claim_name} for Pod {pod_name} in StatefulSet {meta['name']} failed error: ")
        if created is None:
            return error
        ctl.emu.record_event(sts, 'Normal', 'SuccessfulCreate', f"create Claim {claim_name} Pod {pod_name} in StatefulSet {meta['name']} success",
                             component='statefulset-controller')
    return ''


def _create_pod(ctl, sts, ordinal, revision):
    meta, spec = sts['metadata'], sts['spec']
    name = f"{meta['name']}-{ordinal}"
    if _claims(ctl, sts, ordinal):
        return False
    body = ctl.new_pod(sts, 'StatefulSet', {POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal), REVISION_LABEL: revision}, name=name)
    pod_spec = body['spec']
    pod_spec['hostname'] = name
    if spec.get('serviceName'):
        pod_spec['subdomain'] = spec['serviceName']
    claim_volumes = [{'name': t['metadata']['name'], 'persistentVolumeClaim': {'claimName': f"{t['metadata']['name']}-{name}"}}
                     for t in spec.get('volumeClaimTemplates') or []]
    names = {v['name'] for v in claim_volumes}
    pod_spec['volumes'] = claim_volumes + [v for v in pod_spec.get('volumes') or [] if v.get('name') not in names]
    if not pod_spec['volumes']:
        del pod_spec['volumes']
    pod, _ = ctl.create('pods', sts, body, f"create Pod {name} in StatefulSet {meta['name']} failed error: ")
    if pod is None:
        return False
    ctl.emu.record_event(sts, 'Normal', 'SuccessfulCreate', f"create Pod {name} in StatefulSet {meta['name']} successful",
                         component='statefulset-controller')
    return True


def _delete_pod(ctl, sts, pod):
    if ctl.delete('pods', pod):
        ctl.emu.record_event(sts, 'Normal', 'SuccessfulDelete', f"delete Pod {pod['metadata']['name']} in StatefulSet "
                             f"{sts['metadata']['name']} successful", component='statefulset-controller')
        return True
    return False


def _manage(ctl, sts, by_ordinal, revision):
    """Create/replace/scale down/roll; returns changed. Stops where OrderedReady has to wait."""
    spec = sts['spec']
    ordered = spec.get('podManagementPolicy', 'OrderedReady') == 'OrderedReady'
    start = (spec.get('ordinals') or {}).get('start', 0)
    wanted = range(start, start + spec.get('replicas', 1))
    changed = False
    for ordinal in wanted:
        pod = by_ordinal.get(ordinal)
        if pod is not None and pod['status'].get('phase') in ('Failed', 'Succeeded') and not pod['metadata'].get('deletionTimestamp'):
            if ctl.may_replace_failed(sts, [pod]):
                changed = _delete_pod(ctl, sts, pod) or changed
            pod = by_ordinal[ordinal] = {'metadata': {'deletionTimestamp': 'now'}, 'status': {}}
        if pod is None:
            changed = _create_pod(ctl, sts, ordinal, revision) or changed
            if ordered:
                return changed  # Real: wait for this pod to be Running and Ready
            continue
        if ordered and not wl.pod_ready(pod):
            return changed  # Real: "waiting for Pod to be Running and Ready"
    condemned = sorted((o for o in by_ordinal if o not in wanted), reverse=True)
    if condemned:
        if any(p['metadata'].get('deletionTimestamp') for p in by_ordinal.values()) and ordered:
            return changed  # Real: one termination at a time
        for ordinal in condemned if not ordered else condemned[:1]:
            changed = _delete_pod(ctl, sts, by_ordinal[ordinal]) or changed
        return changed
    if (spec.get('updateStrategy') or {}).get('type') == 'RollingUpdate':
        partition = ((spec.get('updateStrategy') or {}).get('rollingUpdate') or {}).get('partition', 0)
        if all(wl.pod_ready(p) for p in by_ordinal.values()):
            for ordinal in sorted(by_ordinal, reverse=True):
                pod = by_ordinal[ordinal]
                if ordinal >= partition and (pod['metadata'].get('labels') or {}).get(REVISION_LABEL) != revision:
                    return _delete_pod(ctl, sts, pod) or changed
    return changed


def sync(ctl, sts):
    """One pass for one StatefulSet (``ctl`` is the workloads.Workloads helper)."""
    meta, spec = sts['metadata'], sts['spec']
    revision = f"{meta['name']}-{wl.template_hash(spec['template'])}"
    pods = ctl.claim(sts, 'pods', 'StatefulSet', lambda p: _ordinal(meta['name'], p) is not None)
    changed = False
    if not meta.get('deletionTimestamp'):
        changed = _manage(ctl, sts, {_ordinal(meta['name'], p): p for p in pods}, revision)
        pods = ctl.claim(sts, 'pods', 'StatefulSet', lambda p: _ordinal(meta['name'], p) is not None)
    live = [p for p in pods if not p['metadata'].get('deletionTimestamp') and p['status'].get('phase') not in ('Failed', 'Succeeded')]
    status = copy.deepcopy(sts.get('status') or {})
    updated = sum(1 for p in live if (p['metadata'].get('labels') or {}).get(REVISION_LABEL) == revision)
    if updated == len(live) or not status.get('currentRevision'):
        status['currentRevision'] = revision
    status.update(observedGeneration=meta.get('generation', 1), replicas=len(live), readyReplicas=sum(1 for p in live if wl.pod_ready(p)),
                  availableReplicas=sum(1 for p in live if wl.pod_available(p, spec.get('minReadySeconds', 0))),
                  currentReplicas=sum(1 for p in live if (p['metadata'].get('labels') or {}).get(REVISION_LABEL) == status['currentRevision']),
                  updatedReplicas=updated, updateRevision=revision, collisionCount=status.get('collisionCount', 0))
    return ctl.put_status('statefulsets', sts, status) or changed


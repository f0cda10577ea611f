"""Workload controllers of kube-controller-manager: Deployment, ReplicaSet and DaemonSet (StatefulSet: statefulsets.py).

Pods are created through the registry (the same admission as API-created pods: ServiceAccount, defaults, ...) and then
follow the normal pod lifecycle (scheduler, attach, kubelet). Controllers write their own objects' status directly.
"""

import copy
import datetime
import json
import time

from . import errors, garbage, statefulsets, util
from .discovery import BY_NAME
from .registry import TERMINAL_POD_PHASES
from .selection import selector_matches

MANAGER = 'kube-controller-manager'
ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'  # Real: k8s.io/apimachinery/pkg/util/rand alphanums
ANN_REVISION = 'deployment.kubernetes.io/revision'
ANN_DESIRED = 'deployment.kubernetes.io/desired-replicas'
ANN_MAX = 'deployment.kubernetes.io/max-replicas'
HASH_LABEL = 'pod-template-hash'
REVISION_LABEL = 'controller-revision-hash'
FAILED_POD_BACKOFF = 10.0  # seconds between replacements of Failed pods (see _may_replace_failed)


def template_hash(template, collision_count=None):
    """Real ComputeHash: fnv32a of the pod template (+ collisionCount), printed in decimal and passed through
    rand.SafeEncodeString (each digit mapped into the alphabet): 9-10 characters from ``bcdf456789``."""
    value = 0x811c9dc5
    data = json.dumps(template, sort_keys=True).encode() + (str(collision_count).encode() if collision_count else b'')
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xffffffff
    return ''.join(ALPHABET[ord(c) % len(ALPHABET)] for c in str(value))


def controller_ref(obj):
    """The ownerReference with ``controller: true``, or None."""
    return next((r for r in obj['metadata'].get('ownerReferences') or [] if r.get('controller')), None)


def owner_reference(owner, kind):
    """Real: controllers set apiVersion/kind/name/uid, controller: true and blockOwnerDeletion: true."""
    return {'apiVersion': 'apps/v1', 'kind': kind, 'name': owner['metadata']['name'], 'uid': owner['metadata']['uid'],
            'controller': True, 'blockOwnerDeletion': True}


def pod_active(pod):
    """Real controller.IsPodActive: not terminal and not being deleted."""
    return pod['status'].get('phase') not in TERMINAL_POD_PHASES and not pod['metadata'].get('deletionTimestamp')


def pod_ready(pod):
    """Real podutil.IsPodReady: the kubelet's Ready condition is True (set with phase Running)."""
    return (pod['status'].get('phase') == 'Running' and not pod['metadata'].get('deletionTimestamp')
            and any(c.get('type') == 'Ready' and c.get('status') == 'True' for c in pod['status'].get('conditions') or []))


def pod_available(pod, min_ready_seconds=0):
    """Real podutil.IsPodAvailable: Ready for at least minReadySeconds."""
    if not pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    ready = next(c for c in pod['status']['conditions'] if c.get('type') == 'Ready')
    since = util.parse_time(ready.get('lastTransitionTime'))
    return since is None or (datetime.datetime.now(datetime.timezone.utc) - since).total_seconds() >= min_ready_seconds


def set_condition(status, ctype, value, reason, message, update_time=False):
    """Replace a condition only when status/reason/message change (timestamps kept otherwise)."""
    conditions = status.setdefault('conditions', [])
    current = next((c for c in conditions if c['type'] == ctype), None)
    if current and (current.get('status'), current.get('reason'), current.get('message')) == (value, reason, message):
        return
    stamp = util.now()
    new = {'type': ctype, 'status': value}
    if update_time:
        new['lastUpdateTime'] = stamp
    new.update(lastTransitionTime=current['lastTransitionTime'] if current and current['status'] == value else stamp,
               reason=reason, message=message)
    if current:
        conditions[conditions.index(current)] = new
    else:
        conditions.append(new)


def drop_condition(status, ctype):
    status['conditions'] = [c for c in status.get('conditions') or [] if c['type'] != ctype]
    if not status['conditions']:
        del status['conditions']


def _percent(value, total, round_up):
    if isinstance(value, str) and value.endswith('%'):
        scaled = int(value[:-1]) * total
        return -(-scaled // 100) if round_up else scaled // 100
    return int(value or 0)


class Workloads:
    """Runs inside Controllers.reconcile (under the store lock)."""

    def __init__(self, emulator):
        self.emu = emulator
        self.store = emulator.store
        self.failed_replaced_at = {}   # owner uid -> monotonic time Failed pods were last replaced
        self.services_seen = {}        # (namespace, name) -> uid, for the endpoints controller

    def reset(self):
        self.failed_replaced_at.clear()
        self.services_seen.clear()

    def sync(self):
        """One pass of every workload controller, the endpoints controller and the garbage collector. Returns changed."""
        changed = garbage.publish_root_ca(self)
        for resource, sync in (('deployments', self._sync_deployment), ('replicasets', self._sync_replicaset),
                               ('statefulsets', lambda obj: statefulsets.sync(self, obj)), ('daemonsets', self._sync_daemonset)):
            for raw in self.store.list_raw(resource):
                changed = sync(copy.deepcopy(raw)) or changed
        changed = garbage.sync_endpoints(self) or changed
        return garbage.collect(self) or changed

    # ------------------------------------------------------------ shared helpers
    def put_status(self, resource, obj, status):
        """Write a controller-computed status if it changed (controllers use the /status subresource)."""
        if status == obj.get('status'):
            return False
        current = self.store.get_raw(resource, obj['metadata']['namespace'], obj['metadata']['name'])
        if current is None:
            return False
        updated = copy.deepcopy(current)
        updated['status'] = status
        self.store.put(resource, updated)
        obj['status'] = status
        return True

    def claim(self, owner, resource, kind, matches=None):
        """Real ControllerRefManager.Claim*: owned objects, plus orphans matching the selector adopted (not while the owner is
        being deleted); owned objects that no longer match the selector are released."""
        meta, selector = owner['metadata'], owner['spec'].get('selector') or {}
        owned = []
        for raw in self.store.list_raw(resource, meta['namespace']):
            ref = controller_ref(raw)
            fits = selector_matches(selector, raw['metadata'].get('labels')) and (matches is None or matches(raw))
            if ref and ref.get('uid') == meta['uid']:
                if fits or meta.get('deletionTimestamp'):
                    owned.append(raw)
                elif not raw['metadata'].get('deletionTimestamp'):
                    self._set_refs(resource, raw, [r for r in raw['metadata']['ownerReferences'] if r.get('uid') != meta['uid']])
            elif ref is None and fits and not meta.get('deletionTimestamp') and not raw['metadata'].get('deletionTimestamp'):
                refs = (raw['metadata'].get('ownerReferences') or []) + [owner_reference(owner, kind)]
                owned.append(self._set_refs(resource, raw, refs))
        return owned

    def _set_refs(self, resource, raw, refs):
        obj = copy.deepcopy(raw)
        obj['metadata']['ownerReferences'] = refs
        if not refs:
            del obj['metadata']['ownerReferences']
        return self.store.put(resource, obj)

    def create(self, resource, owner, body, failure_prefix=''):
        """Create through the registry (admission included). On refusal: FailedCreate event, returns (None, message)."""
        try:
            return self.emu.registry.create(BY_NAME[resource], owner['metadata']['namespace'], body, {}, MANAGER)[1], ''
        except errors.ApiError as exc:
            message = f'{failure_prefix}{exc.message}'
            self.emu.record_event(owner, 'Warning', 'FailedCreate', message, component=self._component(owner))
            return None, message

    def delete(self, resource, obj):
        try:
            self.emu.registry.delete(BY_NAME[resource], obj['metadata'].get('namespace', ''), obj['metadata']['name'], {})
            return True
        except errors.ApiError:
            return False

    @staticmethod
    def _component(owner):
        return {'Deployment': 'deployment-controller', 'ReplicaSet': 'replicaset-controller', 'StatefulSet': 'statefulset-controller',
                'DaemonSet': 'daemonset-controller'}.get(owner.get('kind'), MANAGER)

    def new_pod(self, owner, kind, extra_labels=None, name=None):
        """A pod from the owner's template: template labels/annotations + ``extra_labels``, controller ownerReference."""
        template = copy.deepcopy(owner['spec']['template'])
        meta = template.get('metadata') or {}
        pod_meta = {'labels': dict(meta.get('labels') or {}, **(extra_labels or {})), 'ownerReferences': [owner_reference(owner, kind)]}
        if meta.get('annotations'):
            pod_meta['annotations'] = meta['annotations']
        if name:
            pod_meta['name'] = name
        else:
            pod_meta['generateName'] = owner['metadata']['name'] + '-'  # Real: <owner>-<5 random characters>
        return {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': pod_meta, 'spec': template.get('spec') or {}}

    def may_replace_failed(self, owner, pods):
        """Real: Failed pods are not active, so they are replaced (DaemonSets back off, failedPodsBackoff). The emulator
        backs off for every kind: a real kubelet never fails a restartPolicy Always pod (it crash-loops), only the
        emulator's fail annotation does, and replacing at every pass would create pods without end."""
        if not any(p['status'].get('phase') == 'Failed' for p in pods):
            return True
        last = self.failed_replaced_at.get(owner['metadata']['uid'])
        if last is not None and time.monotonic() - last < FAILED_POD_BACKOFF:
            return False
        self.failed_replaced_at[owner['metadata']['uid']] = time.monotonic()
        return True

    # ------------------------------------------------------------ ReplicaSet
    def _sync_replicaset(self, rs):
        meta, spec = rs['metadata'], rs['spec']
        pods = self.claim(rs, 'pods', 'ReplicaSet')
        active = [p for p in pods if pod_active(p)]
        status = copy.deepcopy(rs.get('status') or {})
        changed = False
        if not meta.get('deletionTimestamp'):  # Real: a ReplicaSet being deleted does not manage replicas
            diff = spec.get('replicas', 1) - len(active)
            if diff > 0 and self.may_replace_failed(rs, pods):
                for _ in range(diff):
                    pod, error = self.create('pods', rs, self.new_pod(rs, 'ReplicaSet'))
                    if pod is None:
                        set_condition(status, 'ReplicaFailure', 'True', 'FailedCreate', error)
                        break
                    drop_condition(status, 'ReplicaFailure')
                    self.emu.record_event(rs, 'Normal', 'SuccessfulCreate', f"Created pod: {pod['metadata']['name']}",
                                          component='replicaset-controller')
                    changed = True
            elif diff < 0:
                # Real getPodsToDelete ranking: not-ready before ready, then the newest first.
                victims = sorted(active, key=lambda p: (p['metadata']['creationTimestamp'], p['metadata']['name']), reverse=True)
                victims = sorted(victims, key=pod_ready)[:-diff]
                for pod in victims:
                    if self.delete('pods', pod):
                        self.emu.record_event(rs, 'Normal', 'SuccessfulDelete', f"Deleted pod: {pod['metadata']['name']}",
                                              component='replicaset-controller')
                        changed = True
        pods = [p for p in self.claim(rs, 'pods', 'ReplicaSet') if pod_active(p)]
        labels = ((spec.get('template') or {}).get('metadata') or {}).get('labels') or {}
        min_ready = spec.get('minReadySeconds', 0)
        status.update(replicas=len(pods), observedGeneration=meta.get('generation', 1),
                      fullyLabeledReplicas=sum(1 for p in pods if all(p['metadata'].get('labels', {}).get(k) == v for k, v in labels.items())),
                      readyReplicas=sum(1 for p in pods if pod_ready(p)),
                      availableReplicas=sum(1 for p in pods if pod_available(p, min_ready)))
        return self.put_status('replicasets', rs, status) or changed

    # ------------------------------------------------------------ Deployment
    def _sync_deployment(self, deploy):
        meta, spec = deploy['metadata'], deploy['spec']
        name, ns = meta['name'], meta['namespace']
        owned = self.claim(deploy, 'replicasets', 'Deployment')
        if meta.get('deletionTimestamp'):
            return False  # Real: a Deployment being deleted only gets its status synced
        status = copy.deepcopy(deploy.get('status') or {})
        template = copy.deepcopy(spec['template'])
        pod_hash = template_hash(template, status.get('collisionCount'))
        new_name = f'{name}-{pod_hash}'
        new_rs = next((rs for rs in owned if rs['metadata']['name'] == new_name), None)
        revisions = [int((rs['metadata'].get('annotations') or {}).get(ANN_REVISION, 0)) for rs in owned if rs is not new_rs]
        max_revision = max(revisions, default=0)
        replicas = spec.get('replicas', 1)
        rolling = (spec.get('strategy') or {}).get('rollingUpdate') or {}
        surge = _percent(rolling.get('maxSurge', 0), replicas, True)
        changed = False
        if new_rs is None:
            if self.store.get_raw('replicasets', ns, new_name) is not None:
                status['collisionCount'] = status.get('collisionCount', 0) + 1  # Real: a name clash bumps collisionCount
                return self.put_status('deployments', deploy, status)
            labels = dict((template.get('metadata') or {}).get('labels') or {}, **{HASH_LABEL: pod_hash})
            template.setdefault('metadata', {})['labels'] = labels
            selector = copy.deepcopy(spec['selector'])
            selector.setdefault('matchLabels', {})[HASH_LABEL] = pod_hash
            annotations = {k: v for k, v in (meta.get('annotations') or {}).items()
                           if k not in (ANN_REVISION, 'kubectl.kubernetes.io/last-applied-configuration')}
            annotations.update({ANN_REVISION: str(max_revision + 1), ANN_DESIRED: str(replicas), ANN_MAX: str(replicas + surge)})
            body = {'apiVersion': 'apps/v1', 'kind': 'ReplicaSet',
                    'metadata': {'name': new_name, 'labels': labels, 'annotations': annotations,
                                 'ownerReferences': [owner_reference(deploy, 'Deployment')]},
                    'spec': {'replicas': replicas, 'minReadySeconds': spec.get('minReadySeconds', 0), 'selector': selector,
                             'template': template}}
            new_rs, _ = self.create('replicasets', deploy, body)
            if new_rs is None:
                return False
            self.emu.record_event(deploy, 'Normal', 'ScalingReplicaSet', f'Scaled up replica set {new_name} from 0 to {replicas}',
                                  component='deployment-controller')
            changed = True
        elif new_rs['spec'].get('replicas') != replicas or (new_rs['metadata'].get('annotations') or {}).get(ANN_DESIRED) != str(replicas):
            old_count = new_rs['spec'].get('replicas')
            new_rs = copy.deepcopy(new_rs)
            new_rs['spec']['replicas'] = replicas
            new_rs['metadata'].setdefault('annotations', {}).update({ANN_DESIRED: str(replicas), ANN_MAX: str(replicas + surge)})
            new_rs = self.store.put('replicasets', new_rs)
            verb = 'up' if replicas > old_count else 'down'
            self.emu.record_event(deploy, 'Normal', 'ScalingReplicaSet', f'Scaled {verb} replica set {new_name} from {old_count} to {replicas}',
                                  component='deployment-controller')
            changed = True
        revision = (new_rs['metadata'].get('annotations') or {}).get(ANN_REVISION, '1')
        if int(revision) <= max_revision:  # Real: going back to an older template makes that ReplicaSet the newest revision
            new_rs = copy.deepcopy(new_rs)
            revision = new_rs['metadata']['annotations'][ANN_REVISION] = str(max_revision + 1)
            new_rs = self.store.put('replicasets', new_rs)
            changed = True
        # Emulator simplification: old ReplicaSets go to 0 at once (a Recreate-like rollout; real RollingUpdate steps by
        # maxSurge/maxUnavailable).
        old = [rs for rs in owned if rs['metadata']['name'] != new_name]
        for rs in old:
            if rs['spec'].get('replicas'):
                count, rs = rs['spec']['replicas'], copy.deepcopy(rs)
                rs['spec']['replicas'] = 0
                self.store.put('replicasets', rs)
                self.emu.record_event(deploy, 'Normal', 'ScalingReplicaSet',
                                      f"Scaled down replica set {rs['metadata']['name']} from {count} to 0", component='deployment-controller')
                changed = True
        # Real cleanupDeployment: old, empty ReplicaSets beyond revisionHistoryLimit are deleted, oldest revision first.
        empty = sorted((rs for rs in old if not rs['spec'].get('replicas') and not (rs.get('status') or {}).get('replicas')),
                       key=lambda rs: int((rs['metadata'].get('annotations') or {}).get(ANN_REVISION, 0)))
        for rs in empty[:max(0, len(empty) - spec.get('revisionHistoryLimit', 10))]:
            changed = self.delete('replicasets', rs) or changed
        if (meta.get('annotations') or {}).get(ANN_REVISION) != revision:
            current = copy.deepcopy(self.store.get_raw('deployments', ns, name))
            current['metadata'].setdefault('annotations', {})[ANN_REVISION] = revision  # Real: written through /status
            deploy = self.store.put('deployments', current)
            changed = True
        return self._deployment_status(deploy, new_name) or changed

    def _deployment_status(self, deploy, new_name):
        meta, spec = deploy['metadata'], deploy['spec']
        sets = [rs for rs in self.store.list_raw('replicasets', meta['namespace']) if (controller_ref(rs) or {}).get('uid') == meta['uid']]
        new_rs = next((rs for rs in sets if rs['metadata']['name'] == new_name), None)
        replicas = spec.get('replicas', 1)
        total = lambda key: sum((rs.get('status') or {}).get(key, 0) for rs in sets)  # noqa: E731
        available = total('availableReplicas')
        status = copy.deepcopy(deploy.get('status') or {})
        status.update(observedGeneration=meta.get('generation', 1), replicas=total('replicas'), readyReplicas=total('readyReplicas'),
                      availableReplicas=available, updatedReplicas=((new_rs or {}).get('status') or {}).get('replicas', 0))
        status.pop('unavailableReplicas', None)
        if replicas - available > 0:
            status['unavailableReplicas'] = replicas - available
        rolling = (spec.get('strategy') or {}).get('rollingUpdate') or {}
        max_unavailable = _percent(rolling.get('maxUnavailable', 0), replicas, False)
        if not max_unavailable and not _percent(rolling.get('maxSurge', 0), replicas, True) and rolling:
            max_unavailable = 1  # Real: both zero -> maxUnavailable 1
        if available >= replicas - max_unavailable:
            set_condition(status, 'Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', True)
        else:
            set_condition(status, 'Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', True)
        complete = status['updatedReplicas'] == replicas == status['replicas'] and available >= replicas
        if new_rs is not None and complete:
            set_condition(status, 'Progressing', 'True', 'NewReplicaSetAvailable', f'ReplicaSet "{new_name}" has successfully progressed.', True)
        elif new_rs is not None:
            set_condition(status, 'Progressing', 'True', 'ReplicaSetUpdated', f'ReplicaSet "{new_name}" is progressing.', True)
        failure = next((c for c in ((new_rs or {}).get('status') or {}).get('conditions') or [] if c['type'] == 'ReplicaFailure'), None)
        if failure:  # Real: the new ReplicaSet's ReplicaFailure condition is copied to the Deployment
            set_condition(status, 'ReplicaFailure', 'True', failure.get('reason'), failure.get('message'), True)
        elif any(c['type'] == 'ReplicaFailure' for c in status.get('conditions') or []):
            drop_condition(status, 'ReplicaFailure')
        return self.put_status('deployments', deploy, status)

    # ------------------------------------------------------------ DaemonSet
    def _sync_daemonset(self, ds):
        meta, spec = ds['metadata'], ds['spec']
        node = self.emu.config['node_name']
        revision = template_hash(spec['template'])
        pods = self.claim(ds, 'pods', 'DaemonSet')
        active = [p for p in pods if pod_active(p)]
        changed = False
        if not meta.get('deletionTimestamp'):
            for pod in pods:
                # Real: failed daemon pods are deleted (and recreated); with RollingUpdate, pods of an old template too.
                outdated = (pod['metadata'].get('labels') or {}).get(REVISION_LABEL) != revision and \
                    (spec.get('updateStrategy') or {}).get('type') == 'RollingUpdate'
                if (pod['status'].get('phase') == 'Failed' or (outdated and pod_active(pod))) and self.may_replace_failed(ds, [pod]):
                    changed = self.delete('pods', pod) or changed
            for extra in active[1:]:  # Real: more than one daemon pod on a node -> the extra ones are deleted
                changed = self.delete('pods', extra) or changed
            if not active and not any(p['metadata'].get('deletionTimestamp') for p in pods):
                body = self.new_pod(ds, 'DaemonSet', {REVISION_LABEL: revision, 'pod-template-generation': str(meta.get('generation', 1))})
                # Real: daemon pods target their node through node affinity and tolerate node conditions.
                body['spec']['affinity'] = {'nodeAffinity': {'requiredDuringSchedulingIgnoredDuringExecution': {'nodeSelectorTerms': [
                    {'matchFields': [{'key': 'metadata.name', 'operator': 'In', 'values': [node]}]}]}}}
                tolerations = body['spec'].setdefault('tolerations', [])
                for key, effect in (('node.kubernetes.io/not-ready', 'NoExecute'), ('node.kubernetes.io/unreachable', 'NoExecute'),
                                    ('node.kubernetes.io/disk-pressure', 'NoSchedule'), ('node.kubernetes.io/memory-pressure', 'NoSchedule'),
                                    ('node.kubernetes.io/pid-pressure', 'NoSchedule'), ('node.kubernetes.io/unschedulable', 'NoSchedule')):
                    tolerations.append({'key': key, 'operator': 'Exists', 'effect': effect})
                pod, _ = self.create('pods', ds, body)
                if pod is not None:
                    self.emu.record_event(ds, 'Normal', 'SuccessfulCreate', f"Created pod: {pod['metadata']['name']}",
                                          component='daemonset-controller')
                    changed = True
        pods = [p for p in self.claim(ds, 'pods', 'DaemonSet') if pod_active(p)]
        ready = sum(1 for p in pods if pod_ready(p))
        available = sum(1 for p in pods if pod_available(p, spec.get('minReadySeconds', 0)))
        status = dict(ds.get('status') or {}, desiredNumberScheduled=1, currentNumberScheduled=min(len(pods), 1), numberMisscheduled=0,
                      numberReady=ready, numberAvailable=available, observedGeneration=meta.get('generation', 1),
                      updatedNumberScheduled=sum(1 for p in pods if (p['metadata'].get('labels') or {}).get(REVISION_LABEL) == revision))
        status.pop('numberUnavailable', None)
        if 1 - available > 0:
            status['numberUnavailable'] = 1 - available
        return self.put_status('daemonsets', ds, status) or changed

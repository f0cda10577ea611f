"""Defaulting and validation of apps/v1 Deployments, ReplicaSets, StatefulSets and DaemonSets (their registry strategies)."""

import copy

from . import strategies
from .discovery import BY_NAME
from .errors import field_error
from .selection import selector_matches

RESOURCES = ('deployments', 'replicasets', 'statefulsets', 'daemonsets')
STS_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
                 "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
STS_MUTABLE = ('replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds')


def _go_map(labels):
    """Go's %#v of a map[string]string (keys sorted), as printed in Invalid values."""
    return 'map[string]string{' + ', '.join(f'"{k}":"{v}"' for k, v in sorted((labels or {}).items())) + '}'


def _go_selector(selector):
    """Go's %#v of a metav1.LabelSelector (matchExpressions abbreviated)."""
    selector = selector or {}
    labels = _go_map(selector['matchLabels']) if selector.get('matchLabels') else 'map[string]string(nil)'
    exprs = '{...}' if selector.get('matchExpressions') else '(nil)'
    return f'v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:[]v1.LabelSelectorRequirement{exprs}}}'


# ---------------------------------------------------------------- defaulting (create and update)

def default_pod_template(template):
    """Real: SetDefaults_PodSpec applies to pod templates too (restartPolicy, dnsPolicy, container defaults, ...)."""
    if not isinstance(template, dict):
        return
    template.setdefault('metadata', {})
    pod = {'metadata': template['metadata'], 'spec': template.setdefault('spec', {})}
    strategies.apply_defaults(BY_NAME['pods'], pod)


def apply_defaults(res, obj):
    """SetDefaults_Deployment / _ReplicaSet / _StatefulSet / _DaemonSet (apps/v1)."""
    spec = obj.setdefault('spec', {})
    default_pod_template(spec.get('template'))
    if res.name != 'daemonsets':
        spec.setdefault('replicas', 1)
    if res.name in ('deployments', 'statefulsets', 'daemonsets'):
        spec.setdefault('revisionHistoryLimit', 10)
    if res.name == 'deployments':
        strategy = spec.setdefault('strategy', {'type': 'RollingUpdate'})
        if strategy.get('type', 'RollingUpdate') == 'RollingUpdate':
            strategy['type'] = 'RollingUpdate'
            rolling = strategy.setdefault('rollingUpdate', {})
            rolling.setdefault('maxUnavailable', '25%')
            rolling.setdefault('maxSurge', '25%')
        spec.setdefault('progressDeadlineSeconds', 600)
    elif res.name == 'statefulsets':
        spec.setdefault('podManagementPolicy', 'OrderedReady')
        strategy = spec.setdefault('updateStrategy', {'type': 'RollingUpdate'})
        if strategy.get('type', 'RollingUpdate') == 'RollingUpdate':
            strategy['type'] = 'RollingUpdate'
            strategy.setdefault('rollingUpdate', {}).setdefault('partition', 0)
        policy = spec.setdefault('persistentVolumeClaimRetentionPolicy', {})
        policy.setdefault('whenDeleted', 'Retain')
        policy.setdefault('whenScaled', 'Retain')
        for claim in spec.get('volumeClaimTemplates') or []:
            # Real: the templates are PVCs: volumeMode defaulted, status phase Pending.
            claim.setdefault('spec', {}).setdefault('volumeMode', 'Filesystem')
            claim.setdefault('status', {}).setdefault('phase', 'Pending')
    elif res.name == 'daemonsets':
        strategy = spec.setdefault('updateStrategy', {'type': 'RollingUpdate'})
        if strategy.get('type', 'RollingUpdate') == 'RollingUpdate':
            strategy['type'] = 'RollingUpdate'
            rolling = strategy.setdefault('rollingUpdate', {})
            rolling.setdefault('maxUnavailable', 1)
            rolling.setdefault('maxSurge', 0)


def admit_create(res, obj, store):  # pylint: disable=unused-argument
    """PrepareForCreate: status reset, generation 1."""
    # Real: the status is reset; its non-omitempty fields serialise as zeros.
    obj['status'] = {'replicasets': {'replicas': 0}, 'statefulsets': {'replicas': 0, 'availableReplicas': 0},
                     'daemonsets': {'currentNumberScheduled': 0, 'numberMisscheduled': 0, 'desiredNumberScheduled': 0,
                                    'numberReady': 0}}.get(res.name, {})
    obj['metadata']['generation'] = 1


def prepare_update(res, new, old, store):  # pylint: disable=unused-argument
    """PrepareForUpdate: spec changes bump metadata.generation (Deployments: annotation changes too, since they are copied
    to the ReplicaSets). Status writes never do."""
    meta = new['metadata']
    meta['generation'] = old['metadata'].get('generation', 1)
    changed = new.get('spec') != old.get('spec')
    if res.name == 'deployments':
        changed = changed or (meta.get('annotations') or {}) != (old['metadata'].get('annotations') or {})
    if changed:
        meta['generation'] += 1


# ---------------------------------------------------------------- validation

def validate(res, obj):
    """ValidateDeploymentSpec & co: selector required, non-empty, matching the template labels; the template a valid pod."""
    spec = obj.get('spec') or {}
    causes = []
    selector = spec.get('selector')
    template = spec.get('template') or {}
    labels = (template.get('metadata') or {}).get('labels') or {}
    if selector is None:
        causes.append(field_error('FieldValueRequired', 'spec.selector', ''))
    elif not selector.get('matchLabels') and not selector.get('matchExpressions'):
        causes.append({'reason': 'FieldValueInvalid', 'field': 'spec.selector',
                       'message': f'Invalid value: {_go_selector(selector)}: empty selector is invalid for deployment'})
    if selector is None or not selector_matches(selector, labels):
        causes.append({'reason': 'FieldValueInvalid', 'field': 'spec.template.metadata.labels',
                       'message': f'Invalid value: {_go_map(labels)}: `selector` does not match template `labels`'})
    replicas = spec.get('replicas', 1)
    if not isinstance(replicas, int) or replicas < 0:
        causes.append(field_error('FieldValueInvalid', 'spec.replicas', 'must be greater than or equal to 0', replicas))
    pod_spec = copy.deepcopy(template.get('spec') or {})
    if res.name == 'statefulsets':
        # Real: containers may mount the volumeClaimTemplates by name (the controller adds those volumes).
        pod_spec['volumes'] = (pod_spec.get('volumes') or []) + [
            {'name': (c.get('metadata') or {}).get('name'), 'persistentVolumeClaim': {'claimName': 'template'}}
            for c in spec.get('volumeClaimTemplates') or [] if (c.get('metadata') or {}).get('name')
            and (c['metadata']['name'] not in [v.get('name') for v in pod_spec.get('volumes') or []])]
    for cause in strategies.validate(BY_NAME['pods'], {'metadata': {'name': 'template'}, 'spec': pod_spec}):
        cause = dict(cause, field='spec.template.' + cause['field'])
        causes.append(cause)
    if pod_spec.get('restartPolicy') not in (None, 'Always'):
        causes.append(field_error('FieldValueNotSupported', 'spec.template.spec.restartPolicy', 'supported values: "Always"',
                                  pod_spec.get('restartPolicy')))
    if res.name == 'statefulsets':
        if spec.get('podManagementPolicy') not in ('OrderedReady', 'Parallel'):
            causes.append(field_error('FieldValueNotSupported', 'spec.podManagementPolicy', 'supported values: "OrderedReady", "Parallel"',
                                      spec.get('podManagementPolicy')))
        for i, claim in enumerate(spec.get('volumeClaimTemplates') or []):
            if not (claim.get('metadata') or {}).get('name'):
                causes.append(field_error('FieldValueRequired', f'spec.volumeClaimTemplates[{i}].metadata.name', ''))
    return causes


def validate_update(res, new, old, store):  # pylint: disable=unused-argument
    """ValidateXxxUpdate: apps/v1 selectors are immutable; StatefulSet spec is immutable but for a few fields."""
    new_spec, old_spec = new.get('spec') or {}, old.get('spec') or {}
    if res.name == 'statefulsets':
        clone = copy.deepcopy(new_spec)
        for key in STS_MUTABLE:
            clone.pop(key, None)
            if key in old_spec:
                clone[key] = old_spec[key]
        if clone != old_spec:
            return [field_error('FieldValueForbidden', 'spec', STS_FORBIDDEN)]
        return []
    if new_spec.get('selector') != old_spec.get('selector'):
        return [{'reason': 'FieldValueInvalid', 'field': 'spec.selector',
                 'message': f"Invalid value: {_go_selector(new_spec.get('selector'))}: field is immutable"}]
    return []

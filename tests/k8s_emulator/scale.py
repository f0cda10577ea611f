"""The ``scale`` subresource (autoscaling/v1 Scale) of Deployments, ReplicaSets and StatefulSets: GET, PUT, PATCH."""

from . import errors, patch
from .errors import field_error
from .selection import selector_string


def to_scale(obj):
    """Real: a Scale carries the parent's name/namespace/uid/resourceVersion, spec.replicas and status.replicas/selector."""
    meta = obj['metadata']
    return {'kind': 'Scale', 'apiVersion': 'autoscaling/v1',
            'metadata': {k: meta[k] for k in ('name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp') if k in meta},
            'spec': {'replicas': (obj.get('spec') or {}).get('replicas', 0)},
            'status': {'replicas': (obj.get('status') or {}).get('replicas', 0), 'selector': selector_string(obj['spec'].get('selector'))}}


def get(registry, res, namespace, name):
    """GET .../scale."""
    return to_scale(registry.get(res, namespace, name))


def update(registry, res, namespace, name, body, params, user_agent=None):
    """PUT .../scale: only spec.replicas is taken; the Scale's resourceVersion is a precondition."""
    if not isinstance(body, dict):
        raise errors.bad_request('the body of the request could not be decoded as a Scale')
    replicas = (body.get('spec') or {}).get('replicas', 0)
    if not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid('Scale', name, [field_error('FieldValueInvalid', 'spec.replicas', 'must be greater than or equal to 0', replicas)],
                             'autoscaling')
    with registry.store.lock:
        obj = registry.get(res, namespace, name)
        wanted_rv = (body.get('metadata') or {}).get('resourceVersion')
        if wanted_rv and wanted_rv != obj['metadata']['resourceVersion']:
            raise errors.conflict(res.name, name, res.group)
        obj['spec']['replicas'] = replicas
        _, stored = registry.update(res, namespace, name, obj, params, '', user_agent)
    return 200, to_scale(stored)


def patch_scale(registry, res, namespace, name, body, content_type, params, user_agent=None):
    """PATCH .../scale (merge, strategic merge or JSON patch applied to the Scale)."""
    media = (content_type or '').split(';')[0].strip().lower()
    with registry.store.lock:
        patched = patch.apply(get(registry, res, namespace, name), body, media)
        return update(registry, res, namespace, name, patched, params, user_agent)

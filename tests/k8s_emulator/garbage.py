"""Garbage collector, endpoints controller and root-CA publisher of kube-controller-manager (called by workloads.Workloads)."""

import copy

from . import errors
from .discovery import BY_KIND, BY_NAME, RESOURCES
from .registry import ORPHAN_FINALIZER, TERMINAL_POD_PHASES, Registry
from .selection import selector_matches

ROOT_CA = 'kube-root-ca.crt'
ROOT_CA_DESCRIPTION = ('Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the '
                       'internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes '
                       'clusters.')
FAKE_CA = '-----BEGIN CERTIFICATE-----\nTUlJQmxvY2FsY2xvdWQtZW11bGF0b3ItZmFrZS1jYQ==\n-----END CERTIFICATE-----\n'


def _ready(pod):
    return any(c.get('type') == 'Ready' and c.get('status') == 'True' for c in pod['status'].get('conditions') or [])


# ---------------------------------------------------------------- root-ca-cert-publisher

def publish_root_ca(ctl):
    """Real root-ca-cert-publisher: every active namespace has the ConfigMap ``kube-root-ca.crt`` (the CA pods' projected
    token volumes mount); it is recreated when deleted and reset when changed. A restore of all ConfigMaps meets it."""
    changed = False
    for ns in ctl.store.list_raw('namespaces'):
        if ns['metadata'].get('deletionTimestamp'):
            continue
        name = ns['metadata']['name']
        current = ctl.store.get_raw('configmaps', name, ROOT_CA)
        if current is None:
            body = {'metadata': {'name': ROOT_CA, 'annotations': {'kubernetes.io/description': ROOT_CA_DESCRIPTION}},
                    'data': {'ca.crt': FAKE_CA}}
            try:
                ctl.emu.registry.create(BY_NAME['configmaps'], name, body, {}, 'kube-controller-manager')
                changed = True
            except errors.ApiError:
                pass
        elif current.get('data') != {'ca.crt': FAKE_CA} and not current['metadata'].get('deletionTimestamp'):
            fixed = copy.deepcopy(current)
            fixed['data'] = {'ca.crt': FAKE_CA}
            fixed.pop('binaryData', None)
            ctl.store.put('configmaps', fixed)
            changed = True
    return changed


# ---------------------------------------------------------------- endpoints controller

def _target_port(port, pod):
    target = port.get('targetPort', port.get('port'))
    if isinstance(target, int):
        return target
    for container in pod['spec'].get('containers') or []:
        for cport in container.get('ports') or []:
            if cport.get('name') == target and cport.get('protocol', 'TCP') == port.get('protocol', 'TCP'):
                return cport.get('containerPort')
    return None  # Real: a pod without the named port is left out of that port's subset


def _subsets(svc, pods):
    groups = {}
    for pod in pods:
        ports = []
        for port in svc['spec'].get('ports') or []:
            number = _target_port(port, pod)
            if number is None:
                continue
            entry = {'port': number, 'protocol': port.get('protocol', 'TCP')}
            if port.get('name'):
                entry['name'] = port['name']
            ports.append(entry)
        address = {'ip': pod['status']['podIP'], 'nodeName': pod['spec'].get('nodeName'),
                   'targetRef': {'kind': 'Pod', 'namespace': pod['metadata']['namespace'], 'name': pod['metadata']['name'],
                                 'uid': pod['metadata']['uid']}}
        if pod['spec'].get('hostname') and pod['spec'].get('subdomain') == svc['metadata']['name']:
            address['hostname'] = pod['spec']['hostname']
        group = groups.setdefault(repr(ports), {'ports': ports})
        ready = _ready(pod) or svc['spec'].get('publishNotReadyAddresses')
        group.setdefault('addresses' if ready else 'notReadyAddresses', []).append(address)
    for group in groups.values():
        for key in ('addresses', 'notReadyAddresses'):
            if key in group:
                group[key].sort(key=lambda a: tuple(int(x) for x in a['ip'].split('.')))
        if not group['ports']:
            del group['ports']
    return list(groups.values())


def sync_endpoints(ctl):
    """Real endpoints controller: a Service with a selector gets an Endpoints object of the same name with the matching
    pods that have an IP (Ready ones in ``addresses``, the others in ``notReadyAddresses``); it is overwritten at every
    change (user-written Endpoints of such a Service do not survive) and deleted when the Service is deleted. Services
    without a selector are left alone. (EndpointSlices are not emulated.)"""
    changed = False
    seen = {}
    for svc in ctl.store.list_raw('services'):
        meta, spec = svc['metadata'], svc['spec']
        seen[(meta['namespace'], meta['name'])] = meta['uid']
        if spec.get('type') == 'ExternalName' or not spec.get('selector') or meta.get('deletionTimestamp'):
            continue
        pods = [p for p in ctl.store.list_raw('pods', meta['namespace'])
                if p['status'].get('podIP') and not p['metadata'].get('deletionTimestamp')
                and p['status'].get('phase') not in TERMINAL_POD_PHASES
                and selector_matches({'matchLabels': spec['selector']}, p['metadata'].get('labels'))]
        labels = dict(meta.get('labels') or {})
        if spec.get('clusterIP') == 'None':
            labels['service.kubernetes.io/headless'] = ''
        subsets = _subsets(svc, pods)
        current = ctl.store.get_raw('endpoints', meta['namespace'], meta['name'])
        if current is None:
            body = {'metadata': {'name': meta['name'], 'labels': labels}}
            if subsets:
                body['subsets'] = subsets
            try:
                ctl.emu.registry.create(BY_NAME['endpoints'], meta['namespace'], body, {}, 'kube-controller-manager')
                changed = True
            except errors.ApiError:
                pass
        elif current.get('subsets') != (subsets or None) or (current['metadata'].get('labels') or {}) != labels:
            updated = copy.deepcopy(current)
            updated['metadata']['labels'] = labels
            updated.pop('subsets', None)
            if subsets:
                updated['subsets'] = subsets
            ctl.store.put('endpoints', updated)
            changed = True
    for key in set(ctl.services_seen) - set(seen):
        gone = ctl.store.get_raw('endpoints', *key)
        if gone is not None:
            changed = ctl.delete('endpoints', gone) or changed
    ctl.services_seen = seen
    return changed


# ---------------------------------------------------------------- garbage collector

def _owner_alive(ctl, ref, namespace):
    res = BY_KIND.get(ref.get('kind'))
    if res is None:
        return True  # Real: an owner of an unknown kind cannot be resolved, so the dependent is kept
    owner = ctl.store.get_raw(res.name, namespace if res.namespaced else '', ref.get('name', ''))
    return owner is not None and owner['metadata']['uid'] == ref.get('uid')


def _put_or_remove(ctl, res, obj):
    if Registry._finalized(res, obj):  # pylint: disable=protected-access
        ctl.store.remove(res.name, obj)
    else:
        ctl.store.put(res.name, obj)


def collect(ctl):
    """Real garbage collector: a dependent whose ownerReferences all name objects that no longer exist (same uid) is
    deleted (background propagation); dangling references next to a live owner are removed. An owner deleted with
    propagationPolicy=Orphan keeps the ``orphan`` finalizer until its dependents' references to it are removed."""
    changed = False
    for res in RESOURCES:
        for raw in ctl.store.list_raw(res.name):
            meta = raw['metadata']
            if ORPHAN_FINALIZER in (meta.get('finalizers') or []) and meta.get('deletionTimestamp'):
                for dep_res in RESOURCES:
                    if res.namespaced and not dep_res.namespaced:
                        continue
                    for dep in ctl.store.list_raw(dep_res.name, meta.get('namespace') if res.namespaced else None):
                        refs = dep['metadata'].get('ownerReferences') or []
                        if any(r.get('uid') == meta['uid'] for r in refs):
                            ctl._set_refs(dep_res.name, dep, [r for r in refs if r.get('uid') != meta['uid']])  # pylint: disable=protected-access
                owner = copy.deepcopy(ctl.store.get_raw(res.name, meta.get('namespace', ''), meta['name']))
                owner['metadata']['finalizers'] = [f for f in owner['metadata']['finalizers'] if f != ORPHAN_FINALIZER]
                if not owner['metadata']['finalizers']:
                    del owner['metadata']['finalizers']
                _put_or_remove(ctl, res, owner)
                changed = True
                continue
            refs = meta.get('ownerReferences') or []
            if not refs or meta.get('deletionTimestamp'):
                continue
            alive = [r for r in refs if _owner_alive(ctl, r, meta.get('namespace', ''))]
            if not alive:
                changed = ctl.delete(res.name, raw) or changed
            elif len(alive) < len(refs):
                ctl._set_refs(res.name, raw, alive)  # pylint: disable=protected-access
                changed = True
    return changed

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The namespaced kinds an application is made of, read and written through the official client's typed APIs.

Built on a ``KubeClient`` (kubernetes.py): the same error translation (one line naming the object, ``None`` for
404 on reads) and the same per-request timeout.
"""

from __future__ import annotations

try:
    from kubernetes import client as k8s_client
except ImportError:  # reported by the module (missing_required_lib) before this is used
    k8s_client = None

# kind -> (apiVersion, typed API class name, method suffix): list_namespaced_<suffix>, read_..., create_..., delete_...
KINDS = {
    'ServiceAccount': ('v1', 'CoreV1Api', 'service_account'),
    'ConfigMap': ('v1', 'CoreV1Api', 'config_map'),
    'Secret': ('v1', 'CoreV1Api', 'secret'),
    'PersistentVolumeClaim': ('v1', 'CoreV1Api', 'persistent_volume_claim'),
    'Service': ('v1', 'CoreV1Api', 'service'),
    'Pod': ('v1', 'CoreV1Api', 'pod'),
    'Deployment': ('apps/v1', 'AppsV1Api', 'deployment'),
    'ReplicaSet': ('apps/v1', 'AppsV1Api', 'replica_set'),
    'StatefulSet': ('apps/v1', 'AppsV1Api', 'stateful_set'),
    'DaemonSet': ('apps/v1', 'AppsV1Api', 'daemon_set'),
}


def api_version(kind):
    return KINDS[kind][0]


class KubeObjects:
    """list / get / create / delete of the KINDS in one namespace, on plain dicts."""

    def __init__(self, kube):
        self.kube = kube
        self._apis = {}

    def _method(self, kind, verb):
        _version, api_class, suffix = KINDS[kind]
        if api_class not in self._apis:
            self._apis[api_class] = getattr(k8s_client, api_class)(self.kube.client)
        return getattr(self._apis[api_class], '%s_namespaced_%s' % (verb, suffix))

    def list(self, kind, namespace, label_selector=None):
        kwargs = dict(label_selector=label_selector) if label_selector else {}
        found = self.kube.call('list %s in namespace %s' % (kind.lower(), namespace), self._method(kind, 'list'),
                               namespace, **kwargs)
        return [dict(item, apiVersion=api_version(kind), kind=kind) for item in found.get('items') or []]

    def get(self, kind, namespace, name):
        return self.kube.read('%s %s/%s' % (kind.lower(), namespace, name), self._method(kind, 'read'), name, namespace)

    def create(self, kind, namespace, body):
        what = 'create %s %s/%s' % (kind.lower(), namespace, body['metadata']['name'])
        return self.kube.call(what, self._method(kind, 'create'), namespace, body)

    def delete(self, kind, namespace, name):
        """Delete with background propagation (the owner's ReplicaSets and pods follow); None when already gone."""
        return self.kube.read('delete %s %s/%s' % (kind.lower(), namespace, name), self._method(kind, 'delete'), name,
                              namespace, body=dict(propagationPolicy='Background'))

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The namespaced kinds an application is made of, read and written under the official client's typed API names.

Built on a ``KubeClient`` (kubernetes.py): the same error translation (one line naming the object, ``None`` for
404 on reads) and the same per-request timeout.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.kube_rest import RestApi

# kind -> (apiVersion, method suffix): list_namespaced_<suffix>, read_..., create_..., delete_... (kube_rest.RestApi)
KINDS = {
    'ServiceAccount': ('v1', 'service_account'),
    'ConfigMap': ('v1', 'config_map'),
    'Secret': ('v1', 'secret'),
    'PersistentVolumeClaim': ('v1', 'persistent_volume_claim'),
    'Service': ('v1', 'service'),
    'Pod': ('v1', 'pod'),
    'Deployment': ('apps/v1', 'deployment'),
    'ReplicaSet': ('apps/v1', 'replica_set'),
    'StatefulSet': ('apps/v1', 'stateful_set'),
    'DaemonSet': ('apps/v1', 'daemon_set'),
}


def api_version(kind):
    return KINDS[kind][0]


class KubeObjects:
    """list / get / create / delete of the KINDS in one namespace, on plain dicts."""

    def __init__(self, kube):
        self.kube = kube
        self._apis = {}

    def _method(self, kind, verb):
        version, suffix = KINDS[kind]
        if version not in self._apis:
            self._apis[version] = RestApi(self.kube.client, version)
        return getattr(self._apis[version], '%s_namespaced_%s' % (verb, suffix))

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

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes API calls under the typed APIs' method names, sent as plain JSON on the official client's ApiClient.

Why: the typed API classes of the kubernetes client 37 are pydantic models; importing ``CoreV1Api`` and making
its first call costs about 3 s of CPU (a validator per method and model), more than the rest of a
Kubernetes task. ``RestApi`` answers the same method names (``list_namespaced_pod(namespace)``,
``read_persistent_volume(name)``, ``create_namespaced_pod(namespace, body)``, ...) with plain dicts, through
the same ``ApiClient``: its configuration (credentials and their refresh hook, TLS, proxy), its default
headers (impersonation), its ``rest_client.request`` (the per-request timeout and the retry policy set on it in
kubernetes.py) and its ``ApiException`` for an error answer. So the callers, and what the API server sees, do
not change; only dicts come back where the typed API returned models the caller turned back into dicts.
"""

from __future__ import annotations

import json
import re

from urllib.parse import quote, urlencode

try:
    from kubernetes.client.rest import ApiException
except ImportError:  # reported by the module (missing_required_lib) before this is used
    ApiException = None

# method suffix -> (resource name in the URL, namespaced); the kinds this collection reads and writes
RESOURCES = {
    'namespace': ('namespaces', False),
    'persistent_volume': ('persistentvolumes', False),
    'pod': ('pods', True),
    'persistent_volume_claim': ('persistentvolumeclaims', True),
    'service_account': ('serviceaccounts', True),
    'config_map': ('configmaps', True),
    'secret': ('secrets', True),
    'service': ('services', True),
    'deployment': ('deployments', True),
    'replica_set': ('replicasets', True),
    'stateful_set': ('statefulsets', True),
    'daemon_set': ('daemonsets', True),
}
VERBS = {'list': 'GET', 'read': 'GET', 'create': 'POST', 'delete': 'DELETE'}
_METHOD = re.compile(r'^(list|read|create|delete)_(namespaced_)?([a-z_]+?)(_for_all_namespaces)?$')


def query_name(option):
    """A typed API's keyword (``label_selector``, ``_continue``) as the API's query parameter (``labelSelector``)."""
    head, *rest = option.lstrip('_').split('_')
    return head + ''.join(word.capitalize() for word in rest)


class RestApi:
    """The typed API methods this collection calls, for one API group version (``v1``, ``apps/v1``)."""

    def __init__(self, client, api_version='v1'):
        self.client = client
        self.prefix = '/api/v1' if api_version == 'v1' else '/apis/' + api_version

    def __getattr__(self, method):
        match = _METHOD.match(method)
        if not match or match.group(3) not in RESOURCES:
            raise AttributeError('%s has no method %r' % (type(self).__name__, method))
        verb, namespaced, suffix, all_namespaces = match.groups()
        plural, is_namespaced = RESOURCES[suffix]
        if bool(namespaced) != is_namespaced and not (all_namespaces and verb == 'list' and is_namespaced):
            raise AttributeError('%s has no method %r' % (type(self).__name__, method))

        def call(*args, **kwargs):
            args = list(args)
            name = args.pop(0) if verb in ('read', 'delete') else None
            namespace = args.pop(0) if namespaced else None
            body = args.pop(0) if verb == 'create' else kwargs.pop('body', None)
            if args:
                raise TypeError('%s() takes no more positional arguments' % method)
            path = self.prefix
            if namespace is not None:
                path += '/namespaces/%s' % quote(namespace, safe='')
            path += '/' + plural
            if name is not None:
                path += '/' + quote(name, safe='')
            return self.request(VERBS[verb], path, kwargs, body)

        call.__name__ = method
        return call

    def request(self, method, path, options=None, body=None):
        """One request; the answer's JSON as a dict. An error answer raises the client's ApiException."""
        options = dict(options or {})
        timeout = options.pop('_request_timeout', None)
        query = [(query_name(key), str(value).lower() if isinstance(value, bool) else value)
                 for key, value in sorted(options.items()) if value is not None]
        configuration = self.client.configuration
        url = configuration.host.rstrip('/') + path + ('?' + urlencode(query) if query else '')
        headers = dict(self.client.default_headers)
        headers['Accept'] = 'application/json'
        if body is not None:
            headers['Content-Type'] = 'application/json'
        for auth in configuration.auth_settings().values():
            if auth.get('in') == 'header' and auth.get('value'):
                headers[auth['key']] = auth['value']
        # kubernetes < 37 raises ApiException itself for an error status; 37 returns the response
        response = self.client.rest_client.request(method, url, headers=headers, body=body,
                                                   _request_timeout=timeout)
        data = response.data if getattr(response, 'data', None) is not None else response.read()
        text = data.decode('utf-8') if isinstance(data, bytes) else data
        if not 200 <= response.status <= 299:
            error = ApiException(status=response.status, reason=response.reason)
            error.body = text
            raise error
        return json.loads(text) if text else {}

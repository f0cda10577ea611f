# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Kubernetes client factory and a small dict-based client (the options' spec is in args.py).

Options follow kubernetes.core (``kubeconfig`` path or dict, ``context``,
``host``, ``api_key``, ``username``/``password``, ``proxy``, ``no_proxy``)
and fall back to the ``K8S_AUTH_*`` environment variables that AWX's
Kubernetes credentials inject. The TLS options carry a ``k8s_`` prefix
(``k8s_validate_certs``, ``k8s_ca_cert``, ``k8s_client_cert``,
``k8s_client_key``) because the OpenStack options of the same modules already
use the plain names; kubernetes.core's own aliases (``verify_ssl``,
``ssl_ca_cert``, ``cert_file``, ``key_file``) are accepted, and so are its plain
names (``validate_certs``, ``ca_cert``, ``client_cert``, ``client_key``) in
the modules without OpenStack options (``args.kubernetes_argument_spec(plain_tls_names=True)``).
``impersonate_user`` / ``impersonate_groups`` become ``Impersonate-User`` /
``Impersonate-Group`` headers of every request, ``proxy_headers`` the
headers sent to ``proxy`` (``urllib3.util.make_headers``), and
``persist_config`` lets the client write refreshed tokens back to the
kubeconfig file (off by default), all as in kubernetes.core.

Precedence: a module option, then its ``K8S_AUTH_*`` variable, then the
kubeconfig (explicit, or ``~/.kube/config`` / ``KUBECONFIG``), then the
in-cluster service account.

Every request carries a timeout (connect, and read between bytes of the answer): ``api_timeout``, the option the
OpenStack requests of the same modules use, else 30 seconds. The kubernetes client itself has none, so an API
server (or proxy) that accepts the connection and never answers would hang the task for ever.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import traceback

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.kube_rest import RestApi
from ansible_collections.dataprotection.openstack.plugins.module_utils.validation import check_number

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

    class ApiException(Exception):  # pylint: disable=missing-class-docstring
        status = None
        body = None
        reason = None

try:
    import urllib3
    _TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)
    HAS_URLLIB3 = True
except ImportError:
    _TRANSPORT_ERRORS = (OSError,)
    HAS_URLLIB3 = False

# option -> K8S_AUTH_* variable (the names AWX credentials and kubernetes.core use)
ENV_VARS = {
    'kubeconfig': 'K8S_AUTH_KUBECONFIG',
    'context': 'K8S_AUTH_CONTEXT',
    'host': 'K8S_AUTH_HOST',
    'api_key': 'K8S_AUTH_API_KEY',
    'username': 'K8S_AUTH_USERNAME',
    'password': 'K8S_AUTH_PASSWORD',
    'k8s_validate_certs': 'K8S_AUTH_VERIFY_SSL',
    'k8s_ca_cert': 'K8S_AUTH_SSL_CA_CERT',
    'k8s_client_cert': 'K8S_AUTH_CERT_FILE',
    'k8s_client_key': 'K8S_AUTH_KEY_FILE',
    'proxy': 'K8S_AUTH_PROXY',
    'no_proxy': 'K8S_AUTH_NO_PROXY',
    'impersonate_user': 'K8S_AUTH_IMPERSONATE_USER',
    'impersonate_groups': 'K8S_AUTH_IMPERSONATE_GROUPS',
    'persist_config': 'K8S_AUTH_PERSIST_CONFIG',
}
# proxy_headers sub-option -> K8S_AUTH_PROXY_HEADERS_* variable (kubernetes.core's names)
PROXY_HEADERS_ENV_VARS = {
    'basic_auth': 'K8S_AUTH_PROXY_HEADERS_BASIC_AUTH',
    'proxy_basic_auth': 'K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH',
    'user_agent': 'K8S_AUTH_PROXY_HEADERS_USER_AGENT',
}
BOOL_OPTIONS = ('k8s_validate_certs', 'persist_config')

_TRUE = ('1', 'true', 'yes', 'on', 'y')

# Seconds one request may take to connect, and to wait between bytes of its answer, when ``api_timeout`` is not
# set: the default of the OpenStack requests (openstack.DEFAULT_API_TIMEOUT, not imported here so that the
# Kubernetes-only modules do not load openstacksdk).
DEFAULT_API_TIMEOUT = 30


def resolve_options(params, environ=None):
    """The effective connection options: module option, else its K8S_AUTH_* variable."""
    environ = os.environ if environ is None else environ
    resolved = {}
    for option, variable in ENV_VARS.items():
        value = params.get(option)
        if value is None and environ.get(variable) not in (None, ''):
            value = environ[variable]
            if option in BOOL_OPTIONS:
                value = value.strip().lower() in _TRUE
            elif option == 'impersonate_groups':
                value = [group.strip() for group in value.split(',') if group.strip()]
            elif option == 'kubeconfig' and value.lstrip().startswith('{'):
                value = json.loads(value)
        resolved[option] = value
    headers = params.get('proxy_headers')
    if headers is None:
        headers = dict((key, environ[variable]) for key, variable in PROXY_HEADERS_ENV_VARS.items()
                       if environ.get(variable) not in (None, ''))
    resolved['proxy_headers'] = dict((k, v) for k, v in (headers or {}).items() if v is not None) or None
    return resolved


class _RepeatedHeader(str):
    """A header name that is a key of its own in a dict: ``Impersonate-Group`` is sent once per group, and the API
    server reads each occurrence as one group (a comma-separated value would be one group with commas)."""

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def lower(self):
        return _RepeatedHeader(str.lower(self))


def impersonation_headers(opts):
    """The ``Impersonate-User`` / ``Impersonate-Group`` headers for the resolved options, as (name, value) pairs."""
    headers = []
    if opts.get('impersonate_user'):
        headers.append(('Impersonate-User', opts['impersonate_user']))
    for group in opts.get('impersonate_groups') or []:
        headers.append((_RepeatedHeader('Impersonate-Group'), group))
    return headers


def configuration(params, environ=None):
    """A ``kubernetes.client.Configuration`` for the module options."""
    if not HAS_KUBERNETES:
        raise ProtectionError('the kubernetes Python library is required on the host that runs the module')
    environ = os.environ if environ is None else environ
    opts = resolve_options(params, environ)
    cfg = k8s_client.Configuration()
    kubeconfig, context = opts['kubeconfig'], opts['context']
    persist = bool(opts['persist_config'])
    try:
        if isinstance(kubeconfig, dict):
            k8s_config.load_kube_config_from_dict(kubeconfig, context=context, client_configuration=cfg,
                                                  persist_config=persist)
        elif kubeconfig:
            path = os.path.expanduser(str(kubeconfig))
            if not os.path.exists(path):
                raise ProtectionError('kubeconfig %s does not exist' % path)
            k8s_config.load_kube_config(config_file=path, context=context, client_configuration=cfg,
                                        persist_config=persist)
        elif not opts['host']:
            default = os.path.expanduser(environ.get('KUBECONFIG', '').split(os.pathsep)[0] or '~/.kube/config')
            if os.path.exists(default):
                k8s_config.load_kube_config(config_file=default, context=context, client_configuration=cfg,
                                            persist_config=persist)
            elif environ.get('KUBERNETES_SERVICE_HOST'):
                k8s_config.load_incluster_config(client_configuration=cfg)
            else:
                raise ProtectionError('no Kubernetes credentials: set kubeconfig or host (or K8S_AUTH_KUBECONFIG / '
                                      'K8S_AUTH_HOST), or provide ~/.kube/config')
    except k8s_config.ConfigException as exc:
        raise ProtectionError('invalid kubeconfig: %s' % exc)
    if opts['host']:
        cfg.host = opts['host']
    if opts['api_key']:
        cfg.api_key = {'BearerToken': 'Bearer %s' % opts['api_key']}
        cfg.api_key_prefix = {}
    if opts['username']:
        cfg.username = opts['username']
    if opts['password']:
        cfg.password = opts['password']
    if opts['k8s_validate_certs'] is not None:
        cfg.verify_ssl = bool(opts['k8s_validate_certs'])
    for option, attribute in (('k8s_ca_cert', 'ssl_ca_cert'), ('k8s_client_cert', 'cert_file'),
                              ('k8s_client_key', 'key_file'), ('proxy', 'proxy'), ('no_proxy', 'no_proxy')):
        if opts[option]:
            setattr(cfg, attribute, opts[option])
    if opts['proxy_headers']:
        if not HAS_URLLIB3:
            raise ProtectionError('proxy_headers needs the urllib3 Python library')
        cfg.proxy_headers = urllib3.util.make_headers(**opts['proxy_headers'])
    return cfg


def request_timeout(params):
    """Seconds for one request: ``api_timeout`` (> 0), else DEFAULT_API_TIMEOUT."""
    value = params.get('api_timeout')
    if value is None:
        return DEFAULT_API_TIMEOUT
    check_number('api_timeout', value, above=0, unit='seconds')
    return value


def timed_out(error):
    """Whether a transport error is a timeout: urllib3's own, or one it wraps (``Connection aborted``)."""
    if not HAS_URLLIB3:
        return False
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return False  # refused, unresolvable: a subclass of ConnectTimeoutError for historical reasons only
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return True
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return any(isinstance(arg, TimeoutError) for arg in error.args)
    return False


if HAS_URLLIB3:
    class TimeoutIsFinal(urllib3.util.Retry):
        """urllib3's retries, except that a request that timed out (connecting, or waiting for the answer) is not
        sent again: the endpoint had the whole ``api_timeout`` already, and urllib3's 3 retries of an idempotent
        request would make the task wait four times as long. Refused or dropped connections are still retried."""

        def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
            if timed_out(error):
                raise error.with_traceback(_stacktrace)
            return super().increment(method=method, url=url, response=response, error=error, _pool=_pool,
                                     _stacktrace=_stacktrace)


def with_default_timeout(request, timeout):
    """``rest_client.request`` that sends ``_request_timeout=(timeout, timeout)`` (connect, read) when the caller
    gives none. A caller's own ``_request_timeout`` (a number or a pair) is kept."""
    signature = inspect.signature(request)

    @functools.wraps(request)
    def bounded(*args, **kwargs):
        try:
            call = signature.bind(*args, **kwargs)
        except TypeError:  # not a call this wrapper understands: let the client say what is wrong
            return request(*args, **kwargs)
        if not call.arguments.get('_request_timeout'):  # the client reads None and 0 as "no timeout"
            call.arguments['_request_timeout'] = (timeout, timeout)
        return request(*call.args, **call.kwargs)

    bounded.default_timeout = timeout
    return bounded


def api_client(params, environ=None):
    """The ``kubernetes.client.ApiClient`` for the module options (the collection's one factory).

    Every request it sends has a timeout (request_timeout()): all API calls of the generated client go through
    ``rest_client.request``. A request that timed out is not repeated (TimeoutIsFinal), so one call fails after
    about ``api_timeout`` seconds.
    """
    timeout = request_timeout(params)
    cfg = configuration(params, environ)
    if cfg.retries is None and HAS_URLLIB3:
        cfg.retries = TimeoutIsFinal(total=urllib3.util.Retry.DEFAULT.total)
    client = k8s_client.ApiClient(cfg)
    for name, value in impersonation_headers(resolve_options(params, environ)):
        client.set_default_header(name, value)
    client.rest_client.request = with_default_timeout(client.rest_client.request, timeout)
    return client


def describe_error(exc, what=''):
    """One line with the API server's own reason for a client error."""
    prefix = '%s: ' % what if what else ''
    if isinstance(exc, ApiException):
        message = reason = None
        try:
            body = json.loads(exc.body or '{}')
            message, reason = body.get('message'), body.get('reason')
        except (TypeError, ValueError):
            message = exc.body
        return '%sKubernetes API answered %s %s: %s' % (prefix, exc.status, reason or exc.reason or '',
                                                        message or exc.reason)
    if timed_out(exc) or timed_out(getattr(exc, 'reason', None)):
        return '%stimed out waiting for the Kubernetes API (%s); the api_timeout option sets the limit' % (prefix, exc)
    if isinstance(exc, _TRANSPORT_ERRORS):
        return '%scannot reach the Kubernetes API (%s)' % (prefix, exc)
    return '%s%s: %s' % (prefix, type(exc).__name__, exc)


class KubernetesError(ProtectionError):
    """A Kubernetes API call failed; ``status`` is the HTTP code (None when unreachable)."""

    def __init__(self, msg, status=None, reason=None, **result):
        super().__init__(msg, **result)
        self.status = status
        self.reason = reason


class KubeClient:
    """The few core/v1 calls the pod driver needs, on plain dicts; 404 on reads is ``None``."""

    def __init__(self, client):
        self.client = client
        self.api = RestApi(client)  # core/v1 as plain JSON (kube_rest.py: the typed API costs ~3 s CPU a task)
        self._typed_core = None

    @property
    def core(self):
        """The typed CoreV1Api, built on first use: only pods/exec needs it (kubernetes.stream wraps its method)."""
        if self._typed_core is None:
            self._typed_core = k8s_client.CoreV1Api(self.client)
        return self._typed_core

    def _call(self, what, func, *args, **kwargs):
        try:
            result = func(*args, **kwargs)
        except ApiException as exc:
            reason = None
            try:
                reason = json.loads(exc.body or '{}').get('reason')
            except (TypeError, ValueError):
                pass
            raise KubernetesError(describe_error(exc, what), status=exc.status, reason=reason)
        except _TRANSPORT_ERRORS as exc:
            raise KubernetesError(describe_error(exc, what))
        return result  # a dict: every call goes through RestApi

    def _read(self, what, func, *args, **kwargs):
        try:
            return self._call(what, func, *args, **kwargs)
        except KubernetesError as exc:
            if exc.status == 404:
                return None
            raise

    call, read = _call, _read  # for kube_objects.KubeObjects (the application kinds)

    # reads
    def list_pods(self, namespace=None, label_selector=None):
        kwargs = dict(label_selector=label_selector) if label_selector else {}
        if namespace:
            found = self._call('list pods in namespace %s' % namespace, self.api.list_namespaced_pod, namespace,
                               **kwargs)
        else:
            found = self._call('list pods', self.api.list_pod_for_all_namespaces, **kwargs)
        return found.get('items') or []

    def get_namespace(self, name):
        return self._read('namespace %s' % name, self.api.read_namespace, name)

    def get_pod(self, namespace, name):
        return self._read('pod %s/%s' % (namespace, name), self.api.read_namespaced_pod, name, namespace)

    def get_pvc(self, namespace, name):
        return self._read('persistentvolumeclaim %s/%s' % (namespace, name),
                          self.api.read_namespaced_persistent_volume_claim, name, namespace)

    def get_pv(self, name):
        return self._read('persistentvolume %s' % name, self.api.read_persistent_volume, name)

    def get_service_account(self, namespace, name):
        return self._read('serviceaccount %s/%s' % (namespace, name), self.api.read_namespaced_service_account,
                          name, namespace)

    # writes
    def create_namespace(self, body):
        return self._call('create namespace %s' % body['metadata']['name'], self.api.create_namespace, body)

    def create_pv(self, body):
        return self._call('create persistentvolume %s' % body['metadata']['name'],
                          self.api.create_persistent_volume, body)

    def create_pvc(self, namespace, body):
        return self._call('create persistentvolumeclaim %s/%s' % (namespace, body['metadata']['name']),
                          self.api.create_namespaced_persistent_volume_claim, namespace, body)

    def create_pod(self, namespace, body):
        return self._call('create pod %s/%s' % (namespace, body['metadata']['name']),
                          self.api.create_namespaced_pod, namespace, body)

    def delete_namespace(self, name):
        return self._read('delete namespace %s' % name, self.api.delete_namespace, name)

    def delete_pod(self, namespace, name):
        return self._read('delete pod %s/%s' % (namespace, name), self.api.delete_namespaced_pod, name, namespace)

    def delete_pvc(self, namespace, name):
        return self._read('delete persistentvolumeclaim %s/%s' % (namespace, name),
                          self.api.delete_namespaced_persistent_volume_claim, name, namespace)

    def delete_pv(self, name):
        return self._read('delete persistentvolume %s' % name, self.api.delete_persistent_volume, name)

    # pods/exec (WebSocket through kubernetes.stream.stream(); kube_exec.py reads the channels)
    def exec_command(self, namespace, name, container, command, timeout):
        from ansible_collections.dataprotection.openstack.plugins.module_utils import kube_exec
        return kube_exec.run(self, namespace, name, container, command, timeout)

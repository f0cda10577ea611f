"""Every Kubernetes API request carries a timeout (api_timeout, else 30 s), and a timed-out request is not repeated."""
import socket
import threading
import time

import pytest
import urllib3
from kubernetes import client as k8s_client

from ansible_collections.dataprotection.openstack.plugins.module_utils import args
from ansible_collections.dataprotection.openstack.plugins.module_utils import kubernetes as k8s
from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils.args import openstack_argument_spec
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError


def kubeconfig(server):
    return {'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'c',
            'clusters': [{'name': 'c', 'cluster': {'server': server}}],
            'users': [{'name': 'u', 'user': {'token': 'any'}}],
            'contexts': [{'name': 'c', 'context': {'cluster': 'c', 'user': 'u'}}]}


def params(**kwargs):
    base = dict((k, None) for k in args.kubernetes_argument_spec())
    base.update(args.kubernetes_timeout_argument_spec())
    base.update(api_timeout=None, kubeconfig=kubeconfig('http://127.0.0.1:1'))
    base.update(kwargs)
    return base


class Answered(Exception):
    pass


@pytest.fixture
def sent(monkeypatch):
    """The urllib3 timeout of each request the client sends (none reaches the network)."""
    timeouts = []

    def request(self, method, url, **kwargs):
        timeouts.append(kwargs.get('timeout'))
        raise Answered()

    monkeypatch.setattr(urllib3.PoolManager, 'request', request)
    return timeouts


# -- the option ---------------------------------------------------------------------------------------------------
def test_same_default_and_option_as_the_openstack_side():
    assert k8s.DEFAULT_API_TIMEOUT == os_connection.DEFAULT_API_TIMEOUT == 30
    assert args.kubernetes_timeout_argument_spec()['api_timeout'] == openstack_argument_spec()['api_timeout']
    # the Kubernetes connection options keep names apart from the OpenStack ones; api_timeout is shared on purpose
    assert 'api_timeout' not in args.kubernetes_argument_spec()


def test_k8s_only_module_takes_api_timeout():
    from ansible_collections.dataprotection.openstack.plugins.modules.k8s_pod_protectable_info import (
        K8sPodProtectableInfoModule,
    )
    assert K8sPodProtectableInfoModule.full_argument_spec()['api_timeout'] == dict(type='int')


def test_request_timeout():
    assert k8s.request_timeout({}) == 30
    assert k8s.request_timeout({'api_timeout': None}) == 30
    assert k8s.request_timeout({'api_timeout': 5}) == 5


@pytest.mark.parametrize('value', [0, -1])
def test_request_timeout_must_be_positive(value):
    with pytest.raises(ProtectionError, match='api_timeout must be > 0 seconds, got %s' % value):
        k8s.api_client(params(api_timeout=value))


# -- every request carries it -----------------------------------------------------------------------------------
@pytest.mark.parametrize('api', ['plain', 'typed'])
@pytest.mark.parametrize('api_timeout, expected', [(None, 30), (5, 5)])
def test_every_request_has_connect_and_read_timeouts(sent, api_timeout, expected, api):
    # plain: kube_rest.RestApi, what the collection's calls use; typed: CoreV1Api, which pods/exec still uses
    client = k8s.api_client(params(api_timeout=api_timeout))
    core = k8s.KubeClient(client).api if api == 'plain' else k8s_client.CoreV1Api(client)
    for call in (lambda: core.list_namespaced_pod('shop'), lambda: core.read_namespace('shop'),
                 lambda: core.create_namespace({'metadata': {'name': 'x'}}), lambda: core.delete_namespace('x')):
        with pytest.raises(Answered):
            call()
    assert len(sent) == 4
    for timeout in sent:
        assert isinstance(timeout, urllib3.Timeout)
        assert (timeout.connect_timeout, timeout.read_timeout) == (expected, expected)


@pytest.mark.parametrize('api', ['plain', 'typed'])
def test_a_callers_own_timeout_is_kept(sent, api):
    client = k8s.api_client(params())
    core = k8s.KubeClient(client).api if api == 'plain' else k8s_client.CoreV1Api(client)
    with pytest.raises(Answered):
        core.list_namespaced_pod('shop', _request_timeout=(3, 7))
    with pytest.raises(Answered):
        core.list_namespaced_pod('shop', _request_timeout=9)
    assert (sent[0].connect_timeout, sent[0].read_timeout) == (3, 7)
    assert sent[1].total == 9


def test_wrapper_fills_positional_and_keyword_calls():
    calls = []

    def request(method, url, headers=None, body=None, post_params=None, _request_timeout=None):
        calls.append(_request_timeout)

    bounded = k8s.with_default_timeout(request, 12)
    bounded('GET', '/api')
    bounded('GET', '/api', None, None, None, 4)
    bounded('GET', '/api', _request_timeout=0)  # 0 means "none" to the client: the default applies
    assert calls == [(12, 12), 4, (12, 12)]
    assert bounded.__name__ == 'request' and bounded.default_timeout == 12


# -- a timed-out request is final ---------------------------------------------------------------------------------
def test_retries_are_urllib3_defaults_except_after_a_timeout():
    client = k8s.api_client(params())
    retries = client.configuration.retries
    assert isinstance(retries, k8s.TimeoutIsFinal) and retries.total == urllib3.util.Retry.DEFAULT.total
    pool = urllib3.HTTPConnectionPool('127.0.0.1', 1)
    for error in (urllib3.exceptions.ReadTimeoutError(pool, '/api', 'Read timed out.'),
                  urllib3.exceptions.ConnectTimeoutError(pool, 'timed out connecting'),
                  urllib3.exceptions.ProtocolError('Connection aborted.', TimeoutError('handshake timed out'))):
        with pytest.raises(type(error)):
            retries.increment('GET', '/api', error=error)
    # refused or dropped connections are still retried, as urllib3 does, with the same class
    for error in (urllib3.exceptions.NewConnectionError(pool, 'refused'),
                  urllib3.exceptions.ProtocolError('Connection aborted.', ConnectionResetError())):
        again = retries.increment('GET', '/api', error=error)
        assert isinstance(again, k8s.TimeoutIsFinal) and again.total == retries.total - 1


def test_describe_error_names_the_timeout():
    pool = urllib3.HTTPConnectionPool('127.0.0.1', 6443)
    error = urllib3.exceptions.ReadTimeoutError(pool, '/api', 'Read timed out. (read timeout=30)')
    msg = k8s.describe_error(error, 'list pods')
    assert msg.startswith('list pods: timed out waiting for the Kubernetes API (')
    assert '127.0.0.1' in msg and 'read timeout=30' in msg and 'api_timeout' in msg
    # NewConnectionError is a ConnectTimeoutError subclass in urllib3, but a refused connection is no timeout
    refused = urllib3.exceptions.MaxRetryError(pool, '/api', urllib3.exceptions.NewConnectionError(pool, 'refused'))
    assert k8s.describe_error(refused, 'list pods').startswith('list pods: cannot reach the Kubernetes API (')
    exhausted = urllib3.exceptions.MaxRetryError(pool, '/api', error)
    assert k8s.describe_error(exhausted).startswith('timed out waiting for the Kubernetes API (')


def test_refused_connection_is_retried_and_not_called_a_timeout():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        kube = k8s.KubeClient(k8s.api_client(params(kubeconfig=kubeconfig('http://127.0.0.1:%d' % port))))
        with pytest.raises(k8s.KubernetesError) as info:
            kube.list_pods()
    assert info.value.msg.startswith('list pods: cannot reach the Kubernetes API (')
    assert 'Max retries exceeded' in info.value.msg and 'refused' in info.value.msg


@pytest.fixture
def silent_server():
    """127.0.0.1: accepts connections, never answers (closed at teardown)."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    sock.listen(16)
    sock.settimeout(0.1)
    accepted, stop = [], threading.Event()

    def serve():
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                accepted.append(sock.accept()[0])
            except socket.timeout:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], accepted
    stop.set()
    thread.join()
    sock.close()
    for conn in accepted:
        conn.close()


def test_server_that_never_answers_fails_after_one_api_timeout(silent_server):
    port, accepted = silent_server
    kube = k8s.KubeClient(k8s.api_client(params(kubeconfig=kubeconfig('http://127.0.0.1:%d' % port), api_timeout=1)))
    started = time.monotonic()
    with pytest.raises(k8s.KubernetesError) as info:
        kube.list_pods('shop')
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 3, elapsed  # urllib3 alone would send this GET 4 times
    assert len(accepted) == 1
    assert info.value.msg.startswith('list pods in namespace shop: timed out waiting for the Kubernetes API')
    assert 'port=%d' % port in info.value.msg and 'read timeout=1' in info.value.msg

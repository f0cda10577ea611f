"""kube_rest.RestApi: the typed API method names the collection calls, sent as plain JSON through the ApiClient."""
import json

import pytest
import urllib3

from ansible_collections.dataprotection.openstack.plugins.module_utils import kubernetes as k8s
from ansible_collections.dataprotection.openstack.plugins.module_utils.kube_objects import KINDS, KubeObjects
from ansible_collections.dataprotection.openstack.plugins.module_utils.kube_rest import RestApi, query_name

from test_kubernetes_timeout import params


class FakeResponse:
    """What urllib3 returns, enough for the kubernetes client's RESTResponse."""

    def __init__(self, status, body):
        self.status = status
        self.reason = {200: 'OK', 201: 'Created', 404: 'Not Found', 409: 'Conflict'}.get(status, 'Other')
        self.data = json.dumps(body).encode('utf-8')
        self.headers = {'Content-Type': 'application/json'}

    def getheaders(self):
        return self.headers

    def getheader(self, name, default=None):
        return self.headers.get(name, default)


@pytest.fixture
def server(monkeypatch):
    """Every request urllib3 would send (method, url, headers, body), answered from ``answers`` (default 200 {})."""
    calls, answers = [], []

    def request(self, method, url, **kwargs):
        body = kwargs.get('body')
        calls.append(dict(method=method, url=url, headers=kwargs.get('headers') or {},
                          body=json.loads(body) if body else None))
        return FakeResponse(*answers.pop(0)) if answers else FakeResponse(200, {'kind': 'Thing'})

    monkeypatch.setattr(urllib3.PoolManager, 'request', request)
    return calls, answers


def kube():
    return k8s.KubeClient(k8s.api_client(params(kubeconfig=dict(
        params()['kubeconfig'], clusters=[{'name': 'c', 'cluster': {'server': 'http://k8s.example:6443'}}]))))


def test_paths_of_namespaced_and_cluster_kinds(server):
    calls, _answers = server
    api = kube().api
    api.list_namespaced_pod('shop', label_selector='app=web')
    api.list_pod_for_all_namespaces()
    api.read_namespaced_persistent_volume_claim('data', 'shop')
    api.read_persistent_volume('pv-1')
    api.create_namespace({'metadata': {'name': 'shop'}})
    api.create_namespaced_pod('shop', {'metadata': {'name': 'web'}})
    api.delete_namespaced_pod('web', 'shop')
    api.delete_namespace('shop')
    assert [(c['method'], c['url']) for c in calls] == [
        ('GET', 'http://k8s.example:6443/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb'),
        ('GET', 'http://k8s.example:6443/api/v1/pods'),
        ('GET', 'http://k8s.example:6443/api/v1/namespaces/shop/persistentvolumeclaims/data'),
        ('GET', 'http://k8s.example:6443/api/v1/persistentvolumes/pv-1'),
        ('POST', 'http://k8s.example:6443/api/v1/namespaces'),
        ('POST', 'http://k8s.example:6443/api/v1/namespaces/shop/pods'),
        ('DELETE', 'http://k8s.example:6443/api/v1/namespaces/shop/pods/web'),
        ('DELETE', 'http://k8s.example:6443/api/v1/namespaces/shop'),
    ]
    assert calls[4]['body'] == {'metadata': {'name': 'shop'}}
    assert calls[4]['headers']['Content-Type'] == 'application/json'


def test_credentials_and_default_headers_are_sent(server):
    calls, _answers = server
    kube().api.read_namespace('shop')
    headers = calls[0]['headers']
    assert headers['authorization'] == 'Bearer any' and headers['Accept'] == 'application/json'
    assert 'User-Agent' in headers


def test_impersonation_headers_are_sent(server):
    calls, _answers = server
    client = k8s.api_client(params(impersonate_user='alice', impersonate_groups=['ops']))
    k8s.KubeClient(client).api.list_namespaced_pod('shop')
    assert calls[0]['headers']['Impersonate-User'] == 'alice', calls[0]['headers']


def test_names_are_quoted_in_the_path(server):
    calls, _answers = server
    kube().api.read_namespaced_pod('a/b', 'ns x')
    assert calls[0]['url'].endswith('/api/v1/namespaces/ns%20x/pods/a%2Fb')


def test_application_kinds_use_their_group(server):
    calls, answers = server
    answers.append((200, {'items': [{'metadata': {'name': 'web'}}]}))
    found = KubeObjects(kube()).list('Deployment', 'shop')
    KubeObjects(kube()).delete('StatefulSet', 'shop', 'db')
    assert found == [{'metadata': {'name': 'web'}, 'apiVersion': 'apps/v1', 'kind': 'Deployment'}]
    assert calls[0]['url'] == 'http://k8s.example:6443/apis/apps/v1/namespaces/shop/deployments'
    assert calls[1]['method'] == 'DELETE'
    assert calls[1]['url'] == 'http://k8s.example:6443/apis/apps/v1/namespaces/shop/statefulsets/db'
    assert calls[1]['body'] == {'propagationPolicy': 'Background'}


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_every_application_kind_has_its_four_methods(kind):
    api = RestApi(object(), KINDS[kind][0])
    for verb in ('list', 'read', 'create', 'delete'):
        assert callable(getattr(api, '%s_namespaced_%s' % (verb, KINDS[kind][1])))


def test_errors_are_the_clients_api_exception_and_404_reads_are_none(server):
    _calls, answers = server
    status = {'kind': 'Status', 'code': 409, 'reason': 'AlreadyExists', 'message': 'pods "web" already exists'}
    answers.extend([(404, {'kind': 'Status', 'code': 404, 'reason': 'NotFound'}), (409, status)])
    client = kube()
    assert client.get_pod('shop', 'web') is None
    with pytest.raises(k8s.KubernetesError) as error:
        client.create_pod('shop', {'metadata': {'name': 'web'}})
    assert error.value.status == 409 and error.value.reason == 'AlreadyExists'
    assert str(error.value) == ('create pod shop/web: Kubernetes API answered 409 AlreadyExists: '
                                'pods "web" already exists')


def test_answers_are_plain_dicts(server):
    _calls, answers = server
    answers.append((200, {'items': [{'metadata': {'name': 'web', 'creationTimestamp': '2026-12-03T12:00:00Z'}}]}))
    assert kube().list_pods('shop') == [{'metadata': {'name': 'web', 'creationTimestamp': '2026-12-03T12:00:00Z'}}]


@pytest.mark.parametrize('method', ['patch_namespaced_pod', 'list_namespaced_namespace', 'read_pod', 'list_thing',
                                    'read_namespaced_persistent_volume', 'connect_get_namespaced_pod_exec'])
def test_unknown_methods_are_attribute_errors(method):
    with pytest.raises(AttributeError):
        getattr(RestApi(object()), method)


def test_query_names():
    assert query_name('label_selector') == 'labelSelector'
    assert query_name('_continue') == 'continue'
    assert query_name('limit') == 'limit'


def test_typed_api_is_not_built_unless_exec_needs_it(server):
    client = kube()
    client.list_pods('shop')
    assert client._typed_core is None  # pylint: disable=protected-access
    assert client.core.connect_get_namespaced_pod_exec

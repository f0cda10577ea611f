"""Discovery documents, authentication, and the DynamicClient's view of the emulated API."""

import http.client
import json

import pytest
from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException


def test_version_is_public_and_has_git_version(raw):
    status, body = raw.request('GET', '/version', token=False)
    assert status == 200
    assert body['major'] == '1' and body['gitVersion'].startswith('v1.')


def test_wrong_token_is_rejected_even_on_public_paths(raw):
    status, body = raw.request('GET', '/version', token='not-the-token')
    assert status == 401
    assert body == {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'message': 'Unauthorized',
                    'reason': 'Unauthorized', 'code': 401}


def test_missing_token_gets_401_from_the_official_client(server, emu):  # pylint: disable=unused-argument
    configuration = client.Configuration(host=server.base_url)
    with client.ApiClient(configuration) as api:
        with pytest.raises(ApiException) as info:
            client.CoreV1Api(api).list_namespace()
    assert info.value.status == 401


def test_api_and_core_resource_list(raw):
    status, body = raw.request('GET', '/api')
    assert status == 200 and body['kind'] == 'APIVersions' and body['versions'] == ['v1']
    status, body = raw.request('GET', '/api/v1')
    assert status == 200 and body['kind'] == 'APIResourceList' and body['groupVersion'] == 'v1'
    by_name = {r['name']: r for r in body['resources']}
    for name in ('namespaces', 'pods', 'pods/status', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'persistentvolumes',
                 'persistentvolumes/status', 'events'):
        assert name in by_name, name
    assert by_name['pods']['namespaced'] is True and by_name['pods']['kind'] == 'Pod' and by_name['pods']['shortNames'] == ['po']
    assert by_name['persistentvolumes']['namespaced'] is False and by_name['persistentvolumes']['shortNames'] == ['pv']
    assert 'watch' in by_name['persistentvolumeclaims']['verbs'] and by_name['persistentvolumeclaims']['shortNames'] == ['pvc']
    assert by_name['pods/status']['verbs'] == ['get', 'patch', 'update']


def test_groups_and_storage_resources(raw):
    status, body = raw.request('GET', '/apis')
    assert status == 200 and body['kind'] == 'APIGroupList'
    group = next(g for g in body['groups'] if g['name'] == 'storage.k8s.io')
    assert group['preferredVersion']['groupVersion'] == 'storage.k8s.io/v1'
    status, body = raw.request('GET', '/apis/storage.k8s.io/v1')
    assert status == 200 and body['groupVersion'] == 'storage.k8s.io/v1'
    sc = next(r for r in body['resources'] if r['name'] == 'storageclasses')
    assert sc['kind'] == 'StorageClass' and sc['namespaced'] is False and sc['shortNames'] == ['sc']


def test_openapi_and_unknown_paths_are_404(raw):
    assert raw.request('GET', '/openapi/v2')[0] == 404
    status, body = raw.request('GET', '/api/v1/widgets')
    assert status == 404 and body['reason'] == 'NotFound'


def test_dynamic_client_discovers_core_and_storage(dyn):
    pods = dyn.resources.get(api_version='v1', kind='Pod')
    assert pods.namespaced and pods.name == 'pods' and 'status' in pods.subresources
    classes = dyn.resources.get(api_version='storage.k8s.io/v1', kind='StorageClass')
    assert not classes.namespaced
    names = [item.metadata.name for item in classes.get().items]
    assert names == ['csi-cinder-sc']
    assert dyn.version['kubernetes']['major'] == '1'


def test_kubeconfig_context_is_localcloud(kubeconfig, server):
    contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
    assert active['name'] == 'localcloud' and [c['name'] for c in contexts] == ['localcloud']
    api = config.new_client_from_config(config_file=kubeconfig)
    try:
        assert api.configuration.host == server.base_url
        names = {ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items}
        assert {'default', 'kube-system'} <= names
        assert dynamic.DynamicClient  # the dynamic module imports cleanly next to it
    finally:
        api.close()


def test_rejected_request_body_is_drained_on_kept_alive_connection(server, emu):  # pylint: disable=unused-argument
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request('POST', '/api/v1/namespaces/default/pods', body=json.dumps({'metadata': {'name': 'x'}}),
                     headers={'Content-Type': 'application/json'})
        first = conn.getresponse()
        first.read()
        conn.request('GET', '/api/v1/namespaces/default', headers={'Authorization': f'Bearer {server.token}'})
        second = conn.getresponse()
        assert (first.status, second.status) == (401, 200)
        assert json.loads(second.read())['metadata']['name'] == 'default'
    finally:
        conn.close()

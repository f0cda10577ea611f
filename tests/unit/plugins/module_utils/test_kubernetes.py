"""The Kubernetes client factory: options, K8S_AUTH_* fallbacks, kubeconfig handling, error messages."""
import json

import pytest
from kubernetes.client.rest import ApiException

from ansible_collections.dataprotection.openstack.plugins.module_utils import args
from ansible_collections.dataprotection.openstack.plugins.module_utils import kubernetes as k8s
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError

KUBECONFIG = {
    'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'one',
    'clusters': [{'name': 'c1', 'cluster': {'server': 'https://one.example:6443'}},
                 {'name': 'c2', 'cluster': {'server': 'https://two.example:6443', 'insecure-skip-tls-verify': True}}],
    'users': [{'name': 'u1', 'user': {'token': 'tok-one'}}, {'name': 'u2', 'user': {'token': 'tok-two'}}],
    'contexts': [{'name': 'one', 'context': {'cluster': 'c1', 'user': 'u1'}},
                 {'name': 'two', 'context': {'cluster': 'c2', 'user': 'u2'}}],
}


def params(**kwargs):
    base = dict((k, None) for k in args.kubernetes_argument_spec())
    base.update(kwargs)
    return base


def test_spec_names_do_not_clash_with_openstack_options():
    from ansible_collections.dataprotection.openstack.plugins.module_utils.args import openstack_argument_spec
    ours, theirs = args.kubernetes_argument_spec(), openstack_argument_spec()
    names = set(ours) | set(a for o in ours.values() for a in o.get('aliases', []))
    other = set(theirs) | set(a for o in theirs.values() for a in o.get('aliases', []))
    assert not names & other
    assert ours['api_key']['no_log'] and ours['password']['no_log']


def test_kubeconfig_dict_and_context():
    cfg = k8s.configuration(params(kubeconfig=KUBECONFIG), environ={})
    assert cfg.host == 'https://one.example:6443' and cfg.api_key['BearerToken'] == 'Bearer tok-one'
    cfg = k8s.configuration(params(kubeconfig=KUBECONFIG, context='two'), environ={})
    assert cfg.host == 'https://two.example:6443' and cfg.verify_ssl is False


def test_kubeconfig_path_and_overrides(tmp_path):
    path = tmp_path / 'kc'
    path.write_text(json.dumps(KUBECONFIG))
    cfg = k8s.configuration(params(kubeconfig=str(path), host='https://override:443', api_key='secret',
                                   k8s_validate_certs=False, k8s_ca_cert='/ca.pem', proxy='http://proxy:3128'),
                            environ={})
    assert cfg.host == 'https://override:443' and cfg.api_key == {'BearerToken': 'Bearer secret'}
    assert cfg.verify_ssl is False and cfg.ssl_ca_cert == '/ca.pem' and cfg.proxy == 'http://proxy:3128'


def test_awx_environment(tmp_path):
    env = {'K8S_AUTH_HOST': 'https://awx-cluster:6443', 'K8S_AUTH_API_KEY': 'awx-token',
           'K8S_AUTH_VERIFY_SSL': 'no', 'K8S_AUTH_SSL_CA_CERT': '/awx/ca.crt'}
    cfg = k8s.configuration(params(), environ=env)
    assert cfg.host == 'https://awx-cluster:6443' and cfg.api_key['BearerToken'] == 'Bearer awx-token'
    assert cfg.verify_ssl is False and cfg.ssl_ca_cert == '/awx/ca.crt'
    # an option beats its variable
    assert k8s.configuration(params(host='https://mine'), environ=env).host == 'https://mine'
    path = tmp_path / 'kc'
    path.write_text(json.dumps(KUBECONFIG))
    cfg = k8s.configuration(params(), environ={'K8S_AUTH_KUBECONFIG': str(path), 'K8S_AUTH_CONTEXT': 'two'})
    assert cfg.host == 'https://two.example:6443'


def test_missing_credentials_and_bad_kubeconfig(tmp_path):
    with pytest.raises(ProtectionError, match='no Kubernetes credentials'):
        k8s.configuration(params(), environ={'KUBECONFIG': str(tmp_path / 'none')})
    with pytest.raises(ProtectionError, match='does not exist'):
        k8s.configuration(params(kubeconfig=str(tmp_path / 'none')), environ={})
    with pytest.raises(ProtectionError, match='invalid kubeconfig'):
        k8s.configuration(params(kubeconfig=KUBECONFIG, context='nope'), environ={})


def test_describe_error_uses_the_status_body():
    exc = ApiException(status=409, reason='Conflict')
    exc.body = json.dumps({'kind': 'Status', 'message': 'pods "x" already exists', 'reason': 'AlreadyExists'})
    assert k8s.describe_error(exc, 'create pod ns/x') == \
        'create pod ns/x: Kubernetes API answered 409 AlreadyExists: pods "x" already exists'
    assert 'cannot reach the Kubernetes API' in k8s.describe_error(ConnectionRefusedError('refused'))


# -- kubernetes.core options: plain TLS names, impersonation, proxy_headers, persist_config --------------------------
def test_plain_tls_names_only_in_kubernetes_only_modules():
    plain = args.kubernetes_argument_spec(plain_tls_names=True)
    for option, name in (('k8s_validate_certs', 'validate_certs'), ('k8s_ca_cert', 'ca_cert'),
                         ('k8s_client_cert', 'client_cert'), ('k8s_client_key', 'client_key')):
        assert name in plain[option]['aliases'] and name not in args.kubernetes_argument_spec()[option]['aliases']
    from ansible_collections.dataprotection.openstack.plugins.modules.k8s_pod_protectable_info import (
        K8sPodProtectableInfoModule,
    )
    from ansible_collections.dataprotection.openstack.plugins.modules.k8s_pod_protect import K8sPodProtectModule
    assert 'validate_certs' in K8sPodProtectableInfoModule.full_argument_spec()['k8s_validate_certs']['aliases']
    assert 'validate_certs' not in K8sPodProtectModule.full_argument_spec()['k8s_validate_certs']['aliases']


def test_new_options_follow_kubernetes_core():
    spec = args.kubernetes_argument_spec()
    assert spec['impersonate_user'] == dict(type='str')
    assert spec['impersonate_groups'] == dict(type='list', elements='str')
    assert spec['persist_config'] == dict(type='bool')
    assert set(spec['proxy_headers']['options']) == {'basic_auth', 'proxy_basic_auth', 'user_agent'}
    assert spec['proxy_headers']['options']['basic_auth']['no_log']
    assert spec['proxy_headers']['options']['proxy_basic_auth']['no_log']


def test_proxy_headers_option_and_environment():
    cfg = k8s.configuration(params(kubeconfig=KUBECONFIG, proxy='http://proxy:3128', proxy_headers=dict(
        proxy_basic_auth='me:pw', basic_auth=None, user_agent='agent/1')), environ={})
    assert cfg.proxy_headers == {'proxy-authorization': 'Basic bWU6cHc=', 'user-agent': 'agent/1'}
    env = {'K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH': 'a:b', 'K8S_AUTH_PROXY_HEADERS_USER_AGENT': 'env-agent'}
    cfg = k8s.configuration(params(kubeconfig=KUBECONFIG), environ=env)
    assert cfg.proxy_headers == {'proxy-authorization': 'Basic YTpi', 'user-agent': 'env-agent'}
    assert k8s.configuration(params(kubeconfig=KUBECONFIG), environ={}).proxy_headers is None


def test_persist_config_is_passed_to_the_loader(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(k8s.k8s_config, 'load_kube_config', lambda **kwargs: calls.append(kwargs['persist_config']))
    monkeypatch.setattr(k8s.k8s_config, 'load_kube_config_from_dict',
                        lambda *args, **kwargs: calls.append(kwargs['persist_config']))
    path = tmp_path / 'kc'
    path.write_text(json.dumps(KUBECONFIG))
    k8s.configuration(params(kubeconfig=str(path)), environ={})
    k8s.configuration(params(kubeconfig=str(path), persist_config=True), environ={})
    k8s.configuration(params(kubeconfig=KUBECONFIG), environ={'K8S_AUTH_PERSIST_CONFIG': 'true'})
    k8s.configuration(params(), environ={'KUBECONFIG': str(path), 'K8S_AUTH_PERSIST_CONFIG': 'no'})
    assert calls == [False, True, True, False]


def test_impersonation_headers_option_and_environment():
    client = k8s.api_client(params(kubeconfig=KUBECONFIG, impersonate_user='alice',
                                   impersonate_groups=['dev', 'ops']), environ={})
    headers = sorted((str(name), value) for name, value in client.default_headers.items() if name.startswith('Imp'))
    assert headers == [('Impersonate-Group', 'dev'), ('Impersonate-Group', 'ops'), ('Impersonate-User', 'alice')]
    client = k8s.api_client(params(kubeconfig=KUBECONFIG),
                            environ={'K8S_AUTH_IMPERSONATE_USER': 'bob', 'K8S_AUTH_IMPERSONATE_GROUPS': 'a, b,'})
    headers = sorted((str(name), value) for name, value in client.default_headers.items() if name.startswith('Imp'))
    assert headers == [('Impersonate-Group', 'a'), ('Impersonate-Group', 'b'), ('Impersonate-User', 'bob')]
    client = k8s.api_client(params(kubeconfig=KUBECONFIG), environ={})
    assert not [name for name in client.default_headers if name.startswith('Imp')]


def test_impersonation_headers_reach_the_server():
    """Each group is its own Impersonate-Group header line on the wire (the API server reads one group per line)."""
    import socket
    import threading
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    received = []

    def serve():
        conn, _ = server.accept()
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        received.append(data.decode())
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n'
                     b'Connection: close\r\n\r\n{}')
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        server_url = 'http://127.0.0.1:%d' % server.getsockname()[1]
        config = dict(KUBECONFIG, clusters=[{'name': 'c1', 'cluster': {'server': server_url}}])
        client = k8s.api_client(params(kubeconfig=config, impersonate_user='alice', impersonate_groups=['dev', 'ops'],
                                       api_timeout=5), environ={})
        k8s.KubeClient(client).get_namespace('default')
        thread.join(5)
    finally:
        server.close()
    lines = received[0].lower().split('\r\n')
    assert 'impersonate-user: alice' in lines
    assert 'impersonate-group: dev' in lines and 'impersonate-group: ops' in lines

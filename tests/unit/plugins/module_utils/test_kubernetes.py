"""The Kubernetes client factory: options, K8S_AUTH_* fallbacks, kubeconfig handling, error messages."""
import json

import pytest
from kubernetes.client.rest import ApiException

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
    base = dict((k, None) for k in k8s.kubernetes_argument_spec())
    base.update(kwargs)
    return base


def test_spec_names_do_not_clash_with_openstack_options():
    from ansible_collections.dataprotection.openstack.plugins.module_utils.args import openstack_argument_spec
    ours, theirs = k8s.kubernetes_argument_spec(), openstack_argument_spec()
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

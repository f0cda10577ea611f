"""Secrets inside dict-form ``cloud`` / ``kubeconfig``: which leaves are secret, and that every result masks them."""
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule, secret_values
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError

MASK = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
PASSWORD = 'pw-Secret-4711'
APP_SECRET = 'app-cred-secret-0815'
TOKEN = 'k8s-bearer-token-2a9f'
CLIENT_KEY = 'LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t'
EXEC_ENV = 'aws-session-9c1e'

CLOUD = {
    'auth': {'auth_url': 'https://keystone.example.com:5000/v3', 'username': 'demo', 'password': PASSWORD,
             'project_name': 'demo', 'user_domain_name': 'Default', 'project_domain_name': 'Default'},
    'region_name': 'RegionOne',
    'identity_api_version': 3,
    'verify': True,
}

KUBECONFIG = {
    'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'prod',
    'clusters': [{'name': 'prod', 'cluster': {'server': 'https://k8s.example.com:6443',
                                              'certificate-authority-data': 'Q0EtREFUQQ=='}}],
    'users': [
        {'name': 'admin', 'user': {'token': TOKEN}},
        {'name': 'cert', 'user': {'client-certificate-data': 'Q0VSVA==', 'client-key-data': CLIENT_KEY}},
        {'name': 'exec', 'user': {'exec': {'command': 'aws', 'args': ['eks', 'get-token'],
                                           'env': [{'name': 'AWS_SESSION_TOKEN', 'value': EXEC_ENV}]}}},
    ],
    'contexts': [{'name': 'prod', 'context': {'cluster': 'prod', 'user': 'admin', 'namespace': 'shop'}}],
}


# -- secret_values ------------------------------------------------------------------------------------------------
def test_cloud_dict_secrets():
    cloud = json.loads(json.dumps(CLOUD))
    cloud['auth'].update(application_credential_id='ac-id', application_credential_secret=APP_SECRET)
    cloud['auth']['token'] = 'tok-1'
    found = set(secret_values(cloud))
    assert {PASSWORD, APP_SECRET, 'tok-1'} <= found
    # readable: names, URLs, numbers and booleans that would otherwise be masked everywhere in the output
    for value in ('demo', 'Default', 'RegionOne', '3', 'True', 'https://keystone.example.com:5000/v3'):
        assert value not in found
    # the id of an application credential sits under a key naming a credential: masked too (conservative)
    assert 'ac-id' in found


def test_kubeconfig_dict_secrets():
    found = set(secret_values(KUBECONFIG))
    assert {TOKEN, CLIENT_KEY, EXEC_ENV} <= found
    # everything under users[].user is secret, the rest (server, context user name, namespace) is not
    assert 'Q0VSVA==' in found and 'aws' in found
    for value in ('https://k8s.example.com:6443', 'admin', 'prod', 'shop', 'Config', 'Q0EtREFUQQ=='):
        assert value not in found


@pytest.mark.parametrize('value', [None, 'mycloud', '~/.kube/config', 3, [], {}])
def test_name_or_path_form_has_no_secret(value):
    assert list(secret_values(value)) == []


def test_empty_and_none_secrets_are_skipped():
    assert list(secret_values({'auth': {'password': '', 'token': None, 'secret': False}})) == []


# -- the module masks them in every result --------------------------------------------------------------------
class Both(ProtectionModule):
    """Both connection options, like k8s_pod_protect."""
    option_groups = ('openstack', 'kubernetes')
    argument_spec = dict(kind=dict(type='str', default='ok'))

    def run(self):
        if self.params['kind'] == 'error':
            raise ProtectionError('cannot authenticate as demo')
        if self.params['kind'] == 'echo':
            # a secret that makes it into a value the module returns is masked there too
            return dict(changed=False, msg='password was %s' % PASSWORD)
        return dict(changed=False, region='RegionOne')


def run(args, capsys, inject=True, no_log=False):
    args = dict(args, _ansible_inject_invocation=inject)
    if no_log:
        args['_ansible_no_log'] = True
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            Both()()
    out = capsys.readouterr().out
    return out, json.loads(out)


def assert_masked(out, result):
    for secret in (PASSWORD, TOKEN, CLIENT_KEY, EXEC_ENV):
        assert secret not in out
    module_args = result['invocation']['module_args']
    assert module_args['cloud']['auth']['password'] == MASK
    assert module_args['cloud']['auth']['username'] == 'demo'
    assert module_args['cloud']['identity_api_version'] == 3
    assert module_args['kubeconfig']['users'][0]['user']['token'] == MASK
    assert module_args['kubeconfig']['users'][0]['name'] == 'admin'
    assert module_args['kubeconfig']['clusters'][0]['cluster']['server'] == 'https://k8s.example.com:6443'


@pytest.mark.parametrize('kind', ['ok', 'error'])
def test_success_and_failure_results_are_masked(kind, capsys):
    out, result = run(dict(cloud=CLOUD, kubeconfig=KUBECONFIG, kind=kind), capsys)
    assert bool(result.get('failed')) is (kind == 'error')
    assert_masked(out, result)


def test_secret_in_a_returned_value_is_masked(capsys):
    out, result = run(dict(cloud=CLOUD, kubeconfig=KUBECONFIG, kind='echo'), capsys)
    assert result['msg'] == 'password was ********'
    assert_masked(out, result)


def test_argument_validation_failure_is_masked(capsys):
    """ansible-core fails the task inside AnsibleModule.__init__ (unknown option), before the invocation is logged."""
    out, result = run(dict(cloud=CLOUD, kubeconfig=KUBECONFIG, not_an_option=1), capsys)
    assert result['failed'] and 'Unsupported parameters' in result['msg']
    assert_masked(out, result)


def test_no_log_task_is_masked(capsys):
    """With no_log on the task the invocation is not logged, but still injected into the result."""
    out, result = run(dict(cloud=CLOUD, kubeconfig=KUBECONFIG), capsys, no_log=True)
    assert_masked(out, result)


def test_without_injection_there_is_no_invocation(capsys):
    out, result = run(dict(cloud=CLOUD, kubeconfig=KUBECONFIG), capsys, inject=False)
    assert 'invocation' not in result and PASSWORD not in out and TOKEN not in out

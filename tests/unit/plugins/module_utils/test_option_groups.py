"""Module glue: option groups, the protection's name and its aliases, finish(), the lazy bank."""
import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils import args
from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result
from ansible_collections.dataprotection.openstack.tests.unit.fakes import run_module


def test_groups_merge_their_specs():
    spec = args.group_argument_spec(('openstack', 'wait', 'bank'))
    assert {'cloud', 'auth', 'api_timeout', 'wait', 'timeout', 'poll_interval', 'bank'} <= set(spec)
    assert 'kubeconfig' not in spec
    assert 'wait' not in args.group_argument_spec(('openstack',))


def test_kubernetes_alone_takes_plain_tls_names_and_api_timeout():
    alone = args.group_argument_spec(('kubernetes',))
    both = args.group_argument_spec(('openstack', 'kubernetes'))
    assert 'validate_certs' in alone['k8s_validate_certs']['aliases']
    assert alone['api_timeout'] == dict(type='int') and 'cloud' not in alone
    assert 'validate_certs' not in both['k8s_validate_certs']['aliases']
    assert both['validate_certs'] == args.openstack_argument_spec()['validate_certs']


def test_unknown_group_refused():
    with pytest.raises(ValueError, match='unknown option groups kube'):
        args.group_argument_spec(('openstack', 'kube'))


def test_protection_spec_and_aliases():
    spec = args.protection_argument_spec('snapshot_name')
    assert spec == {'protection': dict(type='str', required=True, aliases=['snapshot_name'])}
    assert args.protection_argument_spec('backup_name', required=False)['protection']['required'] is False


class Named(ProtectionModule):
    option_groups = ('openstack', 'bank')
    argument_spec = dict(args.protection_argument_spec('backup_name'))
    name_options = ('protection',)

    def run(self):
        return dict(changed=False, protection=self.params['protection'], bank=self.bank.location,
                    same_bank=self.bank is self.bank)


def test_groups_declared_once_become_options(capsys, tmp_path):
    spec = Named.full_argument_spec()
    assert 'bank' in spec and 'cloud' in spec and 'timeout' not in spec
    out = run_module(Named, {'backup_name': 'nightly', 'bank': {'path': str(tmp_path)}}, capsys)
    assert out['rc'] == 0 and out['protection'] == 'nightly'
    assert str(tmp_path) in out['bank'] and out['same_bank'] is True
    out = run_module(Named, {'protection': 'nightly', 'timeout': 5}, capsys)
    assert out['failed'] is True and 'timeout' in out['msg']


def test_messages_name_the_option_as_the_task_wrote_it(capsys):
    out = run_module(Named, {'backup_name': ' padded'}, capsys)
    assert out['failed'] is True and out['msg'].startswith('backup_name ')
    out = run_module(Named, {'protection': ''}, capsys)
    assert out['failed'] is True and out['msg'].startswith('protection ')


def test_missing_required_option_names_its_alias(capsys):
    out = run_module(Named, {}, capsys)
    assert out['failed'] is True
    assert out['msg'] == 'missing required arguments: protection (alias backup_name)'


def test_bank_group_checks_the_bank(capsys):
    out = run_module(Named, {'protection': 'p', 'bank': {'type': 'swift', 'container': 'a/b'}}, capsys)
    assert out['failed'] is True and 'bank.container' in out['msg']


class Finished(ProtectionModule):
    option_groups = ()
    argument_spec = dict(kind=dict(type='str', default='single'))

    def run(self):
        if self.params['kind'] == 'list':
            return self.finish(Result(True, before=[], after=[{'id': 'a'}]), list_key='snapshots')
        result = Result(True, before=None, after={'id': 'a'}, plan=['step'], snapshot={'id': 'a'})
        return self.finish(result, drop=('plan',), deleted=[])


def test_finish_shapes_result_and_diff(capsys):
    out = run_module(Finished, {'_ansible_diff': True}, capsys)
    assert out['changed'] is True and out['snapshot'] == {'id': 'a'} and out['deleted'] == []
    assert 'plan' not in out and 'before' not in out and 'after' not in out
    assert out['diff'] == {'before': {}, 'after': {'id': 'a'}}
    out = run_module(Finished, {'kind': 'list', '_ansible_diff': True}, capsys)
    assert out['diff'] == {'before': {'snapshots': []}, 'after': {'snapshots': [{'id': 'a'}]}}
    assert 'deleted' not in out
    out = run_module(Finished, {}, capsys)
    assert 'diff' not in out

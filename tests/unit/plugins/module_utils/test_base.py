"""The module base: argument merging, validation, error mapping without tracebacks."""
import json

from keystoneauth1 import exceptions as ksa_exceptions

from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule, diff_result
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.tests.unit.fakes import run_module


class Echo(ProtectionModule):
    argument_spec = dict(name=dict(type='str', required=True), password=dict(type='str', no_log=True))

    def run(self):
        return dict(changed=not self.check_mode, name=self.params['name'], wait=self.wait_options())


class Fails(ProtectionModule):
    argument_spec = dict(kind=dict(type='str', required=True))

    def run(self):
        if self.params['kind'] == 'expected':
            raise ProtectionError('volume vol1: not found', volume='vol1')
        if self.params['kind'] == 'sdk':
            raise ksa_exceptions.ConnectFailure('Unable to establish connection to http://127.0.0.1:8776')
        raise RuntimeError('boom')


def test_shared_options_merged_and_defaults(capsys):
    out = run_module(Echo, {'name': 'n'}, capsys)
    assert out['rc'] == 0
    assert out['wait'] == {'wait': True, 'timeout': 180, 'poll_interval': 2.0}
    assert out['changed'] is True


def test_check_mode_plumbed(capsys):
    out = run_module(Echo, {'name': 'n', '_ansible_check_mode': True}, capsys)
    assert out['changed'] is False


def test_required_option_missing_is_clean_failure(capsys):
    out = run_module(Echo, {}, capsys)
    assert out['failed'] is True and 'name' in out['msg']


def test_unknown_option_rejected(capsys):
    out = run_module(Echo, {'name': 'n', 'bogus': 1}, capsys)
    assert out['failed'] is True and 'bogus' in out['msg']


def test_negative_timeout_rejected(capsys):
    out = run_module(Echo, {'name': 'n', 'timeout': -5}, capsys)
    assert out['failed'] is True and 'timeout' in out['msg']


def test_zero_poll_interval_rejected(capsys):
    out = run_module(Echo, {'name': 'n', 'poll_interval': 0}, capsys)
    assert out['failed'] is True and 'poll_interval' in out['msg']


def test_expected_error_is_one_message_with_result_keys(capsys):
    out = run_module(Fails, {'kind': 'expected'}, capsys)
    assert out['failed'] is True
    assert out['msg'] == 'volume vol1: not found'
    assert out['volume'] == 'vol1'
    assert 'exception' not in out


def test_sdk_error_mapped_without_traceback(capsys):
    out = run_module(Fails, {'kind': 'sdk'}, capsys)
    assert out['failed'] is True
    assert out['msg'].startswith('cannot reach the OpenStack API') and '8776' in out['msg']
    assert 'exception' not in out


def test_unexpected_error_single_message(capsys):
    out = run_module(Fails, {'kind': 'other'}, capsys)
    assert out['failed'] is True
    assert out['msg'] == 'unexpected error: RuntimeError: boom'


def test_secrets_not_in_output(capsys):
    out = run_module(Echo, {'name': 'n', 'password': 'hunter2', 'auth': {'password': 's3cr3t-pw'}}, capsys)
    assert 'hunter2' not in json.dumps(out) and 's3cr3t-pw' not in json.dumps(out)


def test_diff_result():
    assert diff_result({'changed': True}, {'a': 1}, None, True)['diff'] == {'before': {'a': 1}, 'after': {}}
    assert 'diff' not in diff_result({'changed': True}, {'a': 1}, None, False)


# -- elapsed and timings ------------------------------------------------------------------------------------------
class Timed(ProtectionModule):
    argument_spec = dict(kind=dict(type='str', required=True))

    def run(self):
        from ansible_collections.dataprotection.openstack.plugins.module_utils.timings import Timings
        timings = Timings()
        self.report_timings(timings)
        with timings.step('first'):
            pass
        if self.params['kind'] == 'fail':
            raise ProtectionError('second step failed')
        return diff_result(dict(changed=True), {'a': 1}, {'a': 2}, True)


def test_elapsed_in_every_result(capsys):
    out = run_module(Echo, {'name': 'n'}, capsys)
    assert isinstance(out['elapsed'], float) and 0 <= out['elapsed'] < 60
    assert 'timings' not in out
    for kind in ('expected', 'sdk', 'other'):
        out = run_module(Fails, {'kind': kind}, capsys)
        assert out['failed'] is True and isinstance(out['elapsed'], float)
    out = run_module(Echo, {}, capsys)  # argument validation failed
    assert out['failed'] is True and isinstance(out['elapsed'], float)


def test_timings_in_success_and_failure_and_not_in_diff(capsys):
    out = run_module(Timed, {'kind': 'ok', '_ansible_diff': True}, capsys)
    assert [t['step'] for t in out['timings']] == ['first'] and isinstance(out['timings'][0]['seconds'], float)
    assert out['diff'] == {'before': {'a': 1}, 'after': {'a': 2}}
    out = run_module(Timed, {'kind': 'fail'}, capsys)
    assert out['failed'] is True and [t['step'] for t in out['timings']] == ['first']
    assert isinstance(out['elapsed'], float)

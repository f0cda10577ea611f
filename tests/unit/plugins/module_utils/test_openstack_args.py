"""Connection options -> openstacksdk arguments, and SDK errors -> one message."""
import os

import pytest
from keystoneauth1 import exceptions as ksa_exceptions
from openstack import exceptions as sdk_exceptions

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils.args import (
    openstack_argument_spec,
    wait_argument_spec,
)

BASE = {name: spec.get('default') for name, spec in openstack_argument_spec().items()}


def test_named_cloud_and_options_are_mapped():
    params = dict(BASE, cloud='prod', region_name='R2', validate_certs=False, ca_cert='/ca.pem',
                  client_cert='/c.pem', client_key='/k.pem', api_timeout=30, interface='internal')
    kwargs = os_connection.connection_arguments(params)
    assert kwargs == {
        'cloud': 'prod', 'region_name': 'R2', 'verify': False, 'cacert': '/ca.pem', 'cert': '/c.pem',
        'key': '/k.pem', 'api_timeout': 30, 'interface': 'internal',
        'shared_file_system_api_version': os_connection.SHARED_FILE_SYSTEM_MICROVERSION,
    }


def test_cloud_as_dict_and_auth():
    params = dict(BASE, cloud={'auth': {'auth_url': 'http://k:5000/v3'}, 'region_name': 'X'},
                  auth_type='password')
    kwargs = os_connection.connection_arguments(params)
    assert kwargs['auth'] == {'auth_url': 'http://k:5000/v3'}
    assert kwargs['region_name'] == 'X' and kwargs['auth_type'] == 'password'
    assert 'cloud' not in kwargs


def test_unset_options_are_not_passed_so_env_and_clouds_yaml_apply():
    kwargs = os_connection.connection_arguments(dict(BASE, interface=None))
    assert kwargs == {'shared_file_system_api_version': os_connection.SHARED_FILE_SYSTEM_MICROVERSION}


def test_sole_cloud_from_os_client_config_file_is_used(tmp_path, monkeypatch):
    # AWX: only OS_CLIENT_CONFIG_FILE with one cloud, no cloud option.
    clouds = tmp_path / 'clouds.yaml'
    clouds.write_text('clouds:\n  devstack:\n    auth:\n      auth_url: http://127.0.0.9:5000/v3\n'
                      '      username: u\n      password: secret\n      project_name: p\n'
                      '      user_domain_name: Default\n      project_domain_name: Default\n'
                      '    region_name: AWXREGION\n')
    for var in [v for v in os.environ if v.startswith('OS_')]:
        monkeypatch.delenv(var)
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(clouds))
    conn = os_connection.connect(dict(BASE))
    assert conn.config.name == 'devstack'
    assert conn.config.get_region_name() == 'AWXREGION'
    assert conn.config.config['auth']['auth_url'] == 'http://127.0.0.9:5000/v3'


def test_secrets_are_no_log():
    spec = openstack_argument_spec()
    assert spec['auth']['no_log'] is True
    assert spec['client_key']['no_log'] is False  # a path, not a secret; stated explicitly for sanity


def test_wait_defaults():
    spec = wait_argument_spec()
    assert spec['wait']['default'] is True
    assert spec['timeout']['default'] == 180
    assert spec['poll_interval']['default'] == 2.0


def test_describe_http_error_names_status_and_reason():
    exc = sdk_exceptions.BadRequestException(message='Bad', details='Invalid volume: Volume status must be available')
    msg = os_connection.describe_error(exc)
    assert 'Invalid volume: Volume status must be available' in msg


def test_describe_connect_failure():
    exc = ksa_exceptions.ConnectFailure('Unable to establish connection to http://127.0.0.1:8776: refused')
    msg = os_connection.describe_error(exc)
    assert msg.startswith('cannot reach the OpenStack API') and '8776' in msg
    assert os_connection.is_sdk_error(exc)


@pytest.mark.parametrize('exc,expected', [
    (sdk_exceptions.NotFoundException(message='nope'), True),
    (sdk_exceptions.BadRequestException(message='bad'), False),
    (ValueError('x'), False),
])
def test_is_not_found(exc, expected):
    assert os_connection.is_not_found(exc) is expected

"""openstack.trust_versioned_auth_url: an auth_url naming v3 skips the Identity discovery request; anything else
keeps openstacksdk's generic plugin."""
import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection

AUTH = dict(username='u', password='p', project_name='p', user_domain_name='Default', project_domain_name='Default')


def region(**auth):
    import openstack.config
    return openstack.config.get_cloud_region(load_yaml_config=False, load_envvars=False, auth_type='password',
                                             auth=dict(AUTH, **auth))


def test_versioned_v3_url_uses_v3_plugin():
    from keystoneauth1.identity import v3
    reg = region(auth_url='http://keystone.example:5000/v3')
    assert os_connection.trust_versioned_auth_url(reg) is True
    assert isinstance(reg.get_auth(), v3.Password)
    assert reg.get_auth().auth_url == 'http://keystone.example:5000/v3'


@pytest.mark.parametrize('auth', [dict(auth_url='http://keystone.example:5000'),
                                  dict(auth_url='http://keystone.example:5000/identity'),
                                  dict(auth_url='http://keystone.example:5000/v2.0')])
def test_anything_else_keeps_discovery(auth):
    from keystoneauth1.identity import v3
    reg = region(**auth)
    before = reg.get_auth()
    assert os_connection.trust_versioned_auth_url(reg) is False
    assert reg.get_auth() is before and not isinstance(before, v3.Password)


def test_scope_to_project_keeps_the_user_and_replaces_the_project():
    """Issue 16 (all_projects): the same credentials, scoped to the volume's project, and the v3 shortcut still
    applies afterwards."""
    from keystoneauth1.identity import v3
    reg = region(auth_url='http://keystone.example:5000/v3')
    os_connection.scope_to_project(reg, 'p-42')
    assert os_connection.trust_versioned_auth_url(reg) is True
    plugin = reg.get_auth()
    assert isinstance(plugin, v3.Password) and plugin.project_id == 'p-42'
    assert plugin.project_name is None and plugin.project_domain_name is None
    assert reg.config['auth']['username'] == 'u' and reg.config['auth']['user_domain_name'] == 'Default'

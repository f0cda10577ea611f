"""Fixtures of the compat smoke tests: the integration suite's own (local cloud, connections, volumes, shares).

tests/integration/conftest.py and tests/integration/modules/conftest.py are loaded under their own module names
and their fixtures re-exported, so the smoke tests start the local cloud, create and clean up resources exactly
as the integration tests do. ``playbook_runner`` (tests/integration/modules) runs the plays.
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), 'integration')
if os.path.join(INTEGRATION, 'modules') not in sys.path:
    sys.path.insert(0, os.path.join(INTEGRATION, 'modules'))


def _load(path, name):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_CLOUD = _load(os.path.join(INTEGRATION, 'conftest.py'), 'dp_integration_conftest')
_MODULES = _load(os.path.join(INTEGRATION, 'modules', 'conftest.py'), 'dp_integration_modules_conftest')

# pylint: disable=invalid-name
localcloud = _CLOUD.localcloud
clouds_yaml = _CLOUD.clouds_yaml
os_conn_factory = _CLOUD.os_conn_factory
lc_admin = _CLOUD.lc_admin
lc_demo = _CLOUD.lc_demo
lc_demo2 = _CLOUD.lc_demo2
clouds_yaml_path = _MODULES.clouds_yaml_path
admin_conn = _MODULES.admin_conn
demo_conn = _MODULES.demo_conn
cloud_env = _MODULES.cloud_env
unique = _MODULES.unique
make_volume = _MODULES.make_volume
manila = _MODULES.manila
manila_admin = _MODULES.manila_admin
make_share = _MODULES.make_share

# helpers (not fixtures) for the tests: ``from conftest import ...`` as in the integration tests
snapshots_of = _MODULES.snapshots_of
get_or_none = _MODULES.get_or_none
wait_for = _MODULES.wait_status

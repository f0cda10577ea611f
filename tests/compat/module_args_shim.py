"""pytest plugin (``-p module_args_shim``) for the unit tests on ansible-core < 2.19 (the compat step).

The unit tests feed module arguments with ``ansible.module_utils.testing.patch_module_args``, which ansible-core
2.19 added. On older ansible-core this plugin registers that module with the same context manager, implemented
the way those versions read their arguments (``ansible.module_utils.basic._ANSIBLE_ARGS``), and speaking their
protocol: ``_ansible_inject_invocation`` is a 2.19 controller-to-module argument that 2.18 modules refuse, so it
is not passed on (a 2.18 module always returns its masked invocation; the controller removes it). The one test
of a module asked not to inject the invocation is skipped there, with the reason. The modules under test run
unchanged. On ansible-core >= 2.19 the plugin does nothing.
"""
from __future__ import annotations

import contextlib
import json
import sys
import types

import pytest

try:
    import ansible.module_utils.testing  # noqa: F401  pylint: disable=unused-import
    NEEDED = False
except ImportError:
    NEEDED = True

# tests of the 2.19+ controller-to-module protocol, meaningless before it
ONLY_ON_219 = {
    'tests/unit/plugins/module_utils/test_secret_values.py::test_without_injection_there_is_no_invocation':
        'ansible-core < 2.19 modules always return the invocation (the controller removes it); '
        'tests/integration/modules/test_secrets_and_timeouts.py checks 2.18 end to end',
}


def _install():
    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args=None):
        args = dict((key, value) for key, value in (args or {}).items() if key != '_ansible_inject_invocation')
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode('utf-8')
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

    module = types.ModuleType('ansible.module_utils.testing')
    module.__doc__ = 'patch_module_args for ansible-core < 2.19 (tests/compat/module_args_shim.py)'
    module.patch_module_args = patch_module_args
    sys.modules['ansible.module_utils.testing'] = module
    import ansible.module_utils
    ansible.module_utils.testing = module


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    if not NEEDED:
        return
    for item in items:
        reason = ONLY_ON_219.get(item.nodeid)
        if reason:
            item.add_marker(pytest.mark.skip(reason='needs ansible-core >= 2.19: ' + reason))


if NEEDED:
    _install()

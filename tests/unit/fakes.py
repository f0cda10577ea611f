"""Fakes shared by the unit tests (import as ansible_collections.dataprotection.openstack.tests.unit.fakes)."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
from ansible.module_utils.testing import patch_module_args


class Obj:
    """An SDK-resource-like object: the keyword arguments become attributes."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    def __repr__(self):
        return 'Obj(%s)' % ', '.join('%s=%r' % item for item in sorted(self.__dict__.items()))


def run_module(cls, args, capsys):
    """Run a ProtectionModule class with these module args; its JSON result with ``rc`` (0 ok, 1 failed)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit) as info:
            cls()()
    out = json.loads(capsys.readouterr().out)
    out['rc'] = info.value.code
    return out


def run_fresh(code, **env):
    """Run ``code`` in a new interpreter with this test's import path, ``env`` added and no OS_* variables;
    its last output line, parsed as JSON (for what only a fresh process shows: imports, logging set-up)."""
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), **env)
    for name in [n for n in environ if n.startswith('OS_')]:
        del environ[name]
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], env=environ, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])

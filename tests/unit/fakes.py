"""Fakes shared by the unit tests (import as ansible_collections.dataprotection.openstack.tests.unit.fakes)."""
import json

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

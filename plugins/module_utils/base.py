# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module base class, in the style of openstack.cloud's OpenStackModule.

A module subclasses it, declares ``argument_spec`` (merged with the shared
connection and wait options) and implements ``run()``, which returns the
result dict. The base owns the connection, check mode and diff plumbing, and
turns every expected failure into one ``fail_json`` message without a
traceback.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils.args import (
    openstack_argument_spec,
    wait_argument_spec,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError


class ProtectionModule:
    """Glue between an AnsibleModule and an Ansible-free driver."""

    argument_spec = {}
    module_kwargs = {}
    # Shared option groups this module takes; subclasses may drop one.
    use_openstack = True
    use_wait = True

    def __init__(self):
        spec = {}
        if self.use_openstack:
            spec.update(openstack_argument_spec())
        if self.use_wait:
            spec.update(wait_argument_spec())
        spec.update(self.argument_spec)
        self.ansible = AnsibleModule(argument_spec=spec, supports_check_mode=True, **self.module_kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.want_diff = self.ansible._diff
        self._conn = None

    # -- connection -------------------------------------------------------
    @property
    def conn(self):
        """The openstacksdk connection, created on first use."""
        if self._conn is None:
            if not os_connection.HAS_OPENSTACKSDK:
                self.ansible.fail_json(msg=missing_required_lib('openstacksdk'),
                                       exception=os_connection.OPENSTACKSDK_IMPORT_ERROR)
            self._conn = os_connection.connect(self.params)
        return self._conn

    def wait_options(self):
        """wait / timeout / poll_interval, validated."""
        timeout, interval = self.params['timeout'], self.params['poll_interval']
        if timeout is None or timeout < 0:
            raise ProtectionError('timeout must be >= 0 seconds, got %s' % timeout)
        if interval is None or interval <= 0:
            raise ProtectionError('poll_interval must be > 0 seconds, got %s' % interval)
        return dict(wait=self.params['wait'], timeout=timeout, poll_interval=interval)

    # -- contract ---------------------------------------------------------
    def run(self):
        """Do the work; return the result dict (must contain ``changed``)."""
        raise NotImplementedError

    def __call__(self):
        try:
            result = self.run()
        except ProtectionError as exc:
            self.ansible.fail_json(msg=exc.msg, **exc.result)
        except Exception as exc:  # pylint: disable=broad-except
            if os_connection.is_sdk_error(exc):
                self.ansible.fail_json(msg=os_connection.describe_error(exc))
            # Unexpected: still one message; the traceback only under -vvv.
            self.ansible.fail_json(msg='unexpected error: %s: %s' % (type(exc).__name__, exc),
                                   exception=traceback.format_exc())
        self.ansible.exit_json(**result)


def diff_result(result, before, after, enabled):
    """Add Ansible's ``diff`` key when ``--diff`` is on."""
    if enabled:
        result['diff'] = dict(before=before or {}, after=after or {})
    return result

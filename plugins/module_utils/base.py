# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module base class, in the style of openstack.cloud's OpenStackModule.

A module subclasses it, names its shared ``option_groups`` (args.py), declares
its own ``argument_spec`` and implements ``run()``, which returns the result
dict (``finish()`` shapes a driver's Result and its diff). The base owns the
clients (OpenStack connection, Kubernetes client, checkpoint bank, each made
on first use), check mode and diff plumbing, and turns every expected failure
into one ``fail_json`` message without a traceback.
"""

from __future__ import annotations

import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils.args import group_argument_spec
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank import check_bank, open_bank
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils import validation

# Options whose dict form can carry credentials (clouds.yaml ``auth``, kubeconfig ``users``). Their string form is
# a name or a path and stays readable; in the dict form the secret values are masked (see secret_values).
SECRET_DICT_OPTIONS = ('cloud', 'kubeconfig')
# ansible-core's message for missing required options (the base adds the aliases they may be given by).
MISSING_REQUIRED = 'missing required arguments: '
# Keys whose values are secrets, in clouds.yaml, keystoneauth plugins and kubeconfig files (matched as substrings).
SECRET_KEY_PARTS = ('password', 'passwd', 'secret', 'token', 'passcode', 'credential', 'key')


def secret_values(value, secret=False):
    """The secret leaves of a ``cloud``/``kubeconfig`` dict: values under secret-looking keys, and everything a
    kubeconfig ``users[].user`` holds (tokens, exec plugin env, auth-provider config)."""
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key).lower()
            nested = secret or any(part in name for part in SECRET_KEY_PARTS) or (name == 'user' and isinstance(item, dict))
            yield from secret_values(item, nested)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from secret_values(item, secret)
    elif secret and value is not None and not isinstance(value, bool) and str(value):
        yield str(value)


class _AnsibleModule(AnsibleModule):
    """AnsibleModule that also masks the secrets inside dict-form ``cloud`` / ``kubeconfig``.

    Marking those options ``no_log`` would mask every leaf of the dict everywhere in the output - region names,
    ``Default``, an ``identity_api_version: 3`` (then every "3") - so only their secret leaves join
    ``no_log_values``, before the invocation is logged and before any result (or injected invocation) is returned -
    including the results of a failed argument validation and of a ``no_log`` task, which skip the log.
    """

    def __init__(self, *args, **kwargs):
        self.started = time.monotonic()
        # a Timings of the driver (ProtectionModule.report_timings): returned as ``timings``
        self.timings = None
        super().__init__(*args, **kwargs)

    def _add_timing(self, kwargs):
        """``elapsed`` (seconds since the module started) and ``timings`` in every result, success or failure."""
        kwargs.setdefault('elapsed', round(time.monotonic() - getattr(self, 'started', time.monotonic()), 3))
        if getattr(self, 'timings', None) is not None:
            kwargs.setdefault('timings', self.timings.as_list())

    def exit_json(self, **kwargs):
        self._add_timing(kwargs)
        super().exit_json(**kwargs)

    def _mask_secret_dicts(self):
        for option in SECRET_DICT_OPTIONS:
            self.no_log_values.update(secret_values((getattr(self, 'params', None) or {}).get(option)))

    def _log_invocation(self):
        self._mask_secret_dicts()
        super()._log_invocation()

    def fail_json(self, msg, **kwargs):
        # ansible-core's own refusal of a string given for a dict option with sub-options names no option.
        if msg == 'dictionary requested, could not parse JSON or key=value':
            spec, params = self.argument_spec or {}, getattr(self, 'params', None) or {}
            bad = sorted(name for name, option in spec.items()
                         if option.get('type') == 'dict' and option.get('options') and isinstance(params.get(name), str))
            if bad:
                msg = ('%s must be a dict with the keys %s, got a string that is neither JSON nor key=value'
                       % (bad[0], ', '.join(sorted(spec[bad[0]]['options']))))
        elif msg.startswith(MISSING_REQUIRED):
            msg = MISSING_REQUIRED + ', '.join(self._with_aliases(name.strip())
                                               for name in msg[len(MISSING_REQUIRED):].split(','))
        self._add_timing(kwargs)
        super().fail_json(msg=msg, **kwargs)

    def _with_aliases(self, option):
        aliases = ((self.argument_spec or {}).get(option) or {}).get('aliases')
        return '%s (alias %s)' % (option, ', '.join(aliases)) if aliases else option

    def _return_formatted(self, kwargs):
        # Also on the paths that skip _log_invocation: a failed argument validation (fail_json inside
        # AnsibleModule.__init__) and a task with no_log (the invocation is still injected into the result).
        self._mask_secret_dicts()
        super()._return_formatted(kwargs)


class ProtectionModule:
    """Glue between an AnsibleModule and an Ansible-free driver."""

    #: the shared option groups the module takes (args.OPTION_GROUPS), documented by the doc fragments of the same
    #: names; ``argument_spec`` holds the module's own options
    option_groups = ('openstack', 'wait')
    argument_spec = {}
    module_kwargs = {}
    # Options holding a resource name or id (checked: not empty, not padded, storable) and metadata dicts.
    name_options = ()
    metadata_options = ()

    @classmethod
    def full_argument_spec(cls):
        """The module's whole argument spec: its option groups' and its own."""
        spec = group_argument_spec(cls.option_groups)
        spec.update(cls.argument_spec)
        return spec

    def __init__(self):
        self.ansible = _AnsibleModule(argument_spec=self.full_argument_spec(), supports_check_mode=True,
                                      **self.module_kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.want_diff = self.ansible._diff
        self._conn = self._kube = self._bank = None

    # -- clients, each made on first use ------------------------------------
    @property
    def conn(self):
        """The openstacksdk connection."""
        if self._conn is None:
            if not os_connection.HAS_OPENSTACKSDK:
                self.ansible.fail_json(msg=missing_required_lib('openstacksdk'),
                                       exception=os_connection.OPENSTACKSDK_IMPORT_ERROR)
            self._conn = os_connection.connect(self.params)
            for warning in getattr(getattr(self._conn, 'run_cache', None), 'warnings', None) or ():
                self.ansible.warn(warning)
        return self._conn

    @property
    def kube(self):
        """The Kubernetes client (KubeClient) of the ``kubernetes`` options."""
        if self._kube is None:
            # Imported here: the modules without Kubernetes options never load the kubernetes library.
            from ansible_collections.dataprotection.openstack.plugins.module_utils import kubernetes as k8s
            if not k8s.HAS_KUBERNETES:
                self.ansible.fail_json(msg=missing_required_lib('kubernetes'), exception=k8s.KUBERNETES_IMPORT_ERROR)
            self._kube = k8s.KubeClient(k8s.api_client(self.params))
        return self._kube

    @property
    def bank(self):
        """The checkpoint bank of the ``bank`` option; the OpenStack connection is made only for swift."""
        if self._bank is None:
            self._bank = open_bank(self.params.get('bank'), conn_factory=lambda: self.conn)
        return self._bank

    def option_name(self, option):
        """The name the task gave ``option`` by (one of its aliases, or its own), for messages."""
        aliases = (self.ansible.argument_spec.get(option) or {}).get('aliases') or ()
        return next((alias for alias in aliases if alias in self.params), option)

    def wait_options(self):
        """wait / timeout / poll_interval, validated."""
        timeout, interval = self.params['timeout'], self.params['poll_interval']
        validation.check_number('timeout', timeout, minimum=0, unit='seconds')
        validation.check_number('poll_interval', interval, above=0, unit='seconds')
        return dict(wait=self.params['wait'], timeout=timeout, poll_interval=interval)

    def validate(self):
        """Checks of the shared options and of the module's declared names and metadata, before any API call."""
        p = self.params
        if 'openstack' in self.option_groups:
            validation.check_cloud(p.get('cloud'))
            validation.check_number('api_timeout', p.get('api_timeout'), above=0, unit='seconds')
        if 'wait' in self.option_groups:
            self.wait_options()
        if 'bank' in self.option_groups:
            check_bank(p.get('bank'))
        kubeconfig = p.get('kubeconfig') if 'kubernetes' in self.option_groups else None
        if kubeconfig is not None and not isinstance(kubeconfig, (str, dict)):
            raise validation.InputError('kubeconfig must be the path of a kubeconfig file (a string) or a dict with '
                                        'its content, got a %s' % type(kubeconfig).__name__)
        for option in self.name_options:
            validation.check_name(self.option_name(option), p.get(option))
        for option in self.metadata_options:
            if p.get(option) is not None:
                p[option] = validation.check_metadata(self.option_name(option), p[option])

    def report_timings(self, timings):
        """Return this Timings (of the driver) as ``timings`` in the result, also when the task fails."""
        self.ansible.timings = timings

    def finish(self, result, list_key='items', drop=(), **defaults):
        """The task result of a driver Result: its ``before``/``after`` become Ansible's ``diff`` (with --diff),
        the keys in ``drop`` stay internal, ``defaults`` fill the keys the driver left out."""
        data = result.as_dict()
        before, after = data.pop('before', None), data.pop('after', None)
        for key in drop:
            data.pop(key, None)
        for key, value in defaults.items():
            data.setdefault(key, value)
        return diff_result(data, before, after, self.want_diff, list_key=list_key)

    # -- contract ---------------------------------------------------------
    def run(self):
        """Do the work; return the result dict (must contain ``changed``)."""
        raise NotImplementedError

    def __call__(self):
        # Every result, success or failure, carries ``elapsed`` (float seconds of the whole task; _AnsibleModule adds
        # it in exit_json/fail_json, outside ``diff``) and, when a driver reported them, ``timings``.
        try:
            self.validate()
            result = self.run()
        except ProtectionError as exc:
            self.ansible.fail_json(msg=exc.msg, **exc.result)
        except Exception as exc:  # pylint: disable=broad-except
            if os_connection.is_sdk_error(exc):
                self.ansible.fail_json(msg=os_connection.describe_error(exc, self._conn))
            # Unexpected: still one message; the traceback only under -vvv.
            self.ansible.fail_json(msg='unexpected error: %s: %s' % (type(exc).__name__, exc),
                                   exception=traceback.format_exc())
        self.ansible.exit_json(**result)


def diff_result(result, before, after, enabled, list_key='items'):
    """Add Ansible's ``diff`` key when ``--diff`` is on.

    Ansible's callbacks render ``before``/``after`` as text or dicts; a list there breaks the default callback
    ("'list' object has no attribute 'splitlines'"), so a list is shown as ``{list_key: [...]}``.
    """
    if enabled:
        result['diff'] = dict(before=_diffable(before, list_key), after=_diffable(after, list_key))
    return result


def _diffable(value, list_key):
    if isinstance(value, (list, tuple)):
        return {list_key: list(value)}
    return value or {}

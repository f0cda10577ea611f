# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared argument specs, one function per option group; documented by the doc fragments of the same names.

A module names the groups it takes (``ProtectionModule.option_groups``) and
:func:`group_argument_spec` merges them. This file imports nothing heavy, so a
module pays only for the clients it uses.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

# The bank's defaults (doc fragment ``bank``).
BANK_DEFAULT_PATH = '~/.ansible/dataprotection/bank'
BANK_DEFAULT_CONTAINER = 'dataprotection-bank'

# The Kubernetes TLS options and kubernetes.core's plain names for them, which the OpenStack options use in the
# modules that take both (see kubernetes_argument_spec).
PLAIN_TLS_NAMES = {
    'k8s_validate_certs': 'validate_certs',
    'k8s_ca_cert': 'ca_cert',
    'k8s_client_cert': 'client_cert',
    'k8s_client_key': 'client_key',
}


def openstack_argument_spec():
    """Connection options, as openstack.cloud names them (doc fragment ``openstack``)."""
    return dict(
        cloud=dict(type='raw'),
        auth=dict(type='dict', no_log=True),
        auth_type=dict(type='str'),
        region_name=dict(type='str'),
        interface=dict(type='str', default='public', choices=['public', 'internal', 'admin'],
                       aliases=['endpoint_type']),
        validate_certs=dict(type='bool', aliases=['verify']),
        ca_cert=dict(type='str', aliases=['cacert']),
        client_cert=dict(type='str', aliases=['cert']),
        client_key=dict(type='str', no_log=False, aliases=['key']),
        api_timeout=dict(type='int'),
        sdk_log_path=dict(type='str'),
        sdk_log_level=dict(type='str', default='INFO', choices=['INFO', 'DEBUG']),
        # the run cache (run_cache.py); environment variables so an AWX job template turns it on for every task
        cache_dir=dict(type='path', fallback=(env_fallback, ['DATAPROTECTION_OPENSTACK_CACHE_DIR'])),
        token_cache=dict(type='bool', default=False, no_log=False,
                         fallback=(env_fallback, ['DATAPROTECTION_OPENSTACK_TOKEN_CACHE'])),
        discovery_cache_ttl=dict(type='int', default=600,
                                 fallback=(env_fallback, ['DATAPROTECTION_OPENSTACK_DISCOVERY_CACHE_TTL'])),
    )


def wait_argument_spec():
    """Options of every long operation (doc fragment ``wait``)."""
    return dict(
        wait=dict(type='bool', default=True),
        timeout=dict(type='int', default=180),
        poll_interval=dict(type='float', default=2.0),
    )


def kubernetes_argument_spec(plain_tls_names=False):
    """Kubernetes connection options (doc fragment ``kubernetes``).

    With ``plain_tls_names`` (modules without the OpenStack options, doc fragment ``kubernetes.tls_plain_names``)
    the TLS options also take kubernetes.core's plain names (``validate_certs``, ...) as aliases.
    """
    spec = dict(
        kubeconfig=dict(type='raw'),
        context=dict(type='str'),
        host=dict(type='str'),
        api_key=dict(type='str', no_log=True),
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
        k8s_validate_certs=dict(type='bool', aliases=['verify_ssl']),
        k8s_ca_cert=dict(type='path', aliases=['ssl_ca_cert']),
        k8s_client_cert=dict(type='path', aliases=['cert_file']),
        k8s_client_key=dict(type='path', no_log=False, aliases=['key_file']),
        proxy=dict(type='str'),
        no_proxy=dict(type='str'),
        proxy_headers=dict(type='dict', options=dict(
            basic_auth=dict(type='str', no_log=True),
            proxy_basic_auth=dict(type='str', no_log=True),
            user_agent=dict(type='str'),
        )),
        impersonate_user=dict(type='str'),
        impersonate_groups=dict(type='list', elements='str'),
        persist_config=dict(type='bool'),
    )
    if plain_tls_names:
        for option, plain in PLAIN_TLS_NAMES.items():
            spec[option]['aliases'] = [plain] + spec[option]['aliases']
    return spec


def kubernetes_timeout_argument_spec():
    """``api_timeout`` for modules without the OpenStack options (doc fragment ``kubernetes.api_timeout``).

    The modules with both take the OpenStack spec's ``api_timeout`` (the same definition): one option bounds every
    API request of a module, OpenStack or Kubernetes. It is not in kubernetes_argument_spec(), whose names stay
    apart from the OpenStack ones.
    """
    return dict(api_timeout=dict(type='int'))


def bank_argument_spec():
    """The ``bank`` option (doc fragment ``bank``)."""
    return dict(
        bank=dict(type='dict', default={}, options=dict(
            type=dict(type='str', default='local', choices=['local', 'swift']),
            path=dict(type='path', default=BANK_DEFAULT_PATH),
            container=dict(type='str', default=BANK_DEFAULT_CONTAINER),
        )),
    )


def protection_argument_spec(*aliases, **overrides):
    """The protection's name: ``protection`` (the metadata key ``dataprotection_protection`` and the bank's
    ``protection`` hold it), with the module's older name as a documented alias."""
    return dict(protection=dict(dict(type='str', required=True, aliases=list(aliases)), **overrides))


def snapshot_argument_spec(source, names, metadata):
    """The options every snapshot protection module takes; ``source``/``names``/``metadata`` select resources."""
    return dict(protection_argument_spec('snapshot_name'), **{
        source: dict(type='str'),
        names: dict(type='list', elements='str'),
        metadata: dict(type='dict'),
        'query': dict(type='str'),
        'description': dict(type='str'),
        'force': dict(type='bool', default=False),
        'metadata': dict(type='dict'),
        'state': dict(type='str', default='present', choices=['present', 'absent', 'restored']),
        'retain': dict(type='int'),
        'min_age': dict(type='int'),
        'adopt': dict(type='bool', default=False),
        'restore_name': dict(type='str'),
        'restore_point': dict(type='str', default='latest'),
        'restore_description': dict(type='str'),
        'concurrency': dict(type='int', default=8),
        'all_projects': dict(type='bool', default=False),
    })


OPTION_GROUPS = ('openstack', 'wait', 'kubernetes', 'bank')


def group_argument_spec(groups):
    """The merged spec of the option groups ``groups`` (names from OPTION_GROUPS).

    ``kubernetes`` without ``openstack`` is a Kubernetes-only module: the TLS options also take kubernetes.core's
    plain names and ``api_timeout`` bounds the Kubernetes requests (with ``openstack``, the OpenStack spec's
    ``api_timeout`` does both).
    """
    unknown = sorted(set(groups) - set(OPTION_GROUPS))
    if unknown:
        raise ValueError('unknown option groups %s (known: %s)' % (', '.join(unknown), ', '.join(OPTION_GROUPS)))
    spec = {}
    if 'openstack' in groups:
        spec.update(openstack_argument_spec())
    if 'wait' in groups:
        spec.update(wait_argument_spec())
    if 'kubernetes' in groups:
        standalone = 'openstack' not in groups
        spec.update(kubernetes_argument_spec(plain_tls_names=standalone))
        if standalone:
            spec.update(kubernetes_timeout_argument_spec())
    if 'bank' in groups:
        spec.update(bank_argument_spec())
    return spec


def hooks_argument_spec():
    """The ``hooks`` option of the Kubernetes protection modules (doc fragment ``kubernetes.hooks``)."""
    def phase():
        return dict(type='list', elements='dict', default=[], options=dict(
            container=dict(type='str'),
            command=dict(type='list', elements='str', required=True),
            timeout=dict(type='int', default=30),
            on_error=dict(type='str', default='fail', choices=['fail', 'continue']),
        ))
    return dict(hooks=dict(type='dict', default={}, options=dict(
        pre=phase(), post=phase(), velero_annotations=dict(type='bool', default=True))))

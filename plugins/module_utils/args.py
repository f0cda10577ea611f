# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared argument specs; documented by the doc fragments of the same names."""

from __future__ import annotations


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
    )


def wait_argument_spec():
    """Options of every long operation (doc fragment ``wait``)."""
    return dict(
        wait=dict(type='bool', default=True),
        timeout=dict(type='int', default=180),
        poll_interval=dict(type='float', default=2.0),
    )

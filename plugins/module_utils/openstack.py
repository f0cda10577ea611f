# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one OpenStack connection factory, and the mapping of SDK errors to messages.

Options follow openstack.cloud. When ``cloud`` and ``auth`` are both omitted,
openstacksdk reads ``OS_*`` variables and ``OS_CLIENT_CONFIG_FILE``; with a
single cloud in that file it is used, which is how AWX injects credentials.
"""

from __future__ import annotations

import traceback

from ansible_collections.dataprotection.openstack.plugins.module_utils.lean_connection import (
    LeanConnection,
    defer_package_init,
)

try:
    # Before any other openstack import: see lean_connection.py.
    defer_package_init()
    import openstack.config
    from openstack import exceptions as sdk_exceptions
    from keystoneauth1 import exceptions as ksa_exceptions
    HAS_OPENSTACKSDK = True
    OPENSTACKSDK_IMPORT_ERROR = None
except ImportError:
    sdk_exceptions = ksa_exceptions = None
    HAS_OPENSTACKSDK = False
    OPENSTACKSDK_IMPORT_ERROR = traceback.format_exc()

APP_NAME = 'dataprotection.openstack'
APP_VERSION = '0.1.0'

# Manila answers with API 2.0 when no microversion is sent; share revert needs
# >= 2.27 and share metadata on snapshots newer ones, so always ask for this.
SHARED_FILE_SYSTEM_MICROVERSION = '2.65'

# module option -> openstacksdk connection argument
_OPTION_TO_SDK = {
    'auth': 'auth',
    'auth_type': 'auth_type',
    'region_name': 'region_name',
    'interface': 'interface',
    'validate_certs': 'verify',
    'ca_cert': 'cacert',
    'client_cert': 'cert',
    'client_key': 'key',
    'api_timeout': 'api_timeout',
}


def connection_arguments(params):
    """openstacksdk ``connect()`` keyword arguments for the module options."""
    kwargs = {}
    cloud = params.get('cloud')
    if isinstance(cloud, dict):
        kwargs.update(cloud)
    elif cloud:
        kwargs['cloud'] = cloud
    for option, sdk_name in _OPTION_TO_SDK.items():
        value = params.get(option)
        if value is not None:
            kwargs[sdk_name] = value
    kwargs.setdefault('shared_file_system_api_version', SHARED_FILE_SYSTEM_MICROVERSION)
    return kwargs


def connect(params):
    """An authenticated-on-demand openstacksdk connection for the module options.

    Resolves the cloud exactly as ``openstack.connect()`` does (clouds.yaml,
    ``OS_*`` variables, the options); the result imports only the services the
    task uses (see lean_connection.py).
    """
    if not HAS_OPENSTACKSDK:
        raise ImportError('openstacksdk is required')
    region = openstack.config.get_cloud_region(app_name=APP_NAME, app_version=APP_VERSION, load_yaml_config=True,
                                               load_envvars=True, **connection_arguments(params))
    conn = LeanConnection(region)
    if region.config.get('vendor_hook'):
        # A vendor hook is handed openstacksdk's own Connection and may touch any part of it.
        return conn.full_connection()
    return conn


def is_sdk_error(exc):
    return HAS_OPENSTACKSDK and isinstance(exc, (sdk_exceptions.SDKException, ksa_exceptions.ClientException))


def is_not_found(exc):
    return HAS_OPENSTACKSDK and isinstance(exc, (sdk_exceptions.NotFoundException, ksa_exceptions.NotFound))


def describe_error(exc):
    """One line naming the service's own reason for an openstacksdk/keystoneauth error."""
    if isinstance(exc, ksa_exceptions.ConnectFailure):
        return 'cannot reach the OpenStack API (%s)' % exc
    if isinstance(exc, ksa_exceptions.ConnectTimeout):
        return 'timed out connecting to the OpenStack API (%s)' % exc
    if isinstance(exc, ksa_exceptions.Unauthorized):
        return 'authentication failed: %s' % (getattr(exc, 'message', None) or exc)
    if isinstance(exc, ksa_exceptions.EndpointNotFound):
        return 'the service catalog has no such endpoint: %s' % exc
    if isinstance(exc, ksa_exceptions.MissingRequiredOptions):
        return 'missing authentication options: %s' % exc
    if isinstance(exc, sdk_exceptions.HttpException):
        status = getattr(exc, 'status_code', None)
        reason = getattr(exc, 'details', None) or getattr(exc, 'message', None) or str(exc)
        method = getattr(exc, 'method', None) or ''
        url = getattr(exc, 'url', None) or ''
        where = ' (%s %s)' % (method, url) if url else ''
        return 'HTTP %s%s: %s' % (status, where, reason)
    if isinstance(exc, sdk_exceptions.ConfigException):
        return 'cloud configuration error: %s' % exc
    return '%s: %s' % (type(exc).__name__, exc)

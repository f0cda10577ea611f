# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one OpenStack connection factory, and the mapping of SDK errors to messages.

Options follow openstack.cloud. When ``cloud`` and ``auth`` are both omitted,
openstacksdk reads ``OS_*`` variables and ``OS_CLIENT_CONFIG_FILE``; with a
single cloud in that file it is used, which is how AWX injects credentials.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import traceback

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.lean_connection import (
    LeanConnection,
    defer_package_init,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.run_cache import RunCache

try:
    # Before any other openstack import: see lean_connection.py.
    defer_package_init()
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

# Seconds one API request may take to connect, and between bytes of its answer, unless ``api_timeout`` or the
# cloud's configuration says otherwise. keystoneauth has no default: a socket that accepts and never answers
# would hang the task for ever.
DEFAULT_API_TIMEOUT = 30

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


# Loggers of openstacksdk and keystoneauth (keystoneauth logs each request and answer at DEBUG under
# ``keystoneauth.session``); ``sdk_log_path`` sends both to a file, as openstack.cloud's option does.
SDK_LOGGERS = ('openstack', 'keystoneauth')
SDK_LOG_FORMAT = '%(asctime)s %(levelname)s: %(name)s %(message)s'
_sdk_log_handlers = {}


def enable_sdk_logging(path, level='INFO'):
    """Append the openstacksdk and keystoneauth logs at ``level`` (INFO or DEBUG) to the file ``path``.

    A new file is created with mode 0600 (an existing one keeps its mode). keystoneauth never logs the
    authentication request (password, application credential secret) and logs tokens in headers as their
    SHA-256 hash; the bodies of other requests and answers are logged as sent. Called again with the same
    path (several connections in one process), the handler is reused, not added twice.
    """
    if not path:
        return None
    path = os.path.abspath(os.path.expanduser(path))
    numeric = logging.DEBUG if str(level).upper() == 'DEBUG' else logging.INFO
    handler = _sdk_log_handlers.get(path)
    if handler is None:
        # Create it private before logging opens it: the log names users, projects and URLs.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        handler = logging.FileHandler(path, mode='a', encoding='utf-8')
        handler.setFormatter(logging.Formatter(SDK_LOG_FORMAT))
        _sdk_log_handlers[path] = handler
    handler.setLevel(numeric)
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(numeric)
        if handler not in logger.handlers:
            logger.addHandler(handler)
    return handler


def connect(params, project_id=None):
    """An authenticated-on-demand openstacksdk connection for the module options.

    Resolves the cloud exactly as ``openstack.connect()`` does (clouds.yaml,
    ``OS_*`` variables, the options); the result imports only the services the
    task uses (see lean_connection.py). ``project_id``: the same credentials scoped to that project instead
    (a bulk run across projects acts as each volume's project).
    """
    if not HAS_OPENSTACKSDK:
        raise ImportError('openstacksdk is required')
    if params.get('sdk_log_path'):
        enable_sdk_logging(params['sdk_log_path'], params.get('sdk_log_level') or 'INFO')
    # Imported here, not at the top: a task refused by the input checks never pays for it (~0.3 s).
    import openstack.config  # pylint: disable=import-outside-toplevel
    if params.get('clouds_yaml_path'):
        # The inventory plugin's option (as openstack.cloud's): these files first, then openstacksdk's usual ones.
        from openstack.config import loader  # pylint: disable=import-outside-toplevel
        files = [os.path.abspath(os.path.expanduser(f)) for f in params['clouds_yaml_path']] + list(loader.CONFIG_FILES)
        region = loader.OpenStackConfig(config_files=files, app_name=APP_NAME, app_version=APP_VERSION,
                                        load_yaml_config=True, load_envvars=True).get_one(**connection_arguments(params))
    else:
        region = openstack.config.get_cloud_region(app_name=APP_NAME, app_version=APP_VERSION, load_yaml_config=True,
                                                   load_envvars=True, **connection_arguments(params))
    if project_id:
        scope_to_project(region, project_id)
    trust_versioned_auth_url(region)
    if region.config.get('api_timeout') is None:
        # Read by get_session(), which every request (token, services, Freezer, Swift bank) goes through.
        region.config['api_timeout'] = DEFAULT_API_TIMEOUT
    conn = LeanConnection(region)
    cache = RunCache.from_params(params)
    if cache is not None:
        cache.attach(region)
        # Modules leave through sys.exit (exit_json / fail_json): write back what this task learnt then.
        atexit.register(cache.save, region)
        conn.run_cache = cache
    if region.config.get('vendor_hook'):
        # A vendor hook is handed openstacksdk's own Connection and may touch any part of it.
        return conn.full_connection()
    return conn


_PROJECT_SCOPE_KEYS = ('project_name', 'project_domain_name', 'project_domain_id', 'tenant_name', 'tenant_id',
                       'domain_id', 'domain_name', 'system_scope')


def scope_to_project(region, project_id):
    """Re-scope the region's credentials to the project ``project_id`` (before any request is made)."""
    from keystoneauth1 import loading  # pylint: disable=import-outside-toplevel
    auth = dict((k, v) for k, v in (region.config.get('auth') or {}).items() if k not in _PROJECT_SCOPE_KEYS)
    auth['project_id'] = project_id
    region.config['auth'] = auth
    region._auth = loading.get_plugin_loader(region.config.get('auth_type') or 'password').load_from_options(**auth)


def trust_versioned_auth_url(region):
    """Skip the Identity version discovery when ``auth_url`` already names v3 (one request less per task).

    keystoneauth's generic ``password`` plugin first GETs ``auth_url`` to learn which Identity versions it offers.
    An ``auth_url`` ending in ``/v3`` says it: the v3 password plugin is used directly, with the same options.
    Any other auth type, an unversioned ``auth_url``, or an option the v3 plugin does not take (``tenant_name``...)
    keeps openstacksdk's plugin and its discovery, as does any failure here.
    """
    try:
        auth = dict(region.config.get('auth') or {})
        if region.config.get('auth_type') != 'password' or not _V3_AUTH_URL.search(str(auth.get('auth_url') or '')):
            return False
        from keystoneauth1 import loading  # pylint: disable=import-outside-toplevel
        loader = loading.get_plugin_loader('v3password')
        if not set(auth) <= set(option.dest for option in loader.get_options()):
            return False
        plugin = loader.load_from_options(**auth)
    except Exception:  # pylint: disable=broad-except
        return False
    if getattr(region, '_auth', None) is None:
        return False
    region._auth = plugin
    return True


_V3_AUTH_URL = re.compile(r'/v3/?$')


def is_sdk_error(exc):
    return HAS_OPENSTACKSDK and isinstance(exc, (sdk_exceptions.SDKException, ksa_exceptions.ClientException))


def is_not_found(exc):
    return HAS_OPENSTACKSDK and isinstance(exc, (sdk_exceptions.NotFoundException, ksa_exceptions.NotFound))


def get_or_none(call, *args):
    """``call(*args)``, or None when the service answers 404 (the one not-found lookup of the drivers)."""
    try:
        return call(*args)
    except Exception as exc:  # pylint: disable=broad-except
        if is_not_found(exc):
            return None
        raise


def reason_of(exc, conn=None):
    """The one-line reason of any exception a driver meets: a ProtectionError's message, the service's own
    reason for an SDK error, else the exception's type and text."""
    if isinstance(exc, ProtectionError):
        return exc.msg
    if is_sdk_error(exc):
        return describe_error(exc, conn)
    return '%s: %s' % (type(exc).__name__, exc)


def is_endpoint_missing(exc):
    """The cloud's catalog offers no endpoint for the service (e.g. no Manila)."""
    if not HAS_OPENSTACKSDK:
        return False
    kinds = tuple(k for k in (ksa_exceptions.EndpointNotFound, getattr(sdk_exceptions, 'EndpointNotFound', None),
                              getattr(sdk_exceptions, 'ServiceDisabledException', None)) if k is not None)
    return isinstance(exc, kinds)


def describe_identity(conn):
    """Who the connection authenticates as - user, project, auth_url; never a secret - for a 401 message."""
    try:
        auth = dict(conn.config.config.get('auth') or {})
    except AttributeError:
        return ''
    parts = []
    user = auth.get('username') or auth.get('user_id') or auth.get('application_credential_name') or \
        auth.get('application_credential_id')
    if user:
        parts.append('user %s' % user)
    project = auth.get('project_name') or auth.get('project_id') or auth.get('tenant_name')
    if project:
        parts.append('project %s' % project)
    if auth.get('auth_url'):
        parts.append('at %s' % auth['auth_url'])
    return ' (%s)' % ', '.join(parts) if parts else ''


def describe_error(exc, conn=None):
    """One line naming the service's own reason for an openstacksdk/keystoneauth error."""
    if isinstance(exc, ksa_exceptions.ConnectTimeout):
        # keystoneauth raises this for connect and read timeouts alike ("Request to <url> timed out").
        return ('timed out waiting for the OpenStack API (%s); the api_timeout option sets the limit per request'
                % exc)
    if isinstance(exc, ksa_exceptions.ConnectFailure):
        return 'cannot reach the OpenStack API (%s)' % exc
    if isinstance(exc, ksa_exceptions.Unauthorized):
        who = describe_identity(conn) if conn is not None else ''
        return 'authentication failed%s: %s' % (who, getattr(exc, 'message', None) or exc)
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

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An openstacksdk connection that imports only the services a task uses.

Why: ``import openstack`` runs ``openstack/__init__.py``, which imports
``openstack.connection`` and with it every service's proxies and the cloud
layer - about a third of a module run that only lists a volume's snapshots.
``defer_package_init()`` registers the ``openstack`` package without running
its ``__init__`` so that ``openstack.config`` (clouds.yaml, OS_* variables,
keystoneauth session) loads alone. ``LeanConnection`` then builds Cinder's and
Manila's proxies with openstacksdk's own ``ServiceDescription`` (the same
version discovery, microversions and endpoint overrides as ``Connection``),
and hands every other attribute to a full ``openstack.connection.Connection``
built on the same CloudRegion - and so the same session and token - when a
task first needs one.

Everything here is openstacksdk's public ``Connection`` surface that its
proxies and resources read back from their connection; response caching
(``cache:`` in clouds.yaml) is off, as a wait loop must see fresh state.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys

SDK_PACKAGE = 'openstack'
_DEFERRED_FLAG = '_dataprotection_init_deferred'

# Connection attribute -> (module, ServiceDescription class, service type).
LEAN_SERVICES = {
    'block_storage': ('openstack.block_storage.block_storage_service', 'BlockStorageService', 'block-storage'),
    'shared_file_system': ('openstack.shared_file_system.shared_file_system_service',
                           'SharedFilesystemService', 'shared-file-system'),
}


def defer_package_init():
    """Register the ``openstack`` package without running its ``__init__`` (a no-op once imported)."""
    if SDK_PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(SDK_PACKAGE)
    if spec is None:
        raise ImportError('No module named %r' % SDK_PACKAGE)
    package = importlib.util.module_from_spec(spec)
    setattr(package, _DEFERRED_FLAG, True)
    sys.modules[SDK_PACKAGE] = package


def complete_package_init():
    """Run the deferred ``openstack/__init__`` (needed before the full Connection is used)."""
    package = sys.modules.get(SDK_PACKAGE)
    if package is not None and getattr(package, _DEFERRED_FLAG, False):
        delattr(package, _DEFERRED_FLAG)
        package.__spec__.loader.exec_module(package)


class LeanConnection(object):
    """The subset of ``openstack.connection.Connection`` this collection uses, built lazily."""

    def __init__(self, region):
        self.config = region
        self.name = region.name
        self.log = logging.getLogger('openstack')
        # Read by ServiceDescription and openstack.proxy.Proxy.request().
        self._proxies = {}
        self._strict_proxies = False
        self._global_request_id = None
        self.cache_enabled = False
        self._cache = None
        self._api_cache_keys = set()
        self._cache_expirations = {}
        self._full = None
        self.fallback_reason = None
        self.run_cache = None  # set by openstack.connect() when discovery or tokens are shared across tasks

    @property
    def session(self):
        return self.config.get_session()

    @property
    def current_project_id(self):
        return self.session.get_project_id()

    @property
    def current_location(self):
        return self._get_current_location()

    def _get_current_location(self, project_id=None, zone=None):
        # Resources built by the proxies ask their connection where they live.
        from openstack import utils
        auth = self.config.config.get('auth', {})
        project = utils.Munch(id=project_id, name=None, domain_id=None, domain_name=None)
        if not project_id or project_id == self.current_project_id:
            project.update(id=self.current_project_id, name=auth.get('project_name'),
                           domain_id=auth.get('project_domain_id'), domain_name=auth.get('project_domain_name'))
        return utils.Munch(cloud=self.name, region_name=self.config.get_region_name(), zone=zone, project=project)

    def full_connection(self):
        """openstacksdk's own Connection on the same CloudRegion (same session and token)."""
        if self._full is None:
            complete_package_init()
            from openstack import connection
            self._full = connection.Connection(config=self.config)
        return self._full

    def __getattr__(self, name):
        # Only called for attributes not set in __init__: services and the rest of Connection.
        if name.startswith('__'):
            raise AttributeError(name)
        if name in LEAN_SERVICES:
            proxy = self._lean_proxy(name)
            setattr(self, name, proxy)
            return proxy
        return getattr(self.full_connection(), name)

    def _lean_proxy(self, name):
        """The service's proxy built here; openstacksdk's own Connection's proxy when this openstacksdk moved the
        pieces the fast path uses (a module, a class, a private attribute), so no version breaks the modules."""
        module_name, class_name, service_type = LEAN_SERVICES[name]
        try:
            description = getattr(importlib.import_module(module_name), class_name)(service_type=service_type)
            return description.__get__(self, type(self))
        except (ImportError, AttributeError, TypeError, KeyError) as exc:
            self.log.debug('lean %s proxy unavailable (%s: %s); using openstacksdk Connection', name,
                           type(exc).__name__, exc)
            self.fallback_reason = '%s: %s' % (type(exc).__name__, exc)
            return getattr(self.full_connection(), name)

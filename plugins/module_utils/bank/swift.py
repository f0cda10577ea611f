# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bank store in an OpenStack object-storage container (Swift API, openstacksdk ``object_store`` proxy)."""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError


class SwiftStore:
    kind = 'swift'

    def __init__(self, conn, container):
        self.conn = conn
        self.container = container
        self._ensured = False

    @property
    def location(self):
        return 'swift container %s' % self.container

    def _fail(self, action, key, exc):
        reason = os_connection.describe_error(exc) if os_connection.is_sdk_error(exc) else str(exc)
        raise ProtectionError('cannot %s %s in the bank (swift container %s): %s'
                              % (action, key, self.container, reason))

    def put(self, key, data, dry_run=False):
        if dry_run:
            return
        try:
            if not self._ensured:
                # PUT on a container is idempotent (201 or 202)
                self.conn.object_store.create_container(name=self.container)
                self._ensured = True
            self.conn.object_store.upload_object(container=self.container, name=key, data=data)
        except Exception as exc:  # pylint: disable=broad-except
            self._fail('write', key, exc)

    def get(self, key):
        try:
            return self.conn.object_store.download_object(key, container=self.container)
        except Exception as exc:  # pylint: disable=broad-except
            if os_connection.is_not_found(exc):
                return None
            self._fail('read', key, exc)
        return None

    def list(self, prefix):
        try:
            return sorted(o.name for o in self.conn.object_store.objects(self.container, prefix=prefix))
        except Exception as exc:  # pylint: disable=broad-except
            if os_connection.is_not_found(exc):
                return []  # no container yet: an empty bank
            self._fail('list', prefix, exc)
        return []

    def delete(self, key):
        try:
            self.conn.object_store.delete_object(key, container=self.container, ignore_missing=True)
        except Exception as exc:  # pylint: disable=broad-except
            if not os_connection.is_not_found(exc):
                self._fail('delete', key, exc)

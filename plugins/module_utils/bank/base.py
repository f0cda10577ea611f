# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checkpoints in a bank store, in Karbor's layout.

::

    checkpoints/<id>/index.json                       the checkpoint: status, protection, resource, extra
    checkpoints/<id>/resources/<type>/<name>.json     one per protected resource (manifest, snapshot ids...)

Status moves ``protecting`` -> ``available`` (only after every resource was
protected) or ``error``; ``deleting`` while it is removed. The index is
written first and deleted last, so a checkpoint that was not finished is
never seen as ``available``.

A store has ``put(key, bytes)``, ``get(key) -> bytes|None``,
``list(prefix) -> [key]`` and ``delete(key)`` (see local.py and swift.py).
"""

from __future__ import annotations

import datetime
import json
import uuid

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError

PROTECTING = 'protecting'
AVAILABLE = 'available'
ERROR = 'error'
DELETING = 'deleting'
STATUSES = (PROTECTING, AVAILABLE, ERROR, DELETING)

PREFIX = 'checkpoints/'


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


timestamp = _now  # the bank's UTC time format, for what drivers record in a checkpoint


def _safe(part):
    """A key component: no slashes (namespace/name keys become namespace.name is NOT unique; use %2F)."""
    return str(part).replace('%', '%25').replace('/', '%2F')


class CheckpointBank:
    def __init__(self, store):
        self.store = store

    @property
    def location(self):
        return '%s bank %s' % (self.store.kind, self.store.location)

    # -- keys ---------------------------------------------------------------
    @staticmethod
    def index_key(checkpoint_id):
        return '%s%s/index.json' % (PREFIX, checkpoint_id)

    @staticmethod
    def resource_key(checkpoint_id, rtype, name):
        return '%s%s/resources/%s/%s.json' % (PREFIX, checkpoint_id, _safe(rtype), _safe(name))

    # -- json ---------------------------------------------------------------
    def _put(self, key, value):
        self.store.put(key, json.dumps(value, sort_keys=True, indent=1).encode('utf-8'))

    def _get(self, key):
        data = self.store.get(key)
        if data is None:
            return None
        try:
            return json.loads(data.decode('utf-8') if isinstance(data, bytes) else data)
        except ValueError as exc:
            raise ProtectionError('%s in the %s is not valid JSON: %s' % (key, self.location, exc))

    # -- checkpoints ----------------------------------------------------------
    def create(self, plugin, protection, resource, extra=None, checkpoint_id=None):
        """A new checkpoint in status ``protecting``; returns its index."""
        now = _now()
        index = dict(id=checkpoint_id or str(uuid.uuid4()), status=PROTECTING, created_at=now, updated_at=now,
                     plugin=plugin, protection=dict(protection), resource=dict(resource), resources=[],
                     extra=dict(extra or {}), error=None)
        self._put(self.index_key(index['id']), index)
        return index

    def update(self, index, **fields):
        """Write the index with ``fields`` changed (``status`` must be a known one)."""
        if fields.get('status') not in (None,) + STATUSES:
            raise ValueError('unknown checkpoint status %r' % fields['status'])
        index.update(fields)
        index['updated_at'] = _now()
        self._put(self.index_key(index['id']), index)
        return index

    def put_resource(self, index, rtype, name, data):
        """Save one resource's metadata and list it in the index (index written by the next ``update``)."""
        self._put(self.resource_key(index['id'], rtype, name), data)
        entry = dict(type=rtype, name=name)
        if entry not in index['resources']:
            index['resources'].append(entry)

    def get_resource(self, checkpoint_id, rtype, name):
        return self._get(self.resource_key(checkpoint_id, rtype, name))

    def resources(self, index):
        """{type: {name: metadata}} of a checkpoint."""
        found = {}
        for entry in index.get('resources') or []:
            data = self.get_resource(index['id'], entry['type'], entry['name'])
            found.setdefault(entry['type'], {})[entry['name']] = data
        return found

    def get(self, checkpoint_id):
        return self._get(self.index_key(checkpoint_id))

    def list(self, plugin=None, protection=None, resource_key=None, status=None):
        """Checkpoint indexes, oldest first, filtered by plugin, protection name, resource key and status."""
        found = []
        for key in self.store.list(PREFIX):
            if not key.endswith('/index.json') or key.count('/') != 2:
                continue
            index = self._get(key)
            if index is None:
                continue
            if plugin and index.get('plugin') != plugin:
                continue
            if protection and (index.get('protection') or {}).get('name') != protection:
                continue
            if resource_key and (index.get('resource') or {}).get('key') != resource_key:
                continue
            if status and index.get('status') != status:
                continue
            found.append(index)
        return sorted(found, key=lambda i: (i.get('created_at') or '', i['id']))

    def delete(self, index):
        """Mark ``deleting``, remove every key of the checkpoint, the index last."""
        self.update(index, status=DELETING)
        prefix = '%s%s/' % (PREFIX, index['id'])
        keys = self.store.list(prefix)
        for key in keys:
            if not key.endswith('/index.json'):
                self.store.delete(key)
        self.store.delete(self.index_key(index['id']))

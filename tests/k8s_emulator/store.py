"""In-memory object store (the emulator's etcd): one global resourceVersion counter and a bounded event history for watches."""

import copy
import json
import os
import threading

from . import errors


class Store:
    """Objects keyed by resource plural and (namespace, name); every write bumps the global resourceVersion."""

    def __init__(self, history_size=10000):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.history_size = history_size
        self.rv = 0
        self.objects = {}
        self.history = []
        self.listeners = []

    # Callers hold ``lock`` for the *_raw accessors and must not mutate the returned objects in place.
    def get_raw(self, resource, namespace, name):
        """Stored object or None (no copy)."""
        return self.objects.get(resource, {}).get((namespace or '', name))

    def list_raw(self, resource, namespace=None):
        """Stored objects of a resource, optionally one namespace, sorted by namespace/name (no copies)."""
        bucket = self.objects.get(resource, {})
        keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
        return [bucket[k] for k in keys]

    def get(self, resource, namespace, name):
        """Deep copy of a stored object or None."""
        with self.lock:
            obj = self.get_raw(resource, namespace, name)
            return copy.deepcopy(obj) if obj is not None else None

    def _record(self, event_type, resource, obj, old):
        self.history.append((self.rv, event_type, resource, copy.deepcopy(obj), old))
        if len(self.history) > self.history_size:
            del self.history[:len(self.history) - self.history_size]
        self.changed.notify_all()
        for listener in list(self.listeners):
            listener(resource, event_type, obj)

    def put(self, resource, obj):
        """Create or replace an object: new resourceVersion, ADDED or MODIFIED event. Returns a copy of what is stored."""
        with self.lock:
            meta = obj['metadata']
            key = (meta.get('namespace', ''), meta['name'])
            old = self.objects.get(resource, {}).get(key)
            self.rv += 1
            stored = copy.deepcopy(obj)
            stored['metadata']['resourceVersion'] = str(self.rv)
            self.objects.setdefault(resource, {})[key] = stored
            self._record('MODIFIED' if old is not None else 'ADDED', resource, stored, old)
            return copy.deepcopy(stored)

    def remove(self, resource, obj):
        """Delete an object: the DELETED event carries a new resourceVersion (as etcd's delete revision)."""
        with self.lock:
            meta = obj['metadata']
            key = (meta.get('namespace', ''), meta['name'])
            old = self.objects.get(resource, {}).pop(key, None)
            if old is None:
                return None
            self.rv += 1
            gone = copy.deepcopy(old)
            gone['metadata']['resourceVersion'] = str(self.rv)
            self._record('DELETED', resource, gone, old)
            return copy.deepcopy(gone)

    def events_since(self, rv):
        """History entries with resourceVersion > rv; 410 Expired when rv is older than the kept history."""
        with self.lock:
            if self.history and rv < self.history[0][0] - 1:
                raise errors.expired(f'too old resource version: {rv} ({self.history[0][0] - 1})')
            if not self.history and rv < self.rv:
                raise errors.expired(f'too old resource version: {rv} ({self.rv})')
            return [entry for entry in self.history if entry[0] > rv]

    def clear(self):
        """Drop every object and the history (the counter keeps growing, as resourceVersions never go back)."""
        with self.lock:
            self.objects = {}
            self.history = []
            self.changed.notify_all()

    def dump(self, path):
        """Write the objects and the counter to a JSON file (atomically)."""
        with self.lock:
            data = {'resourceVersion': self.rv, 'objects': {res: list(bucket.values()) for res, bucket in self.objects.items()}}
            text = json.dumps(data, sort_keys=True)
        tmp = f'{path}.tmp'
        with open(tmp, 'w', encoding='utf-8') as handle:
            handle.write(text)
        os.replace(tmp, path)

    def load(self, path):
        """Load objects written by ``dump``; the history starts empty at the loaded counter."""
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
        with self.lock:
            self.rv = int(data.get('resourceVersion', 0))
            self.objects = {res: {(o['metadata'].get('namespace', ''), o['metadata']['name']): o for o in items}
                            for res, items in data.get('objects', {}).items()}
            self.history = []

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bank store in a local directory: one file per key, written atomically, readable by the owner only."""

from __future__ import annotations

import os
import tempfile

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError


class LocalStore:
    kind = 'local'

    def __init__(self, root):
        self.root = os.path.abspath(root)

    @property
    def location(self):
        return self.root

    def _path(self, key):
        parts = [p for p in key.split('/') if p]
        if not parts or any(p in ('.', '..') for p in parts):
            raise ProtectionError('bank key %r is not valid' % key)
        return os.path.join(self.root, *parts)

    def put(self, key, data, dry_run=False):
        if dry_run:
            return
        path = self._path(key)
        try:
            if not os.path.isdir(self.root):
                os.makedirs(self.root, mode=0o700, exist_ok=True)
                os.chmod(self.root, 0o700)  # makedirs honours the umask; the bank is private
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.tmp-')
            with os.fdopen(fd, 'wb') as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise ProtectionError('cannot write %s to the bank %s: %s' % (key, self.root, exc))

    def get(self, key):
        """The bytes under ``key``, or None."""
        try:
            with open(self._path(key), 'rb') as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ProtectionError('cannot read %s from the bank %s: %s' % (key, self.root, exc))

    def list(self, prefix):
        """Keys starting with ``prefix`` (a directory path ending in /)."""
        base = self._path(prefix) if prefix.strip('/') else self.root
        keys = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith('.tmp-'):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), self.root)
                keys.append(rel.replace(os.sep, '/'))
        return sorted(keys)

    def delete(self, key):
        path = self._path(key)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ProtectionError('cannot delete %s from the bank %s: %s' % (key, self.root, exc))
        # remove emptied directories up to the root
        directory = os.path.dirname(path)
        while directory.startswith(self.root + os.sep):
            try:
                os.rmdir(directory)
            except OSError:
                break
            directory = os.path.dirname(directory)

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the tasks of one run can share instead of asking again: version discovery documents and, opt-in, tokens.

Why: every task is a new process, so openstacksdk discovers each service's versions (Cinder: three requests, the
first refused unauthenticated) and asks Keystone for a token every time, where the floor of an idempotent no-op is
a token, a volume lookup and a snapshot lookup. Both answers stay valid far longer than a playbook takes:

- Discovery documents (public version lists, the same for every user) are kept ``discovery_ttl`` seconds, keyed by
  URL. On by default.
- Tokens only when asked (``token_cache``): keyed by keystoneauth's cache id of the auth options, a SHA-256 over the
  auth URL, user, project or domain or system scope, trust and the secret itself, so other credentials (a wrong
  password included) never find another's token; reused until keystoneauth finds it about to expire, then replaced.

Files live in one directory of the current user's: created 0700, each file written 0600 (atomically); a directory
another user owns or can read is not used at all (the task says so in its warnings). Token files hold bearer
tokens: they are never logged or returned. A failure to read or write the cache never fails a task: it just asks.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import time

DEFAULT_DISCOVERY_TTL = 600
_DISCOVERY_FILE = 'discovery.json'
_TOKEN_PREFIX = 'token-'
ENV_CACHE_DIR = 'DATAPROTECTION_OPENSTACK_CACHE_DIR'
ENV_TOKEN_CACHE = 'DATAPROTECTION_OPENSTACK_TOKEN_CACHE'
ENV_DISCOVERY_TTL = 'DATAPROTECTION_OPENSTACK_DISCOVERY_CACHE_TTL'


def _boolean(text):
    lowered = text.lower()
    if lowered in ('1', 'true', 'yes', 'on'):
        return True
    if lowered in ('0', 'false', 'no', 'off'):
        return False
    raise ValueError(text)


def default_directory():
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'dataprotection.openstack')


class RunCache(object):
    """Seeds a CloudRegion's keystoneauth session from the directory (``attach``) and writes back what it learnt
    (``save``)."""

    def __init__(self, directory=None, tokens=False, discovery_ttl=DEFAULT_DISCOVERY_TTL, clock=time.time):
        self.directory = os.path.abspath(os.path.expanduser(directory or default_directory()))
        self.tokens = bool(tokens)
        self.discovery_ttl = max(0, int(discovery_ttl or 0))
        self.clock = clock
        self.warnings = []
        self.stats = dict(discovery_reused=0, token_reused=False)
        self._usable = None
        self._loaded_discovery = {}
        self._loaded_token = None

    @classmethod
    def from_params(cls, params):
        """The cache the options ask for (or their environment variables, for callers without an argument spec
        such as the inventory plugin), or None when they ask for none."""
        def option(name, env, convert, default):
            value = params.get(name)
            if value is None and os.environ.get(env, '').strip():
                try:
                    value = convert(os.environ[env].strip())
                except ValueError:
                    value = None
            return default if value is None else value

        ttl = option('discovery_cache_ttl', ENV_DISCOVERY_TTL, int, DEFAULT_DISCOVERY_TTL)
        tokens = option('token_cache', ENV_TOKEN_CACHE, _boolean, False)
        if not tokens and ttl <= 0:
            return None
        return cls(option('cache_dir', ENV_CACHE_DIR, str, None), tokens=tokens, discovery_ttl=ttl)

    @property
    def enabled(self):
        return self.tokens or self.discovery_ttl > 0

    # -- the directory ----------------------------------------------------------------------------------------

    def usable(self):
        """Create the directory 0700, or accept an existing one only if this user owns it and nobody else can
        enter it."""
        if self._usable is None:
            self._usable = self._check_directory()
        return self._usable

    def _check_directory(self):
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            info = os.lstat(self.directory)
        except OSError as exc:
            self.warnings.append('cache_dir %s not used: %s' % (self.directory, exc.strerror or exc))
            return False
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            self.warnings.append('cache_dir %s not used: it must be a directory of this user (uid %d) that no one '
                                 'else can read (mode 0700; it is %s, owner uid %d)'
                                 % (self.directory, os.getuid(), oct(stat.S_IMODE(info.st_mode)), info.st_uid))
            return False
        return True

    def _read(self, name):
        try:
            with open(os.path.join(self.directory, name), encoding='utf-8') as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None

    def _write(self, name, document):
        handle, tmp = tempfile.mkstemp(prefix='.' + name, dir=self.directory)  # created 0600
        try:
            with os.fdopen(handle, 'w', encoding='utf-8') as out:
                json.dump(document, out)
            os.replace(tmp, os.path.join(self.directory, name))
        except (OSError, TypeError, ValueError):
            try:
                os.unlink(tmp)
            except OSError:
                pass

    # -- attach / save ----------------------------------------------------------------------------------------

    def attach(self, region):
        """Give the region's session the cached discovery documents, and its auth plugin the cached token."""
        if not self.enabled or not self.usable():
            return
        try:
            session = region.get_session()
        except Exception:  # pylint: disable=broad-except
            return  # the real error shows on the first request
        if self.discovery_ttl > 0:
            self._seed_discovery(session)
        if self.tokens:
            self._seed_token(session.auth)

    def _seed_discovery(self, session):
        from keystoneauth1 import discover  # pylint: disable=import-outside-toplevel
        document = self._read(_DISCOVERY_FILE) or {}
        now = self.clock()
        cache = getattr(session, '_discovery_cache', None)
        if not isinstance(cache, dict) or not isinstance(document, dict):
            return
        for url, entry in document.items():
            data = entry.get('versions') if isinstance(entry, dict) else None
            if not self._fresh(entry, now) or not isinstance(data, list) or url in cache:
                continue
            # A Discover is its URL and the version list it fetched (keystoneauth's __init__ only fetches these).
            disc = discover.Discover.__new__(discover.Discover)
            disc._url = url
            disc._data = data
            cache[url] = disc
            self._loaded_discovery[url] = entry
        self.stats['discovery_reused'] = len(self._loaded_discovery)

    def _fresh(self, entry, now):
        try:
            return 0 <= now - float(entry['fetched']) < self.discovery_ttl
        except (KeyError, TypeError, ValueError):
            return False

    def _token_file(self, auth):
        cache_id = auth.get_cache_id() if auth is not None and hasattr(auth, 'get_cache_id') else None
        # keystoneauth's id is base64 (may hold '/'): hashed again for a file name
        return _TOKEN_PREFIX + hashlib.sha256(cache_id.encode()).hexdigest() + '.json' if cache_id else None

    def _seed_token(self, auth):
        name = self._token_file(auth)
        state = self._read(name) if name else None
        if not isinstance(state, dict) or not isinstance(state.get('state'), str):
            return
        try:
            auth.set_auth_state(state['state'])
        except Exception:  # pylint: disable=broad-except
            auth.set_auth_state(None)  # a damaged file: authenticate as usual
            return
        self._loaded_token = state['state']
        # keystoneauth re-authenticates by itself when this one expires within its stale margin; say whether the
        # cached one is going to be used.
        ref = getattr(auth, 'auth_ref', None)
        self.stats['token_reused'] = bool(ref is not None and not ref.will_expire_soon(30))

    def save(self, region):
        """Write back discovery documents fetched during the task and a new token (never raises)."""
        if not self.enabled or not self._usable:
            return
        try:
            session = region.get_session()
        except Exception:  # pylint: disable=broad-except
            return
        if self.discovery_ttl > 0:
            self._save_discovery(session)
        if self.tokens:
            self._save_token(session.auth)

    def _save_discovery(self, session):
        caches = [getattr(session, '_discovery_cache', None), getattr(session.auth, '_discovery_cache', None)]
        fetched = {}
        for cache in caches:
            for url, disc in (cache or {}).items():
                data = getattr(disc, '_data', None)
                if url not in self._loaded_discovery and isinstance(data, list):
                    fetched[url] = dict(fetched=self.clock(), versions=data)
        if not fetched:
            return
        document = self._read(_DISCOVERY_FILE)
        document = document if isinstance(document, dict) else {}
        now = self.clock()
        for url in list(document):
            if not self._fresh(document[url], now):
                del document[url]
        document.update(fetched)
        self._write(_DISCOVERY_FILE, document)

    def _save_token(self, auth):
        name = self._token_file(auth)
        try:
            state = auth.get_auth_state() if name else None
        except Exception:  # pylint: disable=broad-except
            state = None
        if state and state != self._loaded_token:
            self._write(name, dict(state=state))

"""Secrets of the local cloud that must never show in test output (used by run_tests.py's molecule step).

``static_secrets(root)`` returns ``([(kind, value), ...], admin_auth)``: freezer-api's service user password (the
``[keystone_authtoken]`` password of ``.localcloud/etc/freezer/freezer-api.conf``, which the molecule scenario
gives the role) and the admin password (cloud ``localcloud-admin`` of ``.localcloud/clouds.yaml``, the role's
Keystone admin credentials). ``trust_ids(admin_auth)`` lists every trust Keystone has now
(``GET /v3/OS-TRUST/trusts`` as admin); ``TrustWatcher`` does so every second while a test runs, since
freezer-api deletes a job's trust with the last job using it (a test may create and delete trusts).
``scan(text, secrets)`` returns ``[(kind, line_number), ...]``; ``redact(text, secrets)`` replaces the values.
Values are never printed by this module.
"""
import configparser
import json
import os
import threading
import urllib.request

import yaml

TIMEOUT = 30


def _keystone(auth_url, path, token=None, body=None):
    headers = {'Content-Type': 'application/json'}
    if token:
        headers['X-Auth-Token'] = token
    request = urllib.request.Request(auth_url.rstrip('/') + path, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return response.headers, json.load(response)


def admin_token(admin_auth):
    auth = {'identity': {'methods': ['password'], 'password': {'user': {
        'name': admin_auth['username'], 'password': admin_auth['password'],
        'domain': {'name': admin_auth.get('user_domain_name', 'Default')}}}},
        'scope': {'project': {'name': admin_auth['project_name'],
                              'domain': {'name': admin_auth.get('project_domain_name', 'Default')}}}}
    headers, _body = _keystone(admin_auth['auth_url'], '/auth/tokens', body={'auth': auth})
    return headers['X-Subject-Token']


def trust_ids(admin_auth, token=None):
    _headers, body = _keystone(admin_auth['auth_url'], '/OS-TRUST/trusts', token=token or admin_token(admin_auth))
    return {trust['id'] for trust in body['trusts']}


class TrustWatcher(threading.Thread):
    """Collect the ids of every trust Keystone lists, every ``interval`` seconds, until ``halt()``."""

    def __init__(self, admin_auth, interval=1.0):
        super().__init__(name='trust-watcher', daemon=True)
        self.admin_auth = admin_auth
        self.interval = interval
        self.seen = set()
        self.polls = self.errors = 0
        self._halted = threading.Event()

    def run(self):
        token = None
        while not self._halted.is_set():
            try:
                token = token or admin_token(self.admin_auth)
                self.seen |= trust_ids(self.admin_auth, token)
                self.polls += 1
            except Exception:  # noqa: BLE001 - a failed poll is retried; the final listing must succeed
                token = None
                self.errors += 1
            self._halted.wait(self.interval)

    def halt(self):
        self._halted.set()
        self.join()
        return self.seen


def admin_auth_of(root):
    with open(os.path.join(root, '.localcloud', 'clouds.yaml')) as fh:
        return yaml.safe_load(fh)['clouds']['localcloud-admin']['auth']


def static_secrets(root):
    conf = configparser.ConfigParser(interpolation=None)
    api_conf = os.path.join(root, '.localcloud', 'etc', 'freezer', 'freezer-api.conf')
    if not conf.read(api_conf):
        raise RuntimeError('cannot read %s' % api_conf)
    admin_auth = admin_auth_of(root)
    secrets = [('freezer service user password', conf['keystone_authtoken']['password']),
               ('admin password', admin_auth['password'])]
    if any(not value for _kind, value in secrets):
        raise RuntimeError('an empty password: nothing to scan for')
    return secrets, admin_auth


def scan(text, secrets):
    hits = []
    for number, line in enumerate(text.splitlines(), 1):
        for kind in sorted({kind for kind, value in secrets if value in line}):
            hits.append((kind, number))
    return hits


def redact(text, secrets):
    # longest first, so that no value is left partly visible by a shorter one replaced inside it
    for kind, value in sorted(secrets, key=lambda item: -len(item[1])):
        text = text.replace(value, '<redacted %s>' % kind)
    return text

"""The run cache: tasks (fresh processes) share version discovery and, opt-in, tokens - over real HTTP.

One tiny server plays Keystone (password authentication, a catalog naming Cinder) and Cinder (version discovery
that refuses unauthenticated requests and redirects ``/v3`` to ``/v3/``, as Cinder does, and a volume listing).
Each task is a new interpreter, as a module run is; the server records every request.
"""
import json
import os
import stat
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.dataprotection.openstack.tests.unit.fakes import run_fresh

PASSWORD = 'pa$$ word'


class _Cloud(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def _send(self, status, document=None, headers=None):
        payload = json.dumps(document).encode() if document is not None else b''
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _base(self):
        return 'http://127.0.0.1:%d' % self.server.server_port

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        self.server.log.append('POST ' + self.path)
        user = body['auth']['identity']['password']['user']
        if self.path != '/identity/v3/auth/tokens' or user['password'] != PASSWORD:
            self._send(401, {'error': {'code': 401, 'message': 'The request you have made requires authentication.'}})
            return
        self.server.tokens += 1
        expires = datetime.now(timezone.utc) + timedelta(seconds=self.server.token_life)
        cinder = self._base() + '/volume/v3/p-1'
        token = {'token': {
            'expires_at': expires.strftime('%Y-%m-%dT%H:%M:%S.000000Z'), 'methods': ['password'],
            'user': {'id': 'u-1', 'name': user['name'], 'domain': {'id': 'default', 'name': 'Default'}},
            'project': {'id': 'p-1', 'name': 'demo', 'domain': {'id': 'default', 'name': 'Default'}},
            'roles': [{'id': 'r-1', 'name': 'member'}],
            'catalog': [{'type': 'block-storage', 'name': 'cinderv3', 'id': 's-1', 'endpoints': [
                {'id': 'e-1', 'interface': 'public', 'region': 'RegionOne', 'region_id': 'RegionOne', 'url': cinder}]}]}}
        self._send(201, token, {'X-Subject-Token': 'token-%d' % self.server.tokens})

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.log.append('GET ' + self.path.split('?')[0])
        authenticated = (self.headers.get('X-Auth-Token') or '').startswith('token-')
        if self.path == '/volume/v3':
            if not authenticated:
                self._send(401, {'error': {'code': 401}})
            else:
                self._send(302, {}, {'Location': self._base() + '/volume/v3/'})
            return
        if self.path == '/volume/v3/':
            self._send(200, {'versions': [{'id': 'v3.0', 'status': 'CURRENT', 'version': '3.70', 'min_version': '3.0',
                                           'links': [{'rel': 'self', 'href': self._base() + '/volume/v3/'}]}]})
            return
        if self.path.startswith('/volume/v3/p-1/volumes/detail') and authenticated:
            self._send(200, {'volumes': [{'id': 'v-1', 'name': 'data', 'status': 'available', 'size': 1}]})
            return
        self._send(404, {'error': {'code': 404}})

    def log_message(self, *args):
        pass


@pytest.fixture
def cloud():
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Cloud)
    server.log, server.tokens, server.token_life = [], 0, 3600
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


TASK = '''
    import json, os, sys
    from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
    params = dict(json.loads(os.environ['PARAMS']))
    params['cloud'] = {'auth_type': 'password', 'auth': {
        'auth_url': 'http://127.0.0.1:%s/identity/v3' % os.environ['PORT'], 'username': 'demo',
        'password': os.environ['PASSWORD'], 'project_name': 'demo', 'user_domain_name': 'Default',
        'project_domain_name': 'Default'}}
    conn = os_connection.connect(params)
    names = [v.name for v in conn.block_storage.volumes()]
    cache = conn.run_cache
    print(json.dumps(dict(names=names, warnings=cache.warnings if cache else None,
                          stats=cache.stats if cache else None)))
    sys.exit(0)  # as a module leaves: the cache is written back at exit
'''


def task(cloud, password=PASSWORD, **params):
    params.setdefault('discovery_cache_ttl', 600)  # the option's default (unit tests turn the environment's off)
    del cloud.log[:]
    out = run_fresh(TASK, PORT=str(cloud.server_port), PASSWORD=password, PARAMS=json.dumps(params))
    assert out['names'] == ['data']
    return out, list(cloud.log)


DISCOVERY = ['GET /volume/v3/']  # keystoneauth's discovery of this catalog URL (real Cinder: three requests)


def test_without_cache_every_task_discovers_and_authenticates(cloud, tmp_path):
    for _ in range(2):
        out, log = task(cloud, cache_dir=str(tmp_path), discovery_cache_ttl=0)
        assert out['stats'] is None
        assert log == ['POST /identity/v3/auth/tokens'] + DISCOVERY + ['GET /volume/v3/p-1/volumes/detail']
    assert os.listdir(tmp_path) == []


def test_discovery_is_reused_by_the_next_task_and_the_files_are_private(cloud, tmp_path):
    cache_dir = tmp_path / 'cache'
    _out, first = task(cloud, cache_dir=str(cache_dir))
    assert first == ['POST /identity/v3/auth/tokens'] + DISCOVERY + ['GET /volume/v3/p-1/volumes/detail']
    out, second = task(cloud, cache_dir=str(cache_dir))
    # token + the lookup: 2 requests where there were 5
    assert second == ['POST /identity/v3/auth/tokens', 'GET /volume/v3/p-1/volumes/detail']
    assert out['stats']['discovery_reused'] >= 1 and out['stats']['token_reused'] is False
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
    assert sorted(os.listdir(cache_dir)) == ['discovery.json']  # no token unless asked
    assert stat.S_IMODE(os.stat(cache_dir / 'discovery.json').st_mode) == 0o600


def test_expired_discovery_is_fetched_again(cloud, tmp_path):
    task(cloud, cache_dir=str(tmp_path))
    document = json.loads((tmp_path / 'discovery.json').read_text())
    for entry in document.values():
        entry['fetched'] -= 601
    (tmp_path / 'discovery.json').write_text(json.dumps(document))
    _out, log = task(cloud, cache_dir=str(tmp_path))
    assert log[1:2] == DISCOVERY


def test_token_cache_reaches_the_lookup_alone_and_never_serves_other_credentials(cloud, tmp_path):
    task(cloud, cache_dir=str(tmp_path), token_cache=True)
    out, log = task(cloud, cache_dir=str(tmp_path), token_cache=True)
    assert log == ['GET /volume/v3/p-1/volumes/detail'], (out, os.listdir(tmp_path))
    assert out['stats']['token_reused'] is True and cloud.tokens == 1
    tokens = [name for name in os.listdir(tmp_path) if name.startswith('token-')]
    assert len(tokens) == 1 and stat.S_IMODE(os.stat(tmp_path / tokens[0]).st_mode) == 0o600
    # a wrong password finds no token: Keystone refuses it, as without a cache
    with pytest.raises(AssertionError) as refused:
        task(cloud, password='wrong', cache_dir=str(tmp_path), token_cache=True)
    assert '401' in str(refused.value) or 'authentication' in str(refused.value).lower()
    assert cloud.log == ['POST /identity/v3/auth/tokens']


def test_a_token_about_to_expire_is_replaced(cloud, tmp_path):
    cloud.token_life = 10  # inside keystoneauth's stale margin
    task(cloud, cache_dir=str(tmp_path), token_cache=True)
    cloud.token_life = 3600
    out, log = task(cloud, cache_dir=str(tmp_path), token_cache=True)
    assert log == ['POST /identity/v3/auth/tokens', 'GET /volume/v3/p-1/volumes/detail']
    assert out['stats']['token_reused'] is False
    _out, log = task(cloud, cache_dir=str(tmp_path), token_cache=True)
    assert log == ['GET /volume/v3/p-1/volumes/detail']  # the replacement was stored


def test_a_directory_others_can_read_is_not_used(cloud, tmp_path):
    shared = tmp_path / 'shared'
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    out, log = task(cloud, cache_dir=str(shared), token_cache=True)
    assert 'not used' in out['warnings'][0] and str(shared) in out['warnings'][0]
    assert os.listdir(shared) == []
    _out, log = task(cloud, cache_dir=str(shared), token_cache=True)
    assert log[0] == 'POST /identity/v3/auth/tokens' and log[1:2] == DISCOVERY


def test_a_damaged_cache_is_ignored(cloud, tmp_path):
    task(cloud, cache_dir=str(tmp_path), token_cache=True)
    for name in os.listdir(tmp_path):
        (tmp_path / name).write_text('{not json')
    _out, log = task(cloud, cache_dir=str(tmp_path), token_cache=True)
    assert log == ['POST /identity/v3/auth/tokens'] + DISCOVERY + ['GET /volume/v3/p-1/volumes/detail']


def test_environment_variables_turn_it_on_for_callers_without_options(monkeypatch, tmp_path):
    from ansible_collections.dataprotection.openstack.plugins.module_utils.run_cache import RunCache
    monkeypatch.setenv('DATAPROTECTION_OPENSTACK_TOKEN_CACHE', 'yes')
    monkeypatch.setenv('DATAPROTECTION_OPENSTACK_CACHE_DIR', str(tmp_path))
    cache = RunCache.from_params({})
    assert cache.tokens is True and cache.directory == str(tmp_path) and cache.discovery_ttl == 0
    assert RunCache.from_params({'token_cache': False}) is None

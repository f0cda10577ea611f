"""sdk_log_path / sdk_log_level: openstacksdk and keystoneauth log to a private file, without the password.

A fresh interpreter (logging is process-wide) connects with a password to a tiny Keystone + Cinder server.
"""
import json
import os
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.dataprotection.openstack.tests.unit.fakes import run_fresh

PASSWORD = 'Sup3r-s3cret-pw'
TOKEN = 'gAAAAAB-token-in-clear-0123456789'


class _Cloud(BaseHTTPRequestHandler):
    def _send(self, body, status=200, headers=None):
        payload = json.dumps(body).replace('{port}', str(self.server.server_port)).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers.get('Content-Length') or 0)
        self.rfile.read(length)
        if self.path.startswith('/identity/v3/auth/tokens'):
            endpoint = 'http://127.0.0.1:{port}/v3'
            domain = dict(id='default', name='Default')
            self._send({'token': {
                'methods': ['password'], 'expires_at': '2099-01-01T00:00:00.000000Z',
                'issued_at': '2026-01-01T00:00:00.000000Z',
                'user': dict(id='u-1', name='demo', domain=domain),
                'project': dict(id='p-1', name='demo', domain=domain), 'roles': [dict(id='r-1', name='member')],
                'catalog': [{'type': 'block-storage', 'name': 'cinder', 'id': 'c-1', 'endpoints': [
                    {'id': 'e-1', 'interface': 'public', 'region': 'RegionOne', 'region_id': 'RegionOne',
                     'url': endpoint}]}]}}, status=201, headers={'X-Subject-Token': TOKEN})
        else:
            self.send_error(404)

    def do_GET(self):  # noqa: N802
        if self.path.rstrip('/') in ('', '/v3'):
            self._send({'versions': [{'id': 'v3.0', 'status': 'CURRENT', 'version': '3.70', 'min_version': '3.0',
                                      'links': [{'rel': 'self', 'href': 'http://127.0.0.1:{port}/v3/'}]}]})
        elif self.path.startswith('/v3/volumes/detail'):
            self._send({'volumes': [{'id': 'v-1', 'name': 'data', 'status': 'available', 'size': 1}]})
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def cloud():
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Cloud)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


CODE = '''
    import json, os
    from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
    from ansible_collections.dataprotection.openstack.plugins.module_utils.args import openstack_argument_spec
    params = dict((name, spec.get('default')) for name, spec in openstack_argument_spec().items())
    params.update(auth_type='v3password', sdk_log_path=os.environ['LOG'], sdk_log_level=%r,
                  auth=dict(auth_url='http://127.0.0.1:%%s/identity/v3' %% os.environ['PORT'], username='demo',
                            password=%r, project_name='demo', user_domain_name='Default',
                            project_domain_name='Default'))
    conn = os_connection.connect(params)
    names = [v.name for v in conn.block_storage.volumes()]
    os_connection.connect(params)  # a second connection in the process adds no second handler
    print(json.dumps(dict(names=names)))
'''


def test_debug_log_has_the_requests_and_no_secret(cloud, tmp_path):
    log_path = str(tmp_path / 'sdk.log')
    out = run_fresh(CODE % ('DEBUG', PASSWORD), PORT=str(cloud.server_port), LOG=log_path)
    assert out['names'] == ['data']
    assert os.path.exists(log_path)
    assert stat.S_IMODE(os.stat(log_path).st_mode) == 0o600
    with open(log_path, encoding='utf-8') as handle:
        text = handle.read()
    request = 'GET http://127.0.0.1:%s/v3/volumes/detail' % cloud.server_port
    assert request in text
    assert text.count(request) == 1, 'one handler, one line per request'
    assert PASSWORD not in text
    assert TOKEN not in text and '{SHA256}' in text


def test_info_level_logs_no_http(cloud, tmp_path):
    log_path = str(tmp_path / 'sdk.log')
    out = run_fresh(CODE % ('INFO', PASSWORD), PORT=str(cloud.server_port), LOG=log_path)
    assert out['names'] == ['data']
    assert stat.S_IMODE(os.stat(log_path).st_mode) == 0o600
    with open(log_path, encoding='utf-8') as handle:
        text = handle.read()
    assert 'volumes/detail' not in text and PASSWORD not in text


def test_no_log_path_no_handler():
    from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
    assert os_connection.enable_sdk_logging(None, 'DEBUG') is None

"""The connection factory loads only the services a task uses, over real HTTP.

Each case runs in a fresh interpreter: what matters is which modules a module
process imports, and this test process has imported all of openstacksdk.
A tiny Cinder-shaped HTTP server answers version discovery and one listing.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.dataprotection.openstack.tests.unit.fakes import run_fresh

VERSIONS = {'versions': [{'id': 'v3.0', 'status': 'CURRENT', 'version': '3.70', 'min_version': '3.0',
                          'links': [{'rel': 'self', 'href': 'http://127.0.0.1:{port}/v3/'}]}]}


class _Cinder(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.paths.append(self.path)
        if self.path.rstrip('/') in ('', '/v3'):
            body = json.dumps(VERSIONS).replace('{port}', str(self.server.server_port))
        elif self.path.startswith('/v3/volumes/detail'):
            body = json.dumps({'volumes': [{'id': 'v-1', 'name': 'data', 'status': 'available', 'size': 1}]})
        else:
            self.send_error(404)
            return
        payload = body.encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def cinder():
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Cinder)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


PRELUDE = '''
    import json, os, sys
    from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
    endpoint = 'http://127.0.0.1:%s/v3' % os.environ['PORT']
    params = dict(cloud={'auth_type': 'none', 'auth': {'endpoint': endpoint},
                         'block_storage_endpoint_override': endpoint, 'block_storage_api_version': '3'})
'''


def test_block_storage_works_without_importing_every_service(cinder):
    out = run_fresh(PRELUDE + '''
    conn = os_connection.connect(params)
    names = [v.name for v in conn.block_storage.volumes()]
    print(json.dumps(dict(names=names, type=type(conn).__name__,
                          connection_module='openstack.connection' in sys.modules,
                          compute='openstack.compute.v2._proxy' in sys.modules)))
    ''', PORT=str(cinder.server_port))
    assert out['names'] == ['data']
    assert out['type'] == 'LeanConnection'
    assert out['connection_module'] is False and out['compute'] is False
    assert any(p.startswith('/v3/volumes/detail') for p in cinder.paths)


def test_other_attributes_come_from_the_full_connection_on_the_same_region(cinder):
    out = run_fresh(PRELUDE + '''
    import openstack
    conn = os_connection.connect(params)
    full = conn.full_connection()
    print(json.dumps(dict(same_region=full.config is conn.config, full_type=type(full).__module__,
                          package_complete=hasattr(openstack, 'connect'),
                          delegated=conn.use_direct_get == full.use_direct_get)))
    ''', PORT=str(cinder.server_port))
    assert out == dict(same_region=True, full_type='openstack.connection', package_complete=True, delegated=True)


def test_resources_get_their_location_from_the_lean_connection(cinder):
    out = run_fresh(PRELUDE + '''
    conn = os_connection.connect(params)
    volume = next(iter(conn.block_storage.volumes()))
    print(json.dumps(dict(location=dict(volume.location))))
    ''', PORT=str(cinder.server_port))
    assert out['location']['cloud'] and 'project' in out['location']


def test_an_openstacksdk_that_moved_the_fast_path_pieces_falls_back_to_its_own_connection(cinder):
    """Issue 13 item 6: the fast path reads openstacksdk internals; when they move, the module still works."""
    out = run_fresh(PRELUDE + '''
    from ansible_collections.dataprotection.openstack.plugins.module_utils import lean_connection
    lean_connection.LEAN_SERVICES['block_storage'] = ('openstack.block_storage.moved_service', 'Gone', 'block-storage')
    conn = os_connection.connect(params)
    names = [v.name for v in conn.block_storage.volumes()]
    print(json.dumps(dict(names=names, reason=conn.fallback_reason, proxy=type(conn.block_storage).__module__,
                          connection_module='openstack.connection' in sys.modules)))
    ''', PORT=str(cinder.server_port))
    assert out['names'] == ['data']
    assert out['reason'].startswith('ModuleNotFoundError') and out['connection_module'] is True
    assert out['proxy'] == 'openstack.block_storage.v3._proxy'

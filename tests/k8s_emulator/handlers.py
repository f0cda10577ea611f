"""HTTP layer: authentication, URL routing, JSON bodies, chunked watch streams and the test-only /emulator endpoints."""

import hmac
import json
import logging
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from . import discovery, errors, pod_exec, scale
from .selection import Selector

LOG = logging.getLogger('k8s_emulator')
PUBLIC_PATHS = ('/version', '/healthz', '/livez', '/readyz')
DEFAULT_WATCH_TIMEOUT = 1800  # Real: a random duration in [--min-request-timeout, 2x] (1800 s default)
CONFIG_TYPES = {'tick': float, 'pod_start_delay': float, 'node_name': str, 'paused': bool, 'detach_delay': float,
                'service_account_delay': float}


class Handler(BaseHTTPRequestHandler):
    """One request; ``self.server.emulator`` holds the cluster."""

    protocol_version = 'HTTP/1.1'
    server_version = 'k8s-emulator'

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Log through ``logging`` (quiet unless the server runs with --verbose)."""
        LOG.debug('%s - %s', self.address_string(), format % args)

    def do_GET(self):  # noqa: N802  pylint: disable=invalid-name
        """GET."""
        self._dispatch('GET')

    def do_POST(self):  # noqa: N802  pylint: disable=invalid-name
        """POST."""
        self._dispatch('POST')

    def do_PUT(self):  # noqa: N802  pylint: disable=invalid-name
        """PUT."""
        self._dispatch('PUT')

    def do_PATCH(self):  # noqa: N802  pylint: disable=invalid-name
        """PATCH."""
        self._dispatch('PATCH')

    def do_DELETE(self):  # noqa: N802  pylint: disable=invalid-name
        """DELETE."""
        self._dispatch('DELETE')

    # ------------------------------------------------------------ plumbing
    @property
    def emulator(self):
        """The cluster this server serves."""
        return self.server.emulator

    def _send(self, code, body, content_type='application/json'):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Cache-Control', 'no-cache, private')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    def _read_raw_body(self):
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length else b''

    @staticmethod
    def _parse_body(raw):
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            # Real: the apiserver also accepts YAML/protobuf; the emulator only JSON (JSON is what the Python clients send).
            raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from None

    def _authenticate(self, path):
        header = self.headers.get('Authorization', '')
        if not header:
            if path in PUBLIC_PATHS:
                return  # Real: anonymous requests may read /version and health endpoints (system:public-info-viewer).
            raise errors.unauthorized()
        scheme, _, token = header.partition(' ')
        if scheme.lower() != 'bearer' or not hmac.compare_digest(token.strip().encode(), self.emulator.token.encode()):
            raise errors.unauthorized()  # Real: wrong credentials are rejected even on public paths.

    def _dispatch(self, method):
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = '/' + url.path.strip('/')
        try:
            raw = self._read_raw_body()  # always drain the body first, so a kept-alive connection stays in sync
            self._authenticate(path)
            body = self._parse_body(raw)
            if path.startswith('/emulator'):
                self._admin(method, path, body)
            elif not self._discovery(method, path):
                self._resource(method, path, params, body)
        except errors.ApiError as exc:
            self._send(exc.code, exc.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # pylint: disable=broad-except
            LOG.exception('internal error on %s %s', method, self.path)
            self._send(500, errors.ApiError(500, 'InternalError', f'Internal error occurred: {exc}').status())

    # ------------------------------------------------------------ discovery
    def _discovery(self, method, path):
        parts = [p for p in path.split('/') if p]
        doc = None
        if path in ('/healthz', '/livez', '/readyz'):
            self._send(200, b'ok', 'text/plain; charset=utf-8')
            return True
        if method != 'GET':
            return False
        if path == '/version':
            doc = discovery.SERVER_VERSION
        elif path == '/':
            doc = {'paths': ['/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/apis/storage.k8s.io', '/apis/storage.k8s.io/v1', '/healthz', '/livez',
                             '/readyz', '/version']}
        elif parts == ['api']:
            doc = discovery.api_versions(f'{self.server.server_address[0]}:{self.server.server_address[1]}')
        elif parts == ['api', 'v1']:
            doc = discovery.resource_list('', 'v1')
        elif parts == ['apis']:
            doc = discovery.api_group_list()
        elif len(parts) == 2 and parts[0] == 'apis' and parts[1] in discovery.GROUPS:
            doc = discovery.api_group(parts[1])
        elif len(parts) == 3 and parts[0] == 'apis' and parts[2] in discovery.GROUPS.get(parts[1], ()):
            doc = discovery.resource_list(parts[1], parts[2])
        elif parts and parts[0] == 'openapi':
            raise errors.page_not_found()  # No OpenAPI documents: clients must cope (kubernetes DynamicClient does).
        if doc is None:
            return False
        self._send(200, doc)
        return True

    # ------------------------------------------------------------ resources
    def _route(self, path):
        """Split a resource URL into (resource, namespace, name, subresource, legacy_watch)."""
        parts = [p for p in path.split('/') if p]
        if parts[:2] == ['api', 'v1']:
            group, version, rest = '', 'v1', parts[2:]
        elif len(parts) >= 3 and parts[0] == 'apis':
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise errors.page_not_found()
        legacy_watch = bool(rest) and rest[0] == 'watch'
        if legacy_watch:
            rest = rest[1:]
        if not rest:
            raise errors.page_not_found()
        namespace = None
        if rest[0] == 'namespaces' and len(rest) >= 3:
            candidate = discovery.find(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        res = discovery.find(group, version, rest[0])
        if res is None or len(rest) > 3:
            raise errors.page_not_found()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ''
        if sub and sub not in res.subresources:
            raise errors.page_not_found()
        if res.namespaced and namespace is None and name is not None:
            raise errors.page_not_found()
        return res, namespace, name, sub, legacy_watch

    def _resource(self, method, path, params, body):
        res, namespace, name, sub, legacy_watch = self._route(path)
        registry = self.emulator.registry
        ua = self.headers.get('User-Agent')
        all_namespaces = res.namespaced and namespace is None
        if sub == 'exec':
            if method not in ('GET', 'POST'):
                raise errors.method_not_allowed()
            pod_exec.serve(self, namespace, name)  # Real: pods/exec answers GET and POST (connect verbs)
            return
        if method == 'GET':
            if legacy_watch or params.get('watch') in ('true', '1'):
                if name:
                    params['fieldSelector'] = ','.join(filter(None, [params.get('fieldSelector'), f'metadata.name={name}']))
                self._watch(res, namespace, params)
            elif name and sub == 'scale':
                self._send(200, scale.get(registry, res, namespace, name))
            elif name:
                self._send(200, registry.get(res, namespace, name))
            else:
                self._send(200, registry.list(res, namespace, params))
            return
        if all_namespaces and method != 'DELETE':
            raise errors.method_not_allowed()
        if method == 'POST':
            if name:
                raise errors.method_not_allowed()
            code, obj = registry.create(res, namespace or '', body, params, ua)
        elif method == 'PUT':
            if not name:
                raise errors.method_not_allowed()
            if sub == 'scale':
                code, obj = scale.update(registry, res, namespace, name, body, params, ua)
            else:
                code, obj = registry.update(res, namespace or '', name, body, params, sub, ua)
        elif method == 'PATCH':
            if not name:
                raise errors.method_not_allowed()
            if sub == 'scale':
                code, obj = scale.patch_scale(registry, res, namespace, name, body, self.headers.get('Content-Type'), params, ua)
            else:
                code, obj = registry.patch(res, namespace or '', name, body, self.headers.get('Content-Type'), params, sub, ua)
        elif method == 'DELETE':
            if name:
                code, obj = registry.delete(res, namespace or '', name, params, body)
            elif 'deletecollection' in res.verbs:
                code, obj = 200, registry.delete_collection(res, namespace, params, body)
            else:
                raise errors.method_not_allowed()
        else:
            raise errors.method_not_allowed()
        self._send(code, obj)

    # ------------------------------------------------------------ watch
    def _write_chunk(self, data):
        self.wfile.write(f'{len(data):x}\r\n'.encode() + data + b'\r\n')
        self.wfile.flush()

    def _watch(self, res, namespace, params):
        """Stream ``{"type": ..., "object": ...}`` lines; unset/"0" resourceVersion starts with synthetic ADDED events."""
        store = self.emulator.store
        selector = Selector(res, params.get('labelSelector'), params.get('fieldSelector'))
        try:
            timeout = float(params.get('timeoutSeconds') or DEFAULT_WATCH_TIMEOUT)
        except ValueError:
            raise errors.bad_request('timeoutSeconds must be a number') from None
        rv_param = params.get('resourceVersion')
        initial, expired = [], None
        with store.lock:
            if rv_param in (None, '', '0'):
                cursor = store.rv
                initial = [o for o in store.list_raw(res.name, namespace if res.namespaced else None) if selector.matches(o)]
                initial = [json.dumps({'type': 'ADDED', 'object': o}).encode() + b'\n' for o in initial]
            else:
                try:
                    cursor = int(rv_param)
                except ValueError:
                    raise errors.bad_request(f'invalid resource version: {rv_param}') from None
                try:
                    store.events_since(cursor)
                except errors.ApiError as exc:
                    expired = exc
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Transfer-Encoding', 'chunked')
        self.send_header('Cache-Control', 'no-cache, private')
        self.end_headers()
        try:
            if expired is not None:
                # Real: a too-old resourceVersion answers 200 then one ERROR event carrying a 410 Expired Status.
                self._write_chunk(json.dumps({'type': 'ERROR', 'object': expired.status()}).encode() + b'\n')
            else:
                for line in initial:
                    self._write_chunk(line)
                self._stream(res, namespace, selector, cursor, time.monotonic() + timeout)
            self.wfile.write(b'0\r\n\r\n')
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _stream(self, res, namespace, selector, cursor, deadline):
        store = self.emulator.store
        while not self.server.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            with store.changed:
                if store.rv <= cursor:
                    store.changed.wait(min(remaining, 0.5))
                try:
                    entries = store.events_since(cursor)
                except errors.ApiError as exc:
                    self._write_chunk(json.dumps({'type': 'ERROR', 'object': exc.status()}).encode() + b'\n')
                    return
            for rv, event_type, resource, obj, old in entries:
                cursor = rv
                if resource != res.name or (namespace and obj['metadata'].get('namespace') != namespace):
                    continue
                now_matches = selector.matches(obj)
                before = old is not None and event_type == 'MODIFIED' and selector.matches(old)
                if event_type == 'MODIFIED' and now_matches != before:
                    # Real (cacher): an object entering the selection is ADDED, one leaving it is DELETED.
                    event_type = 'ADDED' if now_matches else 'DELETED'
                    if not now_matches:
                        obj = dict(old, metadata=dict(old['metadata'], resourceVersion=str(rv)))
                elif not now_matches:
                    continue
                self._write_chunk(json.dumps({'type': event_type, 'object': obj}).encode() + b'\n')

    # ------------------------------------------------------------ test-only admin API
    def _admin(self, method, path, body):
        """``POST /emulator/reset``, ``GET /emulator/state``, ``GET|PATCH /emulator/config``, ``POST /emulator/reconcile``,
        ``GET /emulator/exec-log[?namespace=&pod=]``."""
        emu = self.emulator
        if path == '/emulator/reset' and method == 'POST':
            emu.reset()
            self._send(200, {'status': 'reset', 'resourceVersion': str(emu.store.rv)})
        elif path == '/emulator/state' and method == 'GET':
            self._send(200, emu.state())
        elif path == '/emulator/config' and method == 'GET':
            self._send(200, dict(emu.config))
        elif path == '/emulator/config' and method in ('PATCH', 'POST'):
            for key, value in (body or {}).items():
                if key not in CONFIG_TYPES:
                    raise errors.bad_request(f'unknown emulator setting {key!r}; known: {sorted(CONFIG_TYPES)}')
                try:
                    emu.config[key] = CONFIG_TYPES[key](value)
                except (TypeError, ValueError):
                    raise errors.bad_request(f'bad value for emulator setting {key!r}: {value!r}') from None
            emu.controllers.kick.set()
            self._send(200, dict(emu.config))
        elif path == '/emulator/exec-log' and method == 'GET':
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            self._send(200, emu.exec_log.view(query.get('namespace'), query.get('pod')))
        elif path == '/emulator/reconcile' and method == 'POST':
            emu.controllers.reconcile()
            self._send(200, {'status': 'reconciled', 'resourceVersion': str(emu.store.rv)})
        else:
            raise errors.page_not_found()

"""A tiny forwarding HTTP proxy on 127.0.0.1 that counts the requests passing through it.

Both modules under comparison reach the APIs through python-requests, which
honours ``http_proxy``; routing them through this proxy counts every HTTP
request either makes, without touching either module.
"""
import http.client
import http.server
import threading
import urllib.parse

HOP_BY_HOP = {'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer',
              'proxy-authorization', 'proxy-authenticate'}


class CountingProxy:
    def __init__(self):
        self.requests = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _forward(self):
                url = urllib.parse.urlsplit(self.path)
                with proxy._lock:
                    proxy.requests.append((self.command, url.netloc, url.path))
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP)
                headers['Connection'] = 'close'
                upstream = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=300)
                path = url.path + ('?' + url.query if url.query else '')
                upstream.request(self.command, path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP and key.lower() != 'content-length':
                        self.send_header(key, value)
                self.send_header('Content-Length', str(len(data)))
                self.send_header('Connection', 'close')
                self.end_headers()
                self.wfile.write(data)
                upstream.close()
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        with self._lock:
            self.requests = []

    def stop(self):
        self.server.shutdown()

#!/usr/bin/env python3
"""A network stub for Nova (stdlib only): NOT Neutron.

The local cloud has no Neutron; servers boot with ``networks: none``.  Nova still asks the
network service about every server (ports of a server for its security groups on GET, ports
to unbind on delete, the extension list, the port quota), and freezer-agent's nova engine
lists networks on restore.  This stub answers those reads with empty lists (quotas:
unlimited), so Nova works without networking.  It is in the catalog as ``network`` and Nova
is pointed at it (``[neutron] endpoint_override``).  Anything that would create networking
(POST/PUT/PATCH) gets 501 with a message saying so.

    python3 localcloud/neutron_stub.py --port 9696
"""

import argparse
import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# collection path -> JSON key of the (always empty) list
COLLECTIONS = {
    "ports": "ports", "networks": "networks", "subnets": "subnets",
    "security-groups": "security_groups", "security-group-rules": "security_group_rules",
    "floatingips": "floatingips", "routers": "routers", "extensions": "extensions",
    "qos/policies": "policies", "trunks": "trunks", "segments": "segments",
    "network-ip-availabilities": "network_ip_availabilities",
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "localcloud-neutron-stub/1"

    def log_message(self, fmt, *args):  # one line per request on stderr (the service log)
        super().log_message(fmt, *args)

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def _drain(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def do_GET(self):  # noqa: N802 - http.server naming
        path = urlsplit(self.path).path.rstrip("/")
        if path in ("", "/"):
            href = "http://%s:%d/v2.0/" % self.server.server_address[:2]
            return self._send(200, {"versions": [{"id": "v2.0", "status": "CURRENT",
                                                  "links": [{"href": href, "rel": "self"}]}]})
        match = re.match(r"^/v2\.0/(.+?)(?:\.json)?$", path)
        if match and match.group(1).startswith("quotas/"):  # Nova checks the port quota
            return self._send(200, {"quota": {k: -1 for k in (
                "network", "subnet", "port", "router", "floatingip", "security_group",
                "security_group_rule")}})
        if match and match.group(1) in COLLECTIONS:
            return self._send(200, {COLLECTIONS[match.group(1)]: []})
        if match and match.group(1).rsplit("/", 1)[0] in COLLECTIONS:
            return self._send(404, {"NeutronError": {
                "type": "NotFound", "detail": "",
                "message": "localcloud has no Neutron: %s not found" % match.group(1)}})
        return self._send(404, {"NeutronError": {"type": "NotFound", "detail": "",
                                                 "message": "no such resource: %s" % path}})

    def do_DELETE(self):  # noqa: N802
        self._drain()
        return self._send(404, {"NeutronError": {"type": "NotFound", "detail": "",
                                                 "message": "localcloud has no Neutron"}})

    def _refuse(self):
        self._drain()
        return self._send(501, {"NeutronError": {
            "type": "NotImplemented", "detail": "",
            "message": "localcloud has no Neutron: boot servers with networks 'none' "
                       "(compute API microversion >= 2.37)"}})

    do_POST = do_PUT = do_PATCH = _refuse  # noqa: N815


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9696)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()

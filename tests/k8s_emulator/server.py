"""Kubernetes API server emulator: entry point (CLI) and ``start_server`` for in-process tests.

    python3 tests/k8s_emulator/server.py --host 127.0.0.1 --port 6443 --kubeconfig PATH [--state FILE] [--token T] [--tick S] [--verbose]
"""

import argparse
import json
import logging
import os
import signal
import sys
import threading
from http.server import ThreadingHTTPServer

if __package__ in (None, ''):
    # Run as a script: import the package from tests/ (and keep this directory off sys.path so nothing shadows the stdlib).
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]
    sys.path.insert(0, os.path.dirname(_HERE))
    __package__ = 'k8s_emulator'  # pylint: disable=redefined-builtin
    import k8s_emulator  # noqa: F401  pylint: disable=unused-import,wrong-import-position

from .emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from .handlers import Handler  # noqa: E402  pylint: disable=wrong-import-position

LOG = logging.getLogger('k8s_emulator')
CONTEXT = 'localcloud'


class EmulatorServer(ThreadingHTTPServer):
    """ThreadingHTTPServer carrying the emulated cluster; ``base_url``, ``token`` and ``kubeconfig()`` for clients."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, emulator):
        super().__init__(address, Handler)
        self.emulator = emulator
        self.stopping = threading.Event()

    @property
    def base_url(self):
        """``http://host:port``."""
        host, port = self.server_address[:2]
        return f'http://{host}:{port}'

    @property
    def token(self):
        """The bearer token clients must send."""
        return self.emulator.token

    def kubeconfig(self, path=None, namespace='default'):
        """Kubeconfig dict (cluster, user and context ``localcloud``); written as JSON (valid YAML) with mode 0600 if path given."""
        config = {
            'apiVersion': 'v1', 'kind': 'Config', 'preferences': {}, 'current-context': CONTEXT,
            'clusters': [{'name': CONTEXT, 'cluster': {'server': self.base_url}}],
            'users': [{'name': f'{CONTEXT}-admin', 'user': {'token': self.token}}],
            'contexts': [{'name': CONTEXT, 'context': {'cluster': CONTEXT, 'user': f'{CONTEXT}-admin', 'namespace': namespace}}],
        }
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w', encoding='utf-8') as handle:
                json.dump(config, handle, indent=2)
        return config

    def stop(self):
        """Stop serving, end open watches, stop the controllers and save the state file."""
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self.emulator.stop()


def start_server(host='127.0.0.1', port=0, token=None, state_file=None, config=None, clouds_yaml=None, cinder_cloud=None):
    """Start an emulator in background threads; returns ``(server, base_url)``. Call ``server.stop()`` when done."""
    emulator = Emulator(token=token, state_file=state_file, config=config, clouds_yaml=clouds_yaml, cinder_cloud=cinder_cloud)
    server = EmulatorServer((host, port), emulator)
    emulator.start()
    threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.1}, name='k8s-emulator-http', daemon=True).start()
    return server, server.base_url


def main(argv=None):
    """CLI: write the kubeconfig, serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description='Kubernetes API server emulator (plain HTTP, bearer token).')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=6443)
    parser.add_argument('--kubeconfig', required=True, help='where to write the kubeconfig (context "localcloud")')
    parser.add_argument('--state', help='JSON file to load at start and save on changes/exit')
    parser.add_argument('--token', default=os.environ.get('K8S_EMULATOR_TOKEN'),
                        help='bearer token (default: env K8S_EMULATOR_TOKEN, else random)')
    parser.add_argument('--tick', type=float, default=0.2, help='controller period in seconds (default 0.2)')
    parser.add_argument('--pod-start-delay', type=float, default=0.0, help='seconds before a ready-to-run pod is Running')
    parser.add_argument('--detach-delay', type=float, default=3.0,
                        help='seconds between a pod being gone and its Cinder volumes being detached (default 3)')
    parser.add_argument('--service-account-delay', type=float, default=0.5,
                        help='seconds between a namespace and its "default" ServiceAccount (default 0.5)')
    parser.add_argument('--clouds-yaml', help='clouds.yaml holding --cinder-cloud: attach/detach then happen in that Cinder')
    parser.add_argument('--cinder-cloud', help='cloud (admin) used to attach/detach Cinder volumes')
    parser.add_argument('--verbose', action='store_true', help='log every request')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format='%(asctime)s %(name)s %(levelname)s %(message)s')
    server, base_url = start_server(args.host, args.port, token=args.token, state_file=args.state,
                                    config={'tick': args.tick, 'pod_start_delay': args.pod_start_delay,
                                            'detach_delay': args.detach_delay, 'service_account_delay': args.service_account_delay},
                                    clouds_yaml=args.clouds_yaml, cinder_cloud=args.cinder_cloud)
    server.kubeconfig(args.kubeconfig)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    LOG.info('serving %s (kubeconfig %s)', base_url, args.kubeconfig)
    done.wait()
    server.stop()
    LOG.info('stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main())

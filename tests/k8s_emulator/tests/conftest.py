"""Fixtures: one emulator per test session (reset before every test), official kubernetes clients talking to it over HTTP."""

import json
import os
import sys
import urllib.error
import urllib.request

import pytest
from kubernetes import client, config, dynamic

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from k8s_emulator.server import start_server  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope='session')
def server():
    """A running emulator on a free port (fast controller tick)."""
    srv, _ = start_server(config={'tick': 0.05, 'service_account_delay': 0.0, 'detach_delay': 0.0})
    yield srv
    srv.stop()


@pytest.fixture()
def emu(server):
    """The emulated cluster, freshly reset."""
    server.emulator.hooks.clear()
    server.emulator.config.update({'paused': False, 'pod_start_delay': 0.0, 'service_account_delay': 0.0, 'detach_delay': 0.0})
    server.emulator.reset()
    return server.emulator


@pytest.fixture()
def kubeconfig(server, emu, tmp_path):  # pylint: disable=unused-argument
    """Path of a kubeconfig written by the server."""
    path = tmp_path / 'kubeconfig'
    server.kubeconfig(str(path))
    return str(path)


@pytest.fixture()
def api_client(kubeconfig):
    """kubernetes.client.ApiClient built from the kubeconfig (context localcloud)."""
    api = config.new_client_from_config(config_file=kubeconfig, context='localcloud')
    yield api
    api.close()


@pytest.fixture()
def core(api_client):
    """CoreV1Api."""
    return client.CoreV1Api(api_client)


@pytest.fixture()
def storage(api_client):
    """StorageV1Api."""
    return client.StorageV1Api(api_client)


@pytest.fixture()
def dyn(api_client, tmp_path):
    """DynamicClient (discovery cache in tmp_path)."""
    return dynamic.DynamicClient(api_client, cache_file=str(tmp_path / 'discovery.json'))


class Raw:
    """Plain urllib requests, to look at exact status codes and bodies."""

    def __init__(self, base_url, token):
        self.base_url = base_url
        self.token = token

    def request(self, method, path, body=None, token=True, content_type='application/json'):
        """Return (status, parsed JSON body or text)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if token:
            req.add_header('Authorization', f'Bearer {self.token if token is True else token}')
        if data is not None:
            req.add_header('Content-Type', content_type)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text


@pytest.fixture()
def raw(server, emu):  # pylint: disable=unused-argument
    """Raw HTTP helper."""
    return Raw(server.base_url, server.token)

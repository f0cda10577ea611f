"""The script entry point (kubeconfig, SIGTERM, --state) and the test-only /emulator endpoints."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

from kubernetes import client, config

from .helpers import pod, pvc, wait_for

SERVER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'server.py')


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _start(tmp_path, port, state):
    kubeconfig = tmp_path / f'kubeconfig-{port}'
    if kubeconfig.exists():
        kubeconfig.unlink()
    command = [sys.executable, SERVER, '--host', '127.0.0.1', '--port', str(port), '--kubeconfig', str(kubeconfig), '--state', str(state),
               '--token', 'secret-token']
    with open(tmp_path / f'server-{port}.log', 'ab') as log:
        proc = subprocess.Popen(command, cwd=str(tmp_path), stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
    wait_for(lambda: kubeconfig.exists() and kubeconfig.stat().st_size > 0, timeout=10, message='kubeconfig written')
    return proc, str(kubeconfig)


def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_script_writes_kubeconfig_serves_and_keeps_state(tmp_path):
    port, state = _free_port(), tmp_path / 'state.json'
    proc, kubeconfig = _start(tmp_path, port, state)
    try:
        with open(kubeconfig, encoding='utf-8') as handle:
            doc = json.load(handle)
        assert doc['current-context'] == 'localcloud' and doc['clusters'][0]['cluster']['server'] == f'http://127.0.0.1:{port}'
        assert doc['users'][0]['user']['token'] == 'secret-token'
        assert oct(os.stat(kubeconfig).st_mode & 0o777) == '0o600'
        api = config.new_client_from_config(config_file=kubeconfig, context='localcloud')
        core = client.CoreV1Api(api)
        created = core.create_namespaced_persistent_volume_claim('default', pvc('survivor', storage_class='none'))
        api.close()
    finally:
        _stop(proc)
    assert json.loads(state.read_text())['objects']['persistentvolumeclaims'][0]['metadata']['name'] == 'survivor'
    proc, kubeconfig = _start(tmp_path, port, state)
    try:
        api = config.new_client_from_config(config_file=kubeconfig, context='localcloud')
        again = client.CoreV1Api(api).read_namespaced_persistent_volume_claim('survivor', 'default')
        assert again.metadata.uid == created.metadata.uid
        assert int(client.CoreV1Api(api).list_namespace().metadata.resource_version) >= int(created.metadata.resource_version)
        api.close()
    finally:
        _stop(proc)


def test_admin_reset_and_config(raw, core):
    core.create_namespaced_persistent_volume_claim('default', pvc('temp', storage_class='none'))
    status, body = raw.request('PATCH', '/emulator/config', {'pod_start_delay': 0.5})
    assert status == 200 and body['pod_start_delay'] == 0.5
    status, body = raw.request('PATCH', '/emulator/config', {'bogus': 1})
    assert status == 400
    status, _ = raw.request('POST', '/emulator/reset')
    assert status == 200
    assert core.list_namespaced_persistent_volume_claim('default').items == []
    assert {ns.metadata.name for ns in core.list_namespace().items} >= {'default', 'kube-system'}
    assert raw.request('POST', '/emulator/reset', token=False)[0] == 401


def test_start_delay_keeps_pod_pending_for_a_while(core, emu):
    core.create_namespaced_pod('default', pod('slow', annotations={'emulator.localcloud/start-delay': '0.6'}))
    started = time.monotonic()
    wait_for(lambda: core.read_namespaced_pod('slow', 'default').status.phase == 'Running', message='slow pod Running')
    assert time.monotonic() - started >= 0.4
    assert emu.config['pod_start_delay'] == 0.0

"""pods/exec: the official client's stream() over WebSocket, the real refusals, the command model and the exec log."""

import http.client
import json
import time
import urllib.request

import pytest
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from .helpers import pod, wait_for


def _running(core, name, namespace='default', annotations=None):
    core.create_namespaced_pod(namespace, pod(name, annotations=annotations))
    return wait_for(lambda: core.read_namespaced_pod(name, namespace).status.phase == 'Running', message=f'{name} Running')


def _exec(core, name, command, container='app', namespace='default', **kwargs):
    return stream(core.connect_get_namespaced_pod_exec, name, namespace, command=command, container=container,
                  stderr=True, stdin=False, stdout=True, tty=False, **kwargs)


def _open(core, name, command, container='app'):
    return _exec(core, name, command, container=container, _preload_content=False)


def _finish(ws, timeout=5):
    ws.run_forever(timeout=timeout)
    return ws.read_stdout(), ws.read_stderr(), json.loads(ws.peek_channel(3))


def _log(server, **query):
    qs = '&'.join(f'{k}={v}' for k, v in query.items())
    req = urllib.request.Request(f'{server.base_url}/emulator/exec-log?{qs}', headers={'Authorization': f'Bearer {server.token}'})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def _plain(server, path, method='GET', headers=None):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request(method, path, headers=dict({'Authorization': f'Bearer {server.token}'}, **(headers or {})))
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def test_stream_preloaded_echo(core):
    _running(core, 'web')
    assert _exec(core, 'web', ['echo', 'hello', 'world']) == 'hello world\n'


def test_stream_exit_codes_and_channels(core):
    _running(core, 'web')
    ws = _open(core, 'web', ['sh', '-c', 'echo out; echo boom >&2; exit 3'])
    assert ws.subprotocol in ('v5.channel.k8s.io', 'v4.channel.k8s.io')
    out, err, status = _finish(ws)
    assert (out, err) == ('out\n', 'boom\n')
    assert status['status'] == 'Failure' and status['reason'] == 'NonZeroExitCode'
    assert status['details']['causes'] == [{'reason': 'ExitCode', 'message': '3'}]
    assert ws.returncode == 3
    ws = _open(core, 'web', ['/bin/true'])
    assert _finish(ws)[2] == {'metadata': {}, 'status': 'Success'} and ws.returncode == 0
    ws = _open(core, 'web', ['false'])
    _finish(ws)
    assert ws.returncode == 1


def test_unknown_executable_is_the_runtime_error(core):
    _running(core, 'web')
    ws = _open(core, 'web', ['pg_dump', '-x'])
    status = _finish(ws)[2]
    assert status['status'] == 'Failure' and status['reason'] == 'InternalError' and 'details' not in status
    assert 'exec: "pg_dump": executable file not found in $PATH' in status['message']
    ws = _open(core, 'web', ['sh', '-c', 'pg_dump'])
    out, err, status = _finish(ws)
    assert err == 'sh: 1: pg_dump: not found\n' and status['details']['causes'][0]['message'] == '127'


def test_fsfreeze_state_and_exec_log(server, core):
    _running(core, 'db')
    before = time.time()
    assert _finish(_open(core, 'db', ['fsfreeze', '--freeze', '/data']))[2]['status'] == 'Success'
    assert _log(server, pod='db')['frozen'][0]['path'] == '/data'
    out, err, status = _finish(_open(core, 'db', ['fsfreeze', '--freeze', '/data']))
    assert err == 'fsfreeze: /data: freeze failed: Device or resource busy\n' and status['reason'] == 'NonZeroExitCode'
    assert _finish(_open(core, 'db', ['fsfreeze', '-u', '/data']))[2]['status'] == 'Success'
    out, err, status = _finish(_open(core, 'db', ['fsfreeze', '--unfreeze', '/data']))
    assert 'unfreeze failed: Invalid argument' in err
    log = _log(server, namespace='default', pod='db')
    assert log['frozen'] == []
    assert [(e['command'][1], e['exitCode'], e['state']) for e in log['execs']] == [
        ('--freeze', 0, 'exited'), ('--freeze', 1, 'exited'), ('-u', 0, 'exited'), ('--unfreeze', 1, 'exited')]
    assert all(e['container'] == 'app' and e['startedAt'] <= e['finishedAt'] for e in log['execs'])
    assert _log(server, pod='other')['execs'] == []
    assert time.strftime('%Y-%m-%d', time.gmtime(before)) == log['execs'][0]['startedAt'][:10]


def test_client_timeout_stops_sleep(server, core):
    _running(core, 'slow')
    ws = _open(core, 'slow', ['sleep', '3600'])
    started = time.monotonic()
    ws.run_forever(timeout=0.5)
    assert ws.is_open() and time.monotonic() - started < 2
    ws.close()
    entry = wait_for(lambda: _log(server, pod='slow')['execs'], message='exec log entry')[0]
    assert entry['state'] == 'client-closed' and entry['exitCode'] == 137


def test_refusals(server, core):
    with pytest.raises(ApiException) as missing:
        _exec(core, 'nope', ['true'])
    assert 'Handshake status 404' in missing.value.reason
    _running(core, 'web')
    with pytest.raises(ApiException) as bad_container:
        _exec(core, 'web', ['true'], container='sidecar')
    cause = bad_container.value.__context__
    assert cause.status_code == 400 and json.loads(cause.resp_body)['message'] == 'container sidecar is not valid for pod web'
    code, body = _plain(server, '/api/v1/namespaces/default/pods/web/exec?command=true&container=app&stdout=true', 'POST')
    assert code == 400 and json.loads(body)['message'] == 'Upgrade request required'
    code, body = _plain(server, '/api/v1/namespaces/default/pods/web/exec?container=app&stdout=true')
    assert code == 400 and json.loads(body)['message'] == 'you must specify at least 1 command'
    code, body = _plain(server, '/api/v1/namespaces/default/pods/web/exec?command=true', headers={
        'Upgrade': 'websocket', 'Connection': 'Upgrade', 'Sec-WebSocket-Key': 'x', 'Sec-WebSocket-Protocol': 'base64.channel.k8s.io'})
    assert code == 400 and 'requested protocol(s) are not supported' in json.loads(body)['message']
    assert _log(server)['execs'] == []


def test_pod_not_running_is_refused_by_the_kubelet(emu, core):
    emu.config['paused'] = True  # the scheduler does not run: no host
    core.create_namespaced_pod('default', pod('pending'))
    with pytest.raises(ApiException) as unscheduled:
        _exec(core, 'pending', ['true'])
    assert json.loads(unscheduled.value.__context__.resp_body)['message'] == 'pod pending does not have a host assigned'
    emu.config['paused'] = False
    core.create_namespaced_pod('default', pod('broken', annotations={'emulator.localcloud/fail': 'true'}))
    wait_for(lambda: core.read_namespaced_pod('broken', 'default').status.phase == 'Failed', message='Failed pod')
    with pytest.raises(ApiException) as stopped:
        _exec(core, 'broken', ['true'])
    cause = stopped.value.__context__
    assert cause.status_code == 500 and cause.resp_body == b'container not found ("app")'


def test_exec_in_discovery(core):
    resources = {r.name: r for r in core.get_api_resources().resources}
    assert resources['pods/exec'].verbs == ['create', 'get'] and resources['pods/exec'].kind == 'PodExecOptions'


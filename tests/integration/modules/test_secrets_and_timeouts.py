"""Secrets in dict-form ``cloud``/``kubeconfig`` never reach the output, and every API request is bounded in time.

Masking: every module runs (real ansible-playbook, ``-vvv``, ``ANSIBLE_INJECT_INVOCATION=true``, default
callback) with ``cloud`` as a dict holding the demo project's real password (read from the local cloud's
clouds.yaml) and, for the Kubernetes modules, ``kubeconfig`` as a dict holding the emulator's real bearer token.
Each module has a task that succeeds or fails against the real services, one that fails ansible-core's own
argument validation (before the module's code runs) and some modules one with ``no_log: true``. All tasks of an
ansible-core version run in one playbook, on ansible-core 2.21 (.venv) and 2.18 (.venv-core218, where modules
always return the invocation: -vvv shows it, registered results leave it out). Neither the password nor the token
may appear in the output or in a registered result; the invocations show them masked.

Timeouts: a TCP server that accepts connections and never answers stands in for Keystone (``auth_url``) and for
the Kubernetes API server (``server``). The runs with the default timeout (30 s a request) take about a minute;
they start in the background as soon as the first test of this file needs them (the masking runs go on
meanwhile).
"""
import json
import os
import selectors
import socket
import subprocess
import threading
import time
import uuid

import pytest
import yaml

from conftest import no_traceback
from playbook_runner import ROOT, PlaybookRun, finish, kill, start_tasks, venv_bin

P = 'dataprotection.openstack.'
MASK = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
INJECT = {'ANSIBLE_INJECT_INVOCATION': 'true', 'ANSIBLE_STDOUT_CALLBACK': 'default'}
VENVS = {'2.21': '.venv', '2.18': '.venv-core218'}
# Seconds the modules allow one request when api_timeout is not set (plugins/module_utils/openstack.py and
# kubernetes.py); a versioned (/v3) auth_url is sent one request (the token), an unversioned one two (discovery first).
DEFAULT_TIMEOUT = 30
# k8s_app_protect's secrets_key (the passphrase sealing secrets in the bank), searched for like the password.
PASSPHRASE = 'sealing-passphrase-%s' % uuid.uuid4().hex
# the never-answering-endpoint runs: name -> (module, api_timeout or None for the default)
TIMEOUT_RUNS = {'openstack-default': ('protectable_info', None), 'openstack-2s': ('protectable_info', 2),
                'kubernetes-default': ('k8s_pod_protectable_info', None),
                'kubernetes-2s': ('k8s_pod_protectable_info', 2)}


# -- fixtures ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def demo_cloud(clouds_yaml):
    """The demo project's clouds.yaml entry, as a dict (real password)."""
    with open(clouds_yaml) as handle:
        cloud = yaml.safe_load(handle)['clouds']['localcloud-demo']
    assert len(cloud['auth']['password']) >= 8, 'the password must be distinctive to be searched for'
    return cloud


@pytest.fixture(scope='module')
def kubeconfig_dict(localcloud):
    """The emulator's kubeconfig, as a dict (real bearer token)."""
    with open(localcloud.get('kubeconfig') or os.path.join(ROOT, '.localcloud', 'kubeconfig')) as handle:
        config = yaml.safe_load(handle)
    assert len(config['users'][0]['user']['token']) >= 16
    return config


@pytest.fixture(scope='module')
def secrets(demo_cloud, kubeconfig_dict):
    return dict(password=demo_cloud['auth']['password'], token=kubeconfig_dict['users'][0]['user']['token'],
                passphrase=PASSPHRASE)


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers; stops by itself after ``lifetime`` seconds.

    It records, for each connection, when it was accepted and when the client closed it: a client that gives up
    after its read timeout closes the connection then (urllib3 does), so ``holds()`` measures the timeout the
    module really used from the server's side. That is independent of how long the module took to start on a
    busy machine, which the task's wall time is not."""

    def __init__(self, lifetime=300):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = []  # [socket, accepted at, closed at or None]
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                for key, _events in selector.select(timeout=0.2):
                    if key.fileobj is self.sock:
                        conn, _unused = self.sock.accept()
                        self.accepted.append([conn, time.monotonic(), None])
                        selector.register(conn, selectors.EVENT_READ, len(self.accepted) - 1)
                        continue
                    try:
                        data = key.fileobj.recv(65536)  # the request (never answered), or b'' when closed
                    except OSError:
                        data = b''
                    if not data:
                        self.accepted[key.data][2] = time.monotonic()
                        selector.unregister(key.fileobj)

    def holds(self):
        """Seconds each connection was held open by its client (None: still open)."""
        return [None if closed is None else round(closed - opened, 1) for _conn, opened, closed in self.accepted]

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
        for conn, _opened, _closed in self.accepted:
            conn.close()


@pytest.fixture(scope='module')
def silent():
    """One never-answering server per timeout run (keyed like ``timeout_runs``), so each run's connections are
    its own."""
    servers = dict((name, SilentServer()) for name in TIMEOUT_RUNS)
    yield servers
    for server in servers.values():
        server.close()


def start_timed(module, args):
    """A play whose result also says how long the module's task took (clock facts before and after it)."""
    clock = {'ansible.builtin.set_fact': {'clock': '{{ now().timestamp() }}'}}
    return start_tasks([dict(clock, name='clock before', register='before'),
                        {'name': 'task under test', P + module: args, 'register': 'result'},
                        dict(clock, name='clock after', register='after')])


def finish_timed(handle):
    run = finish(handle, timeout=300)
    before, after = (float(run.result[name]['ansible_facts']['clock']) for name in ('before', 'after'))
    return PlaybookRun(run.rc, run.result['result'], run.stdout, after - before)


@pytest.fixture(scope='module')
def timeout_runs(silent, demo_cloud, kubeconfig_dict):
    """The never-answering-endpoint runs, started at once and in parallel; ``finish_timed`` them where needed."""
    handles = {}
    for name, (module, api_timeout) in TIMEOUT_RUNS.items():
        endpoint = 'http://127.0.0.1:%d' % silent[name].port
        if module == 'protectable_info':
            cloud = json.loads(json.dumps(demo_cloud))
            cloud['auth']['auth_url'] = endpoint + '/v3'
            args = dict(cloud=cloud, resource_type='volume')
        else:
            kubeconfig = json.loads(json.dumps(kubeconfig_dict))
            kubeconfig['clusters'][0]['cluster']['server'] = endpoint
            args = dict(kubeconfig=kubeconfig, namespace='default')
        if api_timeout:
            args['api_timeout'] = api_timeout
        handles[name] = start_timed(module, args)
    yield handles
    for handle in handles.values():
        kill(handle)  # when a test was deselected: do not wait for its run


# -- masking ----------------------------------------------------------------------------------------------------
def masking_tasks(cloud, kubeconfig, unique, bank_dir):
    """The tasks, and per registered name whether it must fail and which of cloud/kubeconfig it has."""
    missing = unique + '-missing'
    namespace = unique + '-ns'
    k8s = dict(kubeconfig=kubeconfig)
    bank = dict(path=bank_dir)
    runs = {
        # successes against the real services
        'protectable_info_ok': ('protectable_info', dict(cloud=cloud, resource_type='volume'), False),
        'checkpoint_info_ok': ('checkpoint_info', dict(cloud=cloud, bank=bank), False),
        'checkpoint_info_swift_ok': ('checkpoint_info', dict(cloud=cloud, bank=dict(type='swift', container=unique)),
                                     False),
        'k8s_pod_protectable_info_ok': ('k8s_pod_protectable_info', dict(k8s, namespace=namespace), False),
        # failures after authenticating (the resource does not exist, or the user may not do it)
        'cinder_snapshot_protect_failed': ('cinder_snapshot_protect',
                                           dict(cloud=cloud, volume=missing, snapshot_name=unique), True),
        'manila_share_protect_failed': ('manila_share_protect',
                                        dict(cloud=cloud, share=missing, snapshot_name=unique), True),
        'protectable_info_failed': ('protectable_info', dict(cloud=cloud, resource_type='volume', api_timeout=0),
                                    True),
        'freezer_job_failed': ('freezer_job', dict(cloud=cloud, resource_id=missing, backup_name=unique,
                                                   client_id=missing, operation='backup', timeout=10), True),
        'freezer_central_scheduler_failed': ('freezer_central_scheduler',
                                             dict(cloud=cloud, client_id=unique, hostname=unique), True),
        'k8s_pod_protect_failed': ('k8s_pod_protect', dict(k8s, cloud=cloud, pod=missing, namespace=namespace,
                                                           backup_name=unique, bank=bank), True),
        'k8s_app_protect_failed': ('k8s_app_protect', dict(k8s, cloud=cloud, namespace=namespace, pods=[missing],
                                                           protection=unique, bank=bank, encrypt_secrets=True,
                                                           secrets_key=PASSPHRASE), True),
        'k8s_pod_protectable_info_failed': ('k8s_pod_protectable_info', dict(k8s, namespace=namespace, pod=missing),
                                            True),
        'k8s_pod_protectable_info_timeout_failed': ('k8s_pod_protectable_info',
                                                    dict(k8s, namespace=namespace, api_timeout=0), True),
        'checkpoint_info_failed': ('checkpoint_info', dict(cloud=cloud, bank=bank, checkpoint_id=missing), True),
    }
    for name, (module, args, _failed) in list(runs.items()):
        # ansible-core's own argument validation fails the task before the module's code runs (otherwise valid
        # arguments, so that the unknown option is the error)
        if module + '_unsupported' not in runs and 'api_timeout' not in args:
            runs[module + '_unsupported'] = (module, dict(args, not_an_option=True), True)
    # no_log on the task: the registered result still holds the invocation (ansible-core >= 2.19 with injection)
    runs['checkpoint_info_no_log'] = ('checkpoint_info', dict(cloud=cloud, bank=bank), False)
    runs['k8s_pod_protectable_info_no_log'] = ('k8s_pod_protectable_info', dict(k8s, namespace=namespace), False)
    tasks, expect, options = [], {}, {}
    for name, (module, args, failed) in runs.items():
        task = {'name': name, P + module: args, 'register': name}
        if name.endswith('_no_log'):
            task['no_log'] = True
        tasks.append(task)
        expect[name] = failed
        options[name] = set(args) & {'cloud', 'kubeconfig'}
    return tasks, expect, options


def leaks(text, secrets):
    return [what for what, value in secrets.items() if value in text]


def assert_masked_invocation(name, module_args):
    """The injected invocation: the secret leaves masked, the rest readable."""
    cloud, kubeconfig = module_args.get('cloud'), module_args.get('kubeconfig')
    assert cloud is not None or kubeconfig is not None, (name, module_args)
    if cloud is not None:
        assert cloud['auth']['password'] == MASK, (name, cloud)
        assert cloud['auth']['username'] == 'demo' and cloud['region_name'] == 'RegionOne', (name, cloud)
    if kubeconfig is not None:
        assert kubeconfig['users'][0]['user']['token'] == MASK, (name, kubeconfig)
        assert kubeconfig['clusters'][0]['cluster']['server'].startswith('http://127.0.0.1:'), (name, kubeconfig)


@pytest.fixture(scope='module')
def masking_runs(demo_cloud, kubeconfig_dict, tmp_path_factory, timeout_runs):
    """One playbook per ansible-core version (both run at the same time; ``timeout_runs`` is requested so that
    the minute-long timeout runs go on in the background meanwhile)."""
    missing = [venv for venv in VENVS.values() if not os.path.exists(os.path.join(venv_bin(venv), 'ansible-playbook'))]
    if missing:
        pytest.fail('%s missing: run make setup' % ', '.join(missing), pytrace=False)
    unique = 'it-secrets-%s' % uuid.uuid4().hex[:8]
    bank_dir = str(tmp_path_factory.mktemp('bank'))
    tasks, expect, options = masking_tasks(demo_cloud, kubeconfig_dict, unique, bank_dir)
    handles = dict((version, start_tasks(tasks, env=INJECT, venv=venv, args=['-vvv']))
                   for version, venv in VENVS.items())
    runs = dict((version, finish(handle)) for version, handle in handles.items())
    yield runs, expect, options, unique
    _cleanup_swift(demo_cloud, unique)


def _cleanup_swift(demo_cloud, container):
    import openstack
    conn = openstack.connect(**demo_cloud)
    try:
        conn.object_store.delete_container(container, ignore_missing=True)
    finally:
        conn.close()


def task_outputs(stdout):
    """-vvv output per task name."""
    blocks = {}
    for block in stdout.split('\nTASK [')[1:]:
        blocks[block.split(']', 1)[0]] = block
    return blocks


@pytest.mark.parametrize('version', sorted(VENVS))
def test_secrets_never_in_output_or_results(masking_runs, secrets, version):
    runs, expect, _options, _unique = masking_runs
    run = runs[version]
    assert run.rc == 0, run.stdout[-3000:]
    core = subprocess.run([os.path.join(venv_bin(VENVS[version]), 'ansible'), '--version'], capture_output=True,
                          text=True, check=True).stdout
    assert 'core %s.' % version in core, core
    leaked = [(name, leaks(block, secrets)) for name, block in task_outputs(run.stdout).items()
              if leaks(block, secrets)]
    assert not leaked, 'secrets in the -vvv output of: %s' % leaked
    assert not leaks(run.stdout, secrets)
    assert set(run.result) == set(expect)
    leaked = [(name, leaks(json.dumps(result), secrets)) for name, result in run.result.items()
              if leaks(json.dumps(result), secrets)]
    assert not leaked, 'secrets in the registered results of: %s' % leaked
    for name, failed in expect.items():
        result = run.result[name]
        assert bool(result.get('failed')) is failed, (name, result)
        assert 'Traceback' not in json.dumps(result), (name, result)


@pytest.mark.parametrize('version', sorted(VENVS))
def test_invocation_shows_masked_values(masking_runs, version):
    runs, expect, options, _unique = masking_runs
    run = runs[version]
    if version == '2.21':
        # injected into the registered result, no_log tasks included
        for name in expect:
            assert 'invocation' in run.result[name], (name, run.result[name])
            assert_masked_invocation(name, run.result[name]['invocation']['module_args'])
    else:
        # 2.18 leaves the invocation out of registered results (the module still returns it)
        for name in expect:
            assert 'invocation' not in run.result[name], (name, run.result[name])
    # -vvv prints each task's result with its invocation (a no_log task's is censored)
    outputs = task_outputs(run.stdout)
    for name in expect:
        output = outputs[name]
        if name.endswith('_no_log'):
            assert 'the output has been hidden due to the fact that \'no_log: true\'' in output, output[-2000:]
            continue
        if 'cloud' in options[name]:
            assert '"password": "%s"' % MASK in output and '"username": "demo"' in output, (name, output[-3000:])
        if 'kubeconfig' in options[name]:
            assert '"token": "%s"' % MASK in output, (name, output[-3000:])


def test_failures_are_the_expected_ones(masking_runs):
    """The failure tasks fail where they should (so the masking is checked on those paths)."""
    runs, _expect, _options, unique = masking_runs
    for version, run in runs.items():
        msg = dict((name, result.get('msg', '')) for name, result in run.result.items())
        for name in msg:
            if name.endswith('_unsupported'):
                assert 'Unsupported parameters' in msg[name] and 'not_an_option' in msg[name], (version, name, msg)
        assert 'not found' in msg['cinder_snapshot_protect_failed'], msg
        assert 'not found' in msg['manila_share_protect_failed'], msg
        assert msg['protectable_info_failed'] == 'api_timeout must be > 0 seconds, got 0', msg
        assert msg['k8s_pod_protectable_info_timeout_failed'] == 'api_timeout must be > 0 seconds, got 0', msg
        assert 'HTTP 403' in msg['freezer_central_scheduler_failed'], msg
        assert unique + '-missing' in msg['freezer_job_failed'], msg
        assert unique + '-missing' in msg['k8s_pod_protect_failed'], msg
        assert unique + '-missing' in msg['k8s_pod_protectable_info_failed'], msg
        assert unique + '-missing' in msg['checkpoint_info_failed'], msg
        assert run.result['k8s_pod_protectable_info_ok']['pods'] == []
        assert run.result['checkpoint_info_swift_ok']['checkpoints'] == []


# -- timeouts ---------------------------------------------------------------------------------------------------
def _finished(timeout_runs, silent, name):
    run = finish_timed(timeout_runs[name])
    holds = silent[name].holds()
    print('%s: task took %.1f s, connections held %s s: %s' % (name, run.seconds, holds, run.get('msg')))
    no_traceback(run)
    assert run.failed, run
    # bounded: the wall time only tells "gave up" from "hangs" (the machine may be busy; timings belong in
    # benchmarks/); what the module waited is measured by the server, below
    assert run.seconds < 240, run.seconds
    return run, holds


def test_keystone_that_never_answers_fails_within_the_default_timeout(timeout_runs, silent):
    run, holds = _finished(timeout_runs, silent, 'openstack-default')
    assert 'timed out' in run['msg'] and '127.0.0.1:%d' % silent['openstack-default'].port in run['msg'], run['msg']
    # one request: the auth_url ends in /v3, so the token is asked for without identity version discovery
    # (openstack.trust_versioned_auth_url), and it waited the default timeout before giving up
    assert len(holds) == 1 and holds[0] is not None and DEFAULT_TIMEOUT - 1 <= holds[0] < DEFAULT_TIMEOUT + 15, holds


def test_keystone_that_never_answers_fails_within_api_timeout(timeout_runs, silent):
    run, holds = _finished(timeout_runs, silent, 'openstack-2s')
    assert 'timed out' in run['msg'] and '127.0.0.1:%d' % silent['openstack-2s'].port in run['msg'], run['msg']
    assert len(holds) == 1 and holds[0] is not None and 1.5 <= holds[0] < 15, holds  # the option, not the default


def test_kubernetes_api_that_never_answers_fails_within_the_default_timeout(timeout_runs, silent):
    run, holds = _finished(timeout_runs, silent, 'kubernetes-default')
    msg = run['msg']
    assert msg.startswith('list pods in namespace default: timed out waiting for the Kubernetes API'), msg
    assert 'port=%d' % silent['kubernetes-default'].port in msg, msg
    assert 'read timeout=%d' % DEFAULT_TIMEOUT in msg and 'api_timeout' in msg, msg
    # one request, not retried (urllib3 would send a timed-out GET four times: 120 s)
    assert len(holds) == 1 and holds[0] is not None and DEFAULT_TIMEOUT - 1 <= holds[0] < DEFAULT_TIMEOUT + 15, holds


def test_kubernetes_api_that_never_answers_fails_within_api_timeout(timeout_runs, silent):
    run, holds = _finished(timeout_runs, silent, 'kubernetes-2s')
    assert 'port=%d' % silent['kubernetes-2s'].port in run['msg'] and 'read timeout=2)' in run['msg'], run['msg']
    assert len(holds) == 1 and holds[0] is not None and 1.5 <= holds[0] < 15, holds  # the option, not the default

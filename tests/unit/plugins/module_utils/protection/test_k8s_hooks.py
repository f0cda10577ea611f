"""The hook runner (protection/k8s/hooks.py) against a scripted exec, and kube_exec's reading of the exec stream."""
import json
import time

import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils.kubernetes import KubernetesError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s import hooks as hk
from ansible_collections.dataprotection.openstack.plugins.module_utils.validation import InputError


def pod(name, annotations=None, containers=('app', 'sidecar'), phase='Running'):
    return dict(metadata=dict(name=name, namespace='ns', annotations=annotations or {}),
                spec=dict(containers=[dict(name=c) for c in containers]), status=dict(phase=phase))


class FakeExec:
    """exec_command scripted per command word; records every call."""

    def __init__(self, outcomes=None):
        self.calls = []
        self.outcomes = outcomes or {}

    def exec_command(self, namespace, name, container, command, timeout):
        self.calls.append((name, container, tuple(command), timeout))
        outcome = self.outcomes.get(command[0], 0)
        if isinstance(outcome, Exception):
            raise outcome
        if outcome == 'timeout':
            return dict(exit_code=None, stdout='', stderr='', timed_out=True, error=None, seconds=timeout)
        if outcome == 'nostart':
            return dict(exit_code=None, stdout='', stderr='', timed_out=False, error='executable file not found',
                        seconds=0.01)
        return dict(exit_code=outcome, stdout='out ' * 300, stderr='boom' if outcome else '', timed_out=False,
                    error=None, seconds=0.01)


FREEZE = dict(pre=[dict(command=['fsfreeze', '--freeze', '/data'], container=None, timeout=30, on_error='fail')],
              post=[dict(command=['unfreeze', '/data'], container=None, timeout=30, on_error='fail')])


def test_parse_duration_like_go():
    assert hk.parse_duration('30s') == 30 and hk.parse_duration('1m30s') == 90 and hk.parse_duration('500ms') == 0.5
    assert hk.parse_duration('2h') == 7200 and hk.parse_duration('0') == 0
    assert hk.parse_duration('30') is None and hk.parse_duration('s') is None and hk.parse_duration('') is None


def test_check_hooks_refuses_bad_input():
    for bad, words in (
            (dict(pre=[dict(command=[], timeout=30)]), 'hooks.pre[0].command is empty'),
            (dict(post=[dict(command=['x'], timeout=30), dict(command=[''], timeout=30)]), 'hooks.post[1].command[0]'),
            (dict(pre=[dict(command=['x'], timeout=-1)]), 'hooks.pre[0].timeout must be > 0'),
            (dict(pre=[dict(command=['x'], timeout=0)]), 'hooks.pre[0].timeout must be > 0'),
            (dict(pre=[dict(command=['x'], container=' ')]), 'hooks.pre[0].container is empty')):
        with pytest.raises(InputError, match=words.replace('[', r'\[').replace(']', r'\]')):
            hk.check_hooks(bad)
    assert hk.check_hooks(None) == {}


def test_velero_annotations_take_over_the_phase_with_velero_defaults():
    annotated = pod('db', {'pre.hook.backup.velero.io/command': '["/sbin/fsfreeze", "--freeze", "/data"]',
                           'pre.hook.backup.velero.io/container': 'sidecar',
                           'pre.hook.backup.velero.io/timeout': '1m30s',
                           'pre.hook.backup.velero.io/on-error': 'Continue',
                           'post.hook.backup.velero.io/command': 'sync',
                           'post.hook.backup.velero.io/timeout': 'soon'})
    (planned_pod, phases), = hk.plan_hooks([annotated], FREEZE)
    assert planned_pod is annotated
    pre, = phases['pre']
    assert (pre['command'], pre['container'], pre['timeout'], pre['on_error'], pre['source']) == (
        ['/sbin/fsfreeze', '--freeze', '/data'], 'sidecar', 90, 'continue', 'annotation')
    post, = phases['post']
    assert (post['command'], post['container'], post['timeout'], post['on_error']) == (['sync'], 'app', 30, 'fail')
    assert 'soon' in post['warning']
    (_pod, phases), = hk.plan_hooks([annotated], dict(FREEZE, velero_annotations=False))
    assert phases['pre'][0]['source'] == 'hooks' and phases['pre'][0]['container'] == 'app'
    assert hk.plan_hooks([pod('plain')], {}) == []


def test_pre_then_volumes_then_post_in_every_pod():
    kube, order = FakeExec(), []
    runner = hk.HookRunner(kube, [pod('a'), pod('b')], FREEZE)
    with runner:
        order.append(len(kube.calls))
    assert order == [2]  # both pre hooks before the volumes
    assert [(c[0], c[2][0]) for c in kube.calls] == [('a', 'fsfreeze'), ('b', 'fsfreeze'), ('a', 'unfreeze'),
                                                     ('b', 'unfreeze')]
    assert [r['status'] for r in runner.results] == ['succeeded'] * 4
    assert runner.results[0]['stdout'].endswith('(688 more characters)') and runner.aftermath() == ''


def test_failing_pre_hook_stops_before_the_volumes_and_runs_post_hooks_of_started_pods():
    kube = FakeExec({'fsfreeze': 0})
    hooks = dict(FREEZE, pre=FREEZE['pre'] + [dict(command=['flush'], container='sidecar', timeout=5,
                                                   on_error='fail')])
    kube.outcomes['flush'] = 3
    runner = hk.HookRunner(kube, [pod('a'), pod('b')], hooks)
    entered = []
    with pytest.raises(hk.HookFailed) as failed:
        with runner:
            entered.append(True)
    assert not entered
    msg = failed.value.msg
    for words in ('pre hook ["flush"]', 'container sidecar', 'pod ns/a', 'exited with code 3', 'stderr: boom',
                  'no volume was protected'):
        assert words in msg
    assert [(c[0], c[2][0]) for c in kube.calls] == [('a', 'fsfreeze'), ('a', 'flush'), ('a', 'unfreeze')]
    assert runner.aftermath() == '; the post hooks ran (1 succeeded)'


def test_on_error_continue_timeouts_and_refusals():
    kube = FakeExec({'slow': 'timeout', 'ghost': 'nostart', 'fsfreeze': KubernetesError('pod gone')})
    hooks = dict(pre=[dict(command=['slow'], container=None, timeout=2, on_error='continue'),
                      dict(command=['ghost'], container=None, timeout=2, on_error='continue'),
                      dict(command=['fsfreeze'], container=None, timeout=2, on_error='continue')])
    runner = hk.HookRunner(kube, [pod('a')], hooks)
    with runner:
        pass
    assert [(r['status'], r['exit_code']) for r in runner.results] == [('timed out', None), ('error', None),
                                                                       ('error', None)]
    assert runner.results[2]['error'] == 'pod gone'
    assert 'did not finish within its timeout of 2s' in hk.HookRunner.describe(runner.results[0])


def test_failure_while_protecting_runs_post_hooks_and_reports_theirs():
    kube = FakeExec({'unfreeze': 1})
    runner = hk.HookRunner(kube, [pod('a')], FREEZE)
    with pytest.raises(RuntimeError):
        with runner:
            raise RuntimeError('snapshot failed')
    assert 'post hook ["unfreeze", "/data"]' in runner.aftermath() and 'failed too' in runner.aftermath()


def test_failing_post_hook_fails_after_the_volumes():
    runner = hk.HookRunner(FakeExec({'unfreeze': 2}), [pod('a')], FREEZE)
    with pytest.raises(hk.HookFailed, match='the volumes were protected, but the post hook'):
        with runner:
            pass
    assert runner.aftermath() == ''


def test_check_mode_plans_without_running():
    kube = FakeExec()
    runner = hk.HookRunner(kube, [pod('a')], FREEZE)
    assert [(r['phase'], r['status']) for r in runner.planned()] == [('pre', '(would run)'), ('post', '(would run)')]
    assert kube.calls == []


# -- kube_exec: the stream reading, with a stand-in for the client's WSClient -----------------------------------
class FakeWS:
    def __init__(self, frames, closes=True):
        self.frames, self.closes, self.open, self.closed = list(frames), closes, True, False
        self.channels = {}

    def is_open(self):
        return self.open

    def update(self, timeout=0):
        if self.frames:
            channel, data = self.frames.pop(0)
            self.channels[channel] = self.channels.get(channel, '') + data
        elif self.closes:
            self.open = False

    def read_channel(self, channel, timeout=0):
        return self.channels.pop(channel, '')

    def close(self, **kwargs):
        self.closed = True


class FakeKubeClient:
    class client:  # noqa: N801  pylint: disable=invalid-name
        class rest_client:  # noqa: N801  pylint: disable=invalid-name
            request = None

    class core:  # noqa: N801  pylint: disable=invalid-name
        connect_get_namespaced_pod_exec = None


def _run(monkeypatch, ws, timeout=5):
    from ansible_collections.dataprotection.openstack.plugins.module_utils import kube_exec
    if not kube_exec.HAS_STREAM:
        pytest.skip('kubernetes client not installed')
    monkeypatch.setattr(kube_exec, 'stream', lambda *a, **k: ws)
    return kube_exec.run(FakeKubeClient(), 'ns', 'p', 'app', ['x'], timeout, keep=10)


def test_kube_exec_reads_exit_code_and_caps_output(monkeypatch):
    status = dict(status='Failure', reason='NonZeroExitCode', details=dict(causes=[dict(reason='ExitCode',
                                                                                      message='4')]))
    ws = FakeWS([(1, 'x' * 25), (2, 'err'), (3, json.dumps(status))])
    result = _run(monkeypatch, ws)
    assert (result['exit_code'], result['stdout'], result['stdout_dropped'], result['stderr']) == (4, 'x' * 10, 15,
                                                                                                   'err')
    assert not result['timed_out'] and ws.closed
    result = _run(monkeypatch, FakeWS([(3, json.dumps(dict(status='Success')))]))
    assert result['exit_code'] == 0
    result = _run(monkeypatch, FakeWS([(3, json.dumps(dict(status='Failure', message='OCI runtime exec failed')))]))
    assert result['exit_code'] is None and result['error'] == 'OCI runtime exec failed'


def test_kube_exec_stops_at_the_timeout(monkeypatch):
    ws = FakeWS([], closes=False)
    result = _run(monkeypatch, ws, timeout=0.2)
    assert result['timed_out'] and result['exit_code'] is None and ws.closed


def test_kube_exec_timeout_counts_from_the_command_start_not_the_connection(monkeypatch):
    # under load, building the client and the WebSocket handshake took longer than a hook's timeout (CI: 12.5 s of
    # a 10 s timeout); connecting is bounded by api_timeout, the hook's timeout is the command's run time
    from ansible_collections.dataprotection.openstack.plugins.module_utils import kube_exec
    if not kube_exec.HAS_STREAM:
        pytest.skip('kubernetes client not installed')
    ws = FakeWS([(3, json.dumps(dict(status='Success')))])

    def slow_connect(*args, **kwargs):
        time.sleep(0.3)
        return ws
    monkeypatch.setattr(kube_exec, 'stream', slow_connect)
    result = kube_exec.run(FakeKubeClient(), 'ns', 'p', 'app', ['x'], 0.2, keep=10)
    assert not result['timed_out'] and result['exit_code'] == 0 and result['seconds'] >= 0.3


# -- the pod driver's protect skeleton with hooks (fakes of test_k8s_pod) ----------------------------------------
def _pod_driver(tmp_path, outcomes):
    from ansible_collections.dataprotection.openstack.plugins.module_utils.bank import open_bank
    from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import k8s_pod
    import test_k8s_pod as fakes  # pylint: disable=import-error
    kube = fakes.FakeKube()
    fakes.seed(kube)
    scripted = FakeExec(outcomes)
    events = []

    def exec_command(*args):
        events.append('exec %s' % args[3][0])
        return scripted.exec_command(*args)
    kube.exec_command = exec_command
    driver = k8s_pod.K8sPodDriver(None, kube, open_bank({'path': str(tmp_path)}), wait=True, timeout=5,
                                  poll_interval=0.01)
    driver.snapshots, driver.backups = fakes.FakeSnapshots(), fakes.FakeBackups()
    protect = driver.snapshots.protect

    def snapshot(vid, *args, **kwargs):
        events.append('snapshot %s' % vid)
        return protect(vid, *args, **kwargs)
    driver.snapshots.protect = snapshot
    return driver, events, fakes.NS


def test_driver_runs_hooks_around_the_snapshots(tmp_path):
    driver, events, ns = _pod_driver(tmp_path, {})
    planned = driver.protect((ns, 'app'), 'consistent', {'hooks': FREEZE}, dry_run=True)
    assert [h['status'] for h in planned.data['hooks']] == ['(would run)'] * 2 and events == []
    result = driver.protect((ns, 'app'), 'consistent', {'hooks': FREEZE})
    assert events == ['exec fsfreeze', 'snapshot vol-a', 'snapshot vol-b', 'exec unfreeze']
    assert [h['phase'] for h in result.data['hooks']] == ['pre', 'post']
    assert 'pre hook in pod %s/app' % ns in [t['step'] for t in driver.timings.as_list()]


def test_driver_failing_pre_hook_leaves_nothing_behind(tmp_path):
    driver, events, ns = _pod_driver(tmp_path, {'fsfreeze': 1})
    with pytest.raises(hk.ProtectionError) as failed:
        driver.protect((ns, 'app'), 'consistent', {'hooks': FREEZE})
    assert events == ['exec fsfreeze', 'exec unfreeze']
    assert driver.bank.list() == [] and driver.snapshots.snaps == {}
    msg = failed.value.msg
    assert 'pre hook ["fsfreeze", "--freeze", "/data"] in container' in msg and 'exited with code 1' in msg
    assert 'the post hooks ran (1 succeeded)' in msg and 'were removed' in msg
    assert [h['status'] for h in failed.value.result['hooks']] == ['failed', 'succeeded']


def test_driver_snapshot_failure_still_runs_post_hooks(tmp_path):
    driver, events, ns = _pod_driver(tmp_path, {})
    driver.snapshots.fail_on.add('vol-b')
    with pytest.raises(hk.ProtectionError) as failed:
        driver.protect((ns, 'app'), 'consistent', {'hooks': FREEZE})
    assert events[-1] == 'exec unfreeze' and 'the post hooks ran (1 succeeded)' in failed.value.msg
    assert driver.bank.list() == []

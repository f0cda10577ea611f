"""Smoke run of the collection in one compat environment (hacking/compat): real plays against the local cloud.

``COMPAT_ANSIBLE_PLAYBOOK`` names the environment's ansible-playbook (default: .venv's). Its virtualenv's Python
runs the modules, so they run with that environment's ansible-core, openstacksdk, kubernetes and jmespath; the
fixtures (resources created and cleaned up around the plays) are the integration suite's, in this pytest's
Python. ``COMPAT_LOCK`` (optional) is the environment's lock file: the installed versions must be its pins.

Each test is one play of several tasks (one ansible-playbook start), so the whole file runs in well under a
minute: cinder_snapshot_protect (check mode, protect, idempotent by name / id / JMESPath query, absent twice),
protectable_info of volumes and shares, manila_share_protect (protect, absent), k8s_pod_protectable_info against
the Kubernetes API emulator (kubeconfig, and host + api_key as AWX's credential injects them), and ansible-doc
of every module.
"""
import glob
import json
import os
import re
import subprocess
import time

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from conftest import snapshots_of
from playbook_runner import ROOT, base_env, finish, start_tasks

PLAYBOOK = os.path.abspath(os.environ.get('COMPAT_ANSIBLE_PLAYBOOK')
                           or os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook'))
VENV = os.path.dirname(os.path.dirname(PLAYBOOK))
LOCK = os.environ.get('COMPAT_LOCK')
NS = 'dataprotection.openstack.'
CINDER = NS + 'cinder_snapshot_protect'
MANILA = NS + 'manila_share_protect'
PROTECTABLE = NS + 'protectable_info'
K8S_INFO = NS + 'k8s_pod_protectable_info'
MODULES = sorted(os.path.splitext(os.path.basename(path))[0]
                 for path in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')))
# the distributions whose versions each environment pins (checked against COMPAT_LOCK)
DISTRIBUTIONS = ('ansible-core', 'openstacksdk', 'kubernetes', 'jmespath')


def play(tasks, env=None):
    """Run ``tasks`` [(register, module, args[, task keywords])] in one play; return {register: result}."""
    built = []
    for entry in tasks:
        register, module, args = entry[:3]
        keywords = entry[3] if len(entry) > 3 else {}
        built.append(dict({'name': register, module: args, 'register': register}, **keywords))
    run = finish(start_tasks(built, env=env, venv=VENV), timeout=300)
    assert 'Traceback' not in run.stdout, run.stdout[-3000:]
    return run.result


def ok(result):
    """A task's result that neither failed nor carries a traceback."""
    assert not result.get('failed'), result
    # ansible-core >= 2.19 adds this placeholder to every failed result unless tracebacks are enabled
    assert result.get('exception') in (None, '(traceback unavailable)'), result.get('exception')
    return result


def test_environment_is_the_locked_one():
    """The modules run with the Python and the versions this environment is meant to test."""
    code = ('import json, sys\nfrom importlib.metadata import version\n'
            'print(json.dumps(dict([("python", "%d.%d.%d" % sys.version_info[:3])] + '
            '[(d, version(d)) for d in sys.argv[1:]])))')
    proc = subprocess.run([os.path.join(VENV, 'bin', 'python'), '-c', code] + list(DISTRIBUTIONS),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    print('compat environment %s: %s' % (os.path.relpath(VENV, ROOT), found))
    if LOCK:
        with open(LOCK) as handle:
            pins = dict(re.findall(r'^([A-Za-z0-9_.-]+)==(\S+)', handle.read(), re.M))
        assert dict((d, found[d]) for d in DISTRIBUTIONS) == dict((d, pins.get(d)) for d in DISTRIBUTIONS), \
            'run `make setup`: %s is not what %s pins' % (os.path.relpath(VENV, ROOT), LOCK)


def test_cinder_snapshot_protect_and_protectable_info(cloud_env, lc_demo2, make_volume, unique):
    volume = make_volume(unique, conn=lc_demo2, metadata={'compat': unique})
    base = dict(cloud='localcloud-demo2', snapshot_name='compat', timeout=60, poll_interval=0.5)
    results = play([
        ('check', CINDER, dict(base, volume=unique), {'check_mode': True}),
        ('first', CINDER, dict(base, volume=unique, metadata={'owner': 'compat'})),
        ('by_id', CINDER, dict(base, volume=volume.id)),
        ('by_query', CINDER, dict(base, query="[?metadata.compat=='%s']" % unique)),
        ('info', PROTECTABLE, dict(cloud='localcloud-demo2', resource_type='volume', protection='compat')),
        ('absent', CINDER, dict(base, volume=unique, state='absent')),
        ('absent_again', CINDER, dict(base, volume=unique, state='absent')),
    ], env=cloud_env)
    assert ok(results['check'])['changed'] is True
    first = ok(results['first'])
    assert first['changed'] is True and first['volume']['id'] == volume.id
    snapshot_id = first['snapshot']['id']
    assert ok(results['by_id'])['changed'] is False and results['by_id']['snapshot']['id'] == snapshot_id
    by_query = ok(results['by_query'])
    assert by_query['changed'] is False and [e['volume_ref'] for e in by_query['snapshots']] == [volume.id]
    listed = dict((entry['id'], entry) for entry in ok(results['info'])['protectables'])
    assert [s['id'] for s in listed[volume.id]['snapshots']] == [snapshot_id], listed.get(volume.id)
    absent = ok(results['absent'])
    assert absent['changed'] is True and absent['deleted'] == [snapshot_id], absent
    assert ok(results['absent_again'])['changed'] is False
    assert snapshots_of(lc_demo2, volume.id) == []


def test_manila_share_protect(cloud_env, manila, make_share, unique):
    share = make_share(unique)
    base = dict(cloud='localcloud-demo', share=unique, snapshot_name='compat', timeout=60, poll_interval=0.5)
    results = play([
        ('first', MANILA, base),
        ('info', PROTECTABLE, dict(cloud='localcloud-demo', resource_type='share', protection='compat')),
        ('absent', MANILA, dict(base, state='absent')),
    ], env=cloud_env)
    first = ok(results['first'])
    assert first['changed'] is True and first['share']['id'] == share.id
    snapshot_id = first['share_snapshot']['id']
    listed = dict((entry['id'], entry) for entry in ok(results['info'])['protectables'])
    assert [s['id'] for s in listed[share.id]['snapshots']] == [snapshot_id], listed.get(share.id)
    absent = ok(results['absent'])
    assert absent['changed'] is True and absent['deleted'] == [snapshot_id], absent
    assert manila.snapshots(share.id) == []


@pytest.fixture
def kubeconfig(localcloud):
    return localcloud.get('kubeconfig') or os.path.join(ROOT, '.localcloud', 'kubeconfig')


@pytest.fixture
def core(kubeconfig):
    cfg = k8s_client.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    return k8s_client.CoreV1Api(k8s_client.ApiClient(cfg))


@pytest.fixture
def namespace(core, unique, make_volume):
    """A namespace with a pod mounting a claim bound to a CSI PV of a real Cinder volume (the emulator attaches it
    before the pod runs, as a cluster's attacher does); removed (with the PV) at teardown."""
    pv, volume_id = unique + '-pv', make_volume(unique + '-pv').id
    core.create_namespace({'metadata': {'name': unique}})
    try:
        # a new namespace's `default` service account comes shortly after it; pods are refused (403) until then
        deadline = time.monotonic() + 30
        while not [a for a in core.list_namespaced_service_account(unique).items if a.metadata.name == 'default']:
            assert time.monotonic() < deadline, 'no serviceaccount %s/default' % unique
            time.sleep(0.2)
        core.create_persistent_volume({'metadata': {'name': pv}, 'spec': {
            'csi': {'driver': 'cinder.csi.openstack.org', 'volumeHandle': volume_id, 'fsType': 'ext4'},
            'capacity': {'storage': '1Gi'}, 'accessModes': ['ReadWriteOnce'], 'storageClassName': 'csi-cinder-sc',
            'persistentVolumeReclaimPolicy': 'Retain'}})
        core.create_namespaced_persistent_volume_claim(unique, {'metadata': {'name': 'data'}, 'spec': {
            'accessModes': ['ReadWriteOnce'], 'storageClassName': 'csi-cinder-sc', 'volumeName': pv,
            'resources': {'requests': {'storage': '1Gi'}}}})
        core.create_namespaced_pod(unique, {'metadata': {'name': 'db'}, 'spec': {
            'containers': [{'name': 'db', 'image': 'postgres:16', 'volumeMounts': [{'name': 'data',
                                                                                   'mountPath': '/data'}]}],
            'volumes': [{'name': 'data', 'persistentVolumeClaim': {'claimName': 'data'}}]}})
        deadline = time.monotonic() + 30
        while core.read_namespaced_pod('db', unique).status.phase != 'Running':
            assert time.monotonic() < deadline, 'pod %s/db not Running' % unique
            time.sleep(0.3)
        yield unique, volume_id
    finally:
        for call, args in ((core.delete_namespace, (unique,)), (core.delete_persistent_volume, (pv,))):
            try:
                call(*args)
            except ApiException as exc:
                if exc.status != 404:
                    raise


def test_k8s_pod_protectable_info(kubeconfig, namespace):
    name, volume_id = namespace
    with open(kubeconfig) as handle:
        config = yaml.safe_load(handle)
    context = dict((c['name'], c['context']) for c in config['contexts'])[config['current-context']]
    server = dict((c['name'], c['cluster']) for c in config['clusters'])[context['cluster']]['server']
    token = dict((u['name'], u['user']) for u in config['users'])[context['user']]['token']
    results = play([
        ('by_kubeconfig', K8S_INFO, dict(kubeconfig=kubeconfig, namespace=name)),
        # the api_key option (AWX's bearer token credential sets K8S_AUTH_API_KEY) authenticates on its own
        ('by_token', K8S_INFO, dict(host=server, api_key=token, namespace=name)),
    ])
    failed = dict((key, result['msg']) for key, result in results.items() if result.get('failed'))
    assert not failed, failed
    for key in ('by_kubeconfig', 'by_token'):
        pods = ok(results[key])['pods']
        assert [(p['namespace'], p['name'], p['protectable']) for p in pods] == [(name, 'db', True)], (key, pods)
        assert [(v['pvc'], v['source'], v['cinder_volume_id']) for v in pods[0]['volumes']] == [
            ('data', 'csi', volume_id)], (key, pods)


@pytest.fixture(scope='module')
def docs():
    """ansible-doc --json of every module, in one run."""
    proc = subprocess.run([os.path.join(VENV, 'bin', 'ansible-doc'), '-t', 'module', '--json']
                          + [NS + module for module in MODULES], env=base_env(venv=VENV), capture_output=True,
                          text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.parametrize('module', MODULES)
def test_ansible_doc(docs, module):
    found, stderr = docs
    entry = found.get(NS + module)
    assert entry, 'ansible-doc did not render %s%s: %s' % (NS, module, stderr[-2000:])
    assert entry['doc']['options'] and entry['doc']['short_description'] and entry['examples'].strip()
    assert entry['return'] is not None, entry

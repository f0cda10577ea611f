"""Bad input for every OpenStack module (issue 12): a clear message, no traceback, nothing left behind.

The argument sets are generated (bad_input_cases.py, >= 40 per module). Each module's cases run as the tasks of
ONE ansible-playbook run (``ignore_errors``, every result registered and written to one JSON file); the seven
runs start together, a few at a time. For each case the task must fail with a ``msg`` that contains the expected
substrings (the option or resource, and the reason), and without a traceback (none in the task's output, no
``exception`` but Ansible's placeholder, no ``module_stderr``, no "unexpected error"). Afterwards Cinder
(volumes, snapshots, backups), Manila (shares, share snapshots), freezer-api (jobs, clients), Swift
(containers), Kubernetes (namespaces, pods, PVCs, PVs) and the checkpoint banks are listed: nothing may carry the
run's marker, and nothing new and unnamed may have appeared.

``pytest -s`` prints a tally per module (cases tried / clear / leftovers).
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from bad_input_cases import CODES, MODULES, Context, cases_for
from conftest import get_or_none, wait_status
from playbook_runner import ROOT, VENV_BIN, base_env, save_task

FREEZER = 'http://127.0.0.1:9090'
MANILA_MV = '2.65'
MARKER = 'bi-%s' % uuid.uuid4().hex[:8]
# playbooks run at the same time: each is one process per task, CPU-bound on a 2-core machine
PARALLEL_PLAYBOOKS = 3
# a hang detector only: every request of every case is bounded (api_timeout, 30 s) and a busy CI machine has run
# one module's 59 cases at 15 s each
PLAYBOOK_TIMEOUT = 1800
TRACEBACK_PLACEHOLDER = '(traceback unavailable)'
# relative cost of one task (the Kubernetes modules import the kubernetes client too): slowest playbooks start first
COST = {'dataprotection.openstack.k8s_pod_protect': 1.5, 'dataprotection.openstack.k8s_app_protect': 1.5,
        'dataprotection.openstack.checkpoint_info': 1.2}

Item = namedtuple('Item', 'kind id name text')
Run = namedtuple('Run', 'rc results stdout seconds workdir')
TALLY = {}


# -- running one module's cases as one playbook ---------------------------------------------------------------
def task_name(index, case):
    return 'case %03d %s' % (index, case.id)


def write_playbook(module, cases, workdir):
    out = os.path.join(workdir, 'results.json')
    tasks = [{'name': task_name(i, case), module: case.args, 'register': 'r%03d' % i, 'ignore_errors': True}
             for i, case in enumerate(cases)]
    tasks.append(save_task('save results', ['r%03d' % i for i in range(len(cases))], out))
    play = [{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': tasks}]
    path = os.path.join(workdir, 'play.yml')
    with open(path, 'w') as handle:
        yaml.safe_dump(play, handle, width=1000)
    return path, out


def run_playbook(module, cases, workdir, env):
    playbook, out = write_playbook(module, cases, workdir)
    started = time.monotonic()
    proc = subprocess.run([os.path.join(VENV_BIN, 'ansible-playbook'), '-i', 'localhost,', playbook], cwd=workdir,
                          env=base_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, timeout=PLAYBOOK_TIMEOUT, check=False)
    seconds = time.monotonic() - started
    with open(os.path.join(workdir, 'stdout.txt'), 'w') as handle:
        handle.write(proc.stdout)
    results = None
    if os.path.exists(out):
        with open(out) as handle:
            results = json.load(handle)
    return Run(proc.returncode, results, proc.stdout, seconds, workdir)


def task_sections(stdout):
    """Each task's output (from its ``TASK [name]`` banner to the next banner), by task name."""
    sections, name, lines = {}, None, []
    for line in stdout.splitlines():
        if line.startswith('TASK [') and '] ' in line:
            if name is not None:
                sections[name] = '\n'.join(lines)
            name, lines = line[len('TASK ['):line.rindex(']')], []
        else:
            lines.append(line)
    if name is not None:
        sections[name] = '\n'.join(lines)
    return sections


def problems_of(case, result, section):
    """Why a case's result is not a clear refusal (empty list when it is)."""
    if result is None:
        return ['no result registered']
    problems = []
    msg = result.get('msg')
    msg = msg if isinstance(msg, str) else json.dumps(msg)
    if not result.get('failed'):
        problems.append('did not fail (changed=%s)' % result.get('changed'))
    missing = [e for e in case.expect if e not in msg]
    if missing:
        problems.append('msg lacks %s' % ', '.join(repr(e) for e in missing))
    if msg.lower().startswith('unexpected error') or 'MODULE FAILURE' in msg:
        problems.append('unexpected error')
    if result.get('exception') not in (None, TRACEBACK_PLACEHOLDER):
        problems.append('exception returned')
    if 'module_stderr' in result or 'Traceback' in msg or 'Traceback' in section:
        problems.append('traceback')
    return problems


# -- what exists ----------------------------------------------------------------------------------------------
def _item(kind, obj_id, name, raw):
    return Item(kind, obj_id, name, json.dumps(raw, default=str, sort_keys=True))


def _freezer_list(conn, collection):
    url = '%s/v2/%s/%s' % (FREEZER, conn.current_project_id, collection)
    response = conn.session.get(url, params={'limit': 1000}, raise_exc=False)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return response.json().get(collection) or []


def inventory(world):
    """Everything the cases could have created, in every project the suite uses."""
    items = []
    bs = world['admin'].block_storage
    for volume in bs.volumes(details=True, all_projects=True):
        items.append(_item('cinder volume', volume.id, volume.name, volume.to_dict()))
    for snapshot in bs.snapshots(details=True, all_projects=True):
        items.append(_item('cinder snapshot', snapshot.id, snapshot.name, snapshot.to_dict()))
    for backup in bs.backups(details=True, all_projects=True):
        items.append(_item('cinder backup', backup.id, backup.name, backup.to_dict()))
    sfs = world['admin_manila'].shared_file_system
    for share in sfs.shares(details=True, all_projects=True):
        items.append(_item('manila share', share.id, share.name, share.to_dict()))
    for snapshot in sfs.get('/snapshots/detail?all_tenants=1', microversion=MANILA_MV).json()['snapshots']:
        items.append(_item('manila share snapshot', snapshot['id'], snapshot.get('name'), snapshot))
    for label, conn in world['projects'].items():
        for job in _freezer_list(conn, 'jobs'):
            items.append(_item('freezer job (%s)' % label, job['job_id'], job.get('description'), job))
        for client in _freezer_list(conn, 'clients'):
            doc = client.get('client') or {}
            items.append(_item('freezer client (%s)' % label, doc.get('client_id'), doc.get('client_id'), client))
        for container in conn.object_store.containers():
            items.append(_item('swift container (%s)' % label, container.name, container.name, container.name))
    core = world['core']
    if core is not None:
        sanitize = core.api_client.sanitize_for_serialization
        for ns in core.list_namespace().items:
            items.append(_item('k8s namespace', ns.metadata.name, ns.metadata.name, sanitize(ns.metadata)))
        for pod in core.list_pod_for_all_namespaces().items:
            key = '%s/%s' % (pod.metadata.namespace, pod.metadata.name)
            items.append(_item('k8s pod', key, pod.metadata.name, sanitize(pod.metadata)))
        for pvc in core.list_persistent_volume_claim_for_all_namespaces().items:
            key = '%s/%s' % (pvc.metadata.namespace, pvc.metadata.name)
            items.append(_item('k8s pvc', key, pvc.metadata.name, sanitize(pvc.metadata)))
        for pv in core.list_persistent_volume().items:
            items.append(_item('k8s pv', pv.metadata.name, pv.metadata.name, sanitize(pv)))
    for root in world['bank_roots']:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                items.append(_item('bank file', path, name, path))
    return items


def leftovers_of(items, marker, exclude=()):
    return [i for i in items if marker in i.text and i.id not in exclude]


def unnamed(item):
    """A resource whose name is empty or only whitespace (what the empty-name cases would have created)."""
    return isinstance(item.name, str) and not item.name.strip() and not item.kind.startswith('bank')


# -- fixtures -------------------------------------------------------------------------------------------------
def _wait_gone(fetch):
    wait_status(fetch, {'gone'}, timeout=90)


def _make_volume(conn, name):
    volume = conn.block_storage.create_volume(name=name, size=1)
    volume = wait_status(lambda: get_or_none(conn.block_storage.get_volume, volume.id), {'available', 'error'})
    assert volume.status == 'available', volume
    return volume


def _make_share(conn, name):
    share = conn.shared_file_system.create_share(name=name, size=1, share_protocol='NFS')
    share = wait_status(lambda: get_or_none(conn.shared_file_system.get_share, share.id), {'available', 'error'},
                        timeout=90)
    assert share.status == 'available', share
    return share


def _k8s_core(kubeconfig):
    try:
        from kubernetes import client as k8s_client
        from kubernetes import config as k8s_config
    except ImportError:  # pragma: no cover - the dev requirements install it
        return None
    cfg = k8s_client.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    return k8s_client.CoreV1Api(k8s_client.ApiClient(cfg))


def _cleanup(world, items):
    """Best effort: remove what a broken check left behind (after it was reported)."""
    admin = world['admin']
    for item in items:
        try:
            if item.kind == 'cinder snapshot':
                admin.block_storage.delete_snapshot(item.id, ignore_missing=True)
            elif item.kind == 'cinder backup':
                admin.block_storage.delete_backup(item.id, ignore_missing=True, force=True)
            elif item.kind == 'manila share snapshot':
                world['admin_manila'].shared_file_system.delete_share_snapshot(item.id, ignore_missing=True)
            elif item.kind.startswith('freezer job'):
                label = item.kind[len('freezer job ('):-1]
                conn = world['projects'][label]
                doc = json.loads(item.text)
                conn.session.delete('%s/v2/%s/jobs/%s' % (FREEZER, conn.current_project_id, item.id), raise_exc=False)
                for action in doc.get('job_actions') or []:
                    conn.session.delete('%s/v2/%s/actions/%s' % (FREEZER, conn.current_project_id,
                                                                 action.get('action_id')), raise_exc=False)
            elif item.kind.startswith('swift container'):
                conn = world['projects'][item.kind[len('swift container ('):-1]]
                for obj in list(conn.object_store.objects(item.id)):
                    conn.object_store.delete_object(obj, container=item.id)
                conn.object_store.delete_container(item.id, ignore_missing=True)
            elif item.kind == 'k8s namespace' and world['core'] is not None:
                world['core'].delete_namespace(item.id)
        except Exception as exc:  # pylint: disable=broad-except
            print('cleanup of %s %s failed: %s' % (item.kind, item.id, exc))
    for item in items:  # volumes and shares after their snapshots
        try:
            if item.kind == 'cinder volume':
                admin.block_storage.delete_volume(item.id, ignore_missing=True)
            elif item.kind == 'manila share':
                world['admin_manila'].shared_file_system.delete_share(item.id, ignore_missing=True)
        except Exception as exc:  # pylint: disable=broad-except
            print('cleanup of %s %s failed: %s' % (item.kind, item.id, exc))


@pytest.fixture(scope='module')
def world(localcloud, clouds_yaml, os_conn_factory, lc_admin, lc_demo, lc_demo2):
    """The few real resources some cases point at, the inventory before, and the seven playbooks, started."""
    workroot = tempfile.mkdtemp(prefix='dp-bad-input-')
    demo_manila = os_conn_factory('localcloud-demo', shared_file_system_default_microversion=MANILA_MV)
    demo2_manila = os_conn_factory('localcloud-demo2', shared_file_system_default_microversion=MANILA_MV)
    admin_manila = os_conn_factory('localcloud-admin', shared_file_system_default_microversion=MANILA_MV)
    kubeconfig = localcloud.get('kubeconfig') or os.path.join(ROOT, '.localcloud', 'kubeconfig')
    with open(clouds_yaml) as handle:
        demo_auth = yaml.safe_load(handle)['clouds']['localcloud-demo']['auth']
    bank_root = os.path.join(workroot, 'banks')
    bank_file = os.path.join(workroot, 'bank-is-a-file')
    with open(bank_file, 'w') as handle:
        handle.write('not a directory\n')
    default_bank = os.path.expanduser('~/.ansible/dataprotection/bank')
    world = dict(admin=lc_admin, admin_manila=admin_manila, core=_k8s_core(kubeconfig),
                 projects={'demo': lc_demo, 'demo2': lc_demo2, 'admin': lc_admin},
                 bank_roots=[bank_root, default_bank], fixtures=[], runs={}, executor=None)
    made = world['fixtures']
    try:
        volume = _make_volume(lc_demo, MARKER + '-present')
        made.append(('volume', lc_demo, volume.id))
        foreign_volume = _make_volume(lc_demo2, MARKER + '-foreign')
        made.append(('volume', lc_demo2, foreign_volume.id))
        share = _make_share(demo_manila, MARKER + '-present')
        made.append(('share', demo_manila, share.id))
        foreign_share = _make_share(demo2_manila, MARKER + '-foreign')
        made.append(('share', demo2_manila, foreign_share.id))
        world['before'] = inventory(world)
        ctx = Context(MARKER, volume=volume.name, foreign_volume=foreign_volume.id, share=share.name,
                      foreign_share=foreign_share.id, foreign_project=lc_demo2.current_project_id,
                      demo_auth=demo_auth, kubeconfig=kubeconfig, bank_root=bank_root, bank_file=bank_file)
        env = {'OS_CLIENT_CONFIG_FILE': clouds_yaml}
        world['cases'] = dict((module, cases_for(module, ctx)) for module in MODULES)
        world['started'] = time.monotonic()
        executor = world['executor'] = ThreadPoolExecutor(max_workers=PARALLEL_PLAYBOOKS)
        for module in sorted(MODULES, key=lambda m: -COST.get(m, 1) * len(world['cases'][m])):
            workdir = os.path.join(workroot, CODES[module])
            os.makedirs(workdir)
            world['runs'][module] = executor.submit(run_playbook, module, world['cases'][module], workdir, env)
        yield world
    finally:
        if world['executor'] is not None:
            world['executor'].shutdown(wait=True)
        for kind, conn, rid in reversed(made):
            try:
                if kind == 'volume':
                    bs = conn.block_storage
                    for snapshot in bs.snapshots(volume_id=rid):
                        bs.delete_snapshot(snapshot.id, ignore_missing=True)
                        _wait_gone(lambda s=snapshot: get_or_none(bs.get_snapshot, s.id))
                    bs.delete_volume(rid, ignore_missing=True)
                    _wait_gone(lambda: get_or_none(bs.get_volume, rid))
                else:
                    sfs = conn.shared_file_system
                    for snapshot in sfs.share_snapshots(share_id=rid):
                        sfs.delete_share_snapshot(snapshot.id, ignore_missing=True)
                        _wait_gone(lambda s=snapshot: get_or_none(sfs.get_share_snapshot, s.id))
                    sfs.delete_share(rid, ignore_missing=True)
                    _wait_gone(lambda: get_or_none(sfs.get_share, rid))
            except Exception as exc:  # pylint: disable=broad-except
                print('fixture cleanup of %s %s failed: %s' % (kind, rid, exc))
        shutil.rmtree(workroot, ignore_errors=True)


# -- the tests ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('module', MODULES, ids=lambda m: m.rsplit('.', 1)[1])
def test_bad_input_is_refused_clearly(world, module):
    cases = world['cases'][module]
    assert len(cases) >= 40, '%s has only %d bad-input cases' % (module, len(cases))
    run = world['runs'][module].result()
    assert run.results is not None, 'ansible-playbook wrote no results (rc=%s):\n%s' % (run.rc, run.stdout[-4000:])
    sections = task_sections(run.stdout)
    failures = []
    for index, case in enumerate(cases):
        result = run.results.get('r%03d' % index)
        problems = problems_of(case, result, sections.get(task_name(index, case), ''))
        if problems:
            msg = (result or {}).get('msg')
            args = json.dumps(case.args, default=str)[:300]
            failures.append('%s [%s]: %s; args=%s; msg=%r' % (case.id, case.why, '; '.join(problems), args, msg))
    marker = '%s-%s' % (MARKER, CODES[module])
    left = leftovers_of(inventory(world), marker)
    TALLY[module] = dict(cases=len(cases), clear=len(cases) - len(failures), failing=len(failures),
                         leftovers=len(left), seconds=run.seconds)
    print('\nbad input %s: %d cases tried, %d clear, %d not clear, %d leftovers (playbook %.0fs)'
          % (module, len(cases), len(cases) - len(failures), len(failures), len(left), run.seconds))
    for line in failures:
        print('  NOT CLEAR ' + line)
    for item in left:
        print('  LEFT BEHIND %s %s %r' % (item.kind, item.id, item.name))
    if left:
        _cleanup(world, left)
    details = failures + ['left behind: %s %s %r' % (i.kind, i.id, i.name) for i in left]
    assert not failures and not left, '%d of %d cases not refused clearly, %d resources left behind:\n%s' % (
        len(failures), len(cases), len(left), '\n'.join(details))


def test_nothing_new_left_in_the_projects(world):
    runs = dict((module, future.result()) for module, future in world['runs'].items())
    wall = time.monotonic() - world['started']
    after = inventory(world)
    before = set((i.kind, i.id) for i in world['before'])
    fixture_ids = set(rid for _kind, _conn, rid in world['fixtures'])
    new = [i for i in after if (i.kind, i.id) not in before and i.id not in fixture_ids]
    ours = [i for i in new if MARKER in i.text or unnamed(i)]
    others = [i for i in new if i not in ours]
    print('\nbad input, all modules: %d cases in %.0fs wall (playbooks %s)' % (
        sum(len(c) for c in world['cases'].values()), wall,
        ', '.join('%s %.0fs' % (CODES[m], r.seconds) for m, r in runs.items())))
    for module, tally in TALLY.items():
        print('  %-45s %3d tried %3d clear %3d not clear %d leftovers' % (
            module, tally['cases'], tally['clear'], tally['failing'], tally['leftovers']))
    for item in others:
        print('  new but not from this suite (concurrent test?): %s %s %r' % (item.kind, item.id, item.name))
    if ours:
        _cleanup(world, ours)
    assert not ours, 'left behind by the bad-input cases: %s' % ['%s %s %r' % (i.kind, i.id, i.name) for i in ours]

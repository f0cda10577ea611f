#!/usr/bin/env python3
"""`make bench-scale`: protecting many volumes across projects, five ways, as ratios to the floor, in one run.

Against the running local cloud, as admin with a role on each benchmark project:
  (a) one cinder_snapshot_protect bulk task with all_projects
  (b) playbooks/protect_fleet.yml over the protectables inventory, forks 10
  (c) the same playbook as 4 slices at once, each through ansible-runner (what AWX runs on its execution nodes)
  (d) openstack.cloud.volume_snapshot in a loop with async / poll 0, then async_status
  (e) the floor: openstacksdk, one token per project, a thread pool creating the snapshots and waiting for them
Every way polls once a second; (a) and (e) run 16 calls at once.
For each size: wall seconds, HTTP requests (a counting forwarding proxy), the controller's peak RSS (the whole
process tree, sampled from /proc), its CPU seconds, seconds per volume; each as a ratio to (e). Every method must leave exactly one
available snapshot on every volume (checked), which are removed before the next method (not timed).
The projects (bench-scale-NN) and their volumes stay for the next run; `--cleanup` removes them.
"""
import argparse
import concurrent.futures
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time

import openstack
import yaml

from common import (ANSIBLE_PKG, BENCH, CLOUDS, ROOT, VENV_BIN, ansible_env, write_results)
from counting_proxy import CountingProxy
from run import ensure_openstack_cloud

RUNNER_PKG = os.path.join(BENCH, 'runner-pkg')
RUNNER_PACKAGE = 'ansible-runner==2.4.1'
PROJECT_PREFIX = 'bench-scale-'
TAG_KEY = 'bench_scale'
WORK = os.path.join(BENCH, 'scale')
# Snapshots deleted (and waited for) at once between ways: 1000 deletes at once ran cinder-volume's database pool
# (10 + 50 overflow) dry, and the snapshots whose delete failed then stayed 'deleting' for ever.
CLEAR_CHUNK = 100


# -- the controller's footprint ------------------------------------------------------------------------------------
def _tree_rss_kb(root_pid):
    children = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as handle:
                ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open('/proc/%d/status' % pid) as handle:
                total += next((int(line.split()[1]) for line in handle if line.startswith('VmRSS:')), 0)
        except OSError:
            pass
    return total


def run_measured(argv_list, env, log_prefix):
    """Start every command at once; wait for all. Wall seconds, the peak RSS (MB) of all their process trees and the
    CPU seconds (user + system) they used - on a shared, loaded machine the CPU time moves less than the wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd=ROOT) for argv in argv_list]
    peak, outputs = [0], [None] * len(procs)
    started = time.monotonic()

    def sample():
        while any(p.poll() is None for p in procs):
            peak[0] = max(peak[0], sum(_tree_rss_kb(p.pid) for p in procs))
            time.sleep(0.2)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for index, proc in enumerate(procs):
        outputs[index] = proc.communicate()[0]
    seconds = time.monotonic() - started
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    for index, (proc, out) in enumerate(zip(procs, outputs)):
        with open('%s-%d.log' % (log_prefix, index), 'w') as handle:
            handle.write(out)
        if proc.returncode:
            sys.exit('bench-scale: %s failed (rc %d):\n%s' % (' '.join(proc.args[:3]), proc.returncode, out[-4000:]))
    return seconds, round(peak[0] / 1024.0, 1), round(cpu, 1)


# -- the fleet -------------------------------------------------------------------------------------------------------
class Fleet:
    def __init__(self, projects, tag):
        self.config = openstack.config.OpenStackConfig(config_files=[CLOUDS], load_envvars=False)
        self.admin = openstack.connection.Connection(config=self.config.get_one(cloud='localcloud-admin'))
        self.tag = tag
        self.projects = self._projects(projects)
        self._conns = {}

    def _projects(self, count):
        identity = self.admin.identity
        admin_user = identity.find_user('admin', domain_id='default')
        member = identity.find_role('member')
        found = []
        for index in range(count):
            name = '%s%02d' % (PROJECT_PREFIX, index)
            project = identity.find_project(name, domain_id='default') or \
                identity.create_project(name=name, domain_id='default', description='make bench-scale')
            identity.assign_project_role_to_user(project, admin_user, member)
            found.append(project)
        return found

    def conn(self, project_id):
        if project_id not in self._conns:
            self._conns[project_id] = openstack.connection.Connection(
                config=self.config.get_one(cloud='localcloud-admin', project_id=project_id))
        return self._conns[project_id]

    def volumes(self):
        """{project_id: [volume ids]} of this run's tag (admin listing)."""
        found = {}
        for volume in self.admin.block_storage.volumes(details=True, all_projects=True):
            if (volume.metadata or {}).get(TAG_KEY) == self.tag:
                found.setdefault(volume.project_id, []).append(volume.id)
        return found

    def ensure_volumes(self, total):
        """``total`` available volumes spread over the projects (made once, kept across sizes and runs)."""
        have = self.volumes()
        wanted = dict((p.id, total // len(self.projects) + (1 if i < total % len(self.projects) else 0))
                      for i, p in enumerate(self.projects))
        jobs = [(pid, n) for pid, count in wanted.items() for n in range(len(have.get(pid, [])), count)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda job: self.conn(job[0]).block_storage.create_volume(
                name='scale-%s-%04d' % (job[0][:6], job[1]), size=1, metadata={TAG_KEY: self.tag}), jobs))
        deadline = time.monotonic() + 1800
        while True:
            statuses = [v.status for v in self.admin.block_storage.volumes(details=True, all_projects=True)
                        if (v.metadata or {}).get(TAG_KEY) == self.tag]
            if 'error' in statuses:
                sys.exit('bench-scale: a benchmark volume went to error')
            if len(statuses) >= total and all(s == 'available' for s in statuses):
                break
            if time.monotonic() > deadline:
                sys.exit('bench-scale: volumes not available after 30 min')
            time.sleep(2)
        chosen = {}
        for pid, ids in sorted(self.volumes().items()):
            if wanted.get(pid):  # a larger earlier run left volumes in projects beyond --projects
                chosen[pid] = sorted(ids)[:wanted[pid]]
        return chosen

    def snapshots(self, name):
        """Snapshots ``name``, or ``name-<timestamp>`` (protect_fleet.yml rotates: retain)."""
        return [s for s in self.admin.block_storage.snapshots(details=True, all_projects=True)
                if s.name == name or (s.name or '').startswith(name + '-')]

    def check_and_clear(self, name, volume_ids):
        """Exactly one available snapshot ``name`` per selected volume, then none (deleted, waited for)."""
        snaps = self.snapshots(name)
        per_volume = {}
        for snap in snaps:
            per_volume.setdefault(snap.volume_id, []).append(snap.status)
        wrong = [v for v in volume_ids if per_volume.get(v) != ['available']]
        extra = [v for v in per_volume if v not in volume_ids]
        self.clear(name, snaps)
        if wrong or extra:
            sys.exit('bench-scale: %s left %d volumes without exactly one available snapshot and %d extra'
                     % (name, len(wrong), len(extra)))

    def clear(self, name, snaps=None):
        """Delete the snapshots ``name`` (``snaps``, or all of them), CLEAR_CHUNK at a time, each batch waited for."""
        snaps = self.snapshots(name) if snaps is None else snaps
        for start in range(0, len(snaps), CLEAR_CHUNK):
            self._delete_and_wait(name, snaps[start:start + CLEAR_CHUNK])

    def _delete_and_wait(self, name, snaps):
        bs = self.admin.block_storage
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda s: bs.delete_snapshot(s.id, ignore_missing=True), snaps))
        ids = set(s.id for s in snaps)
        deadline = time.monotonic() + 300
        while True:
            left = [s for s in self.snapshots(name) if s.id in ids]
            if not left:
                return
            if time.monotonic() > deadline:
                sys.exit('bench-scale: %d snapshots %s still there 300 s after their deletion: %s'
                         % (len(left), name, ', '.join('%s (%s)' % (s.id, s.status) for s in left[:10])))
            time.sleep(1)

    def remove_everything(self):
        bs = self.admin.block_storage
        self.clear('scale')  # every way's snapshots: scale-<way>[-...]
        for volume in bs.volumes(details=True, all_projects=True):
            if TAG_KEY in (volume.metadata or {}):
                bs.delete_volume(volume.id, ignore_missing=True)
        while any(TAG_KEY in (v.metadata or {}) for v in bs.volumes(details=True, all_projects=True)):
            time.sleep(1)
        for project in self.projects:
            self.admin.identity.delete_project(project)


# -- the five ways ---------------------------------------------------------------------------------------------------
def write_clouds(fleet):
    """A clouds.yaml (0600) with the admin and the admin scoped to each benchmark project (fleet_clouds)."""
    with open(CLOUDS) as handle:
        admin = yaml.safe_load(handle)['clouds']['localcloud-admin']
    clouds = {'bench-admin': admin}
    for project in fleet.projects:
        auth = dict((k, v) for k, v in admin['auth'].items() if not k.startswith('project_'))
        clouds['bench-' + project.id] = dict(admin, auth=dict(auth, project_id=project.id))
    path = os.path.join(WORK, 'clouds.yaml')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as handle:
        yaml.safe_dump({'clouds': clouds}, handle)
    return path


def write_yaml(name, document):
    path = os.path.join(WORK, name)
    with open(path, 'w') as handle:
        yaml.safe_dump(document, handle)
    return path


def playbook_argv(playbook, *args):
    return [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', 'localhost,', playbook] + list(args)


def way_a(fleet, chosen, name):
    task = {'dataprotection.openstack.cinder_snapshot_protect': {
        'cloud': 'bench-admin', 'all_projects': True,
        'query': '[?contains(`%s`, id)]' % json.dumps(sorted(v for ids in chosen.values() for v in ids)),
        'protection': name, 'concurrency': 16, 'poll_interval': 1, 'timeout': 1800}}
    return [playbook_argv(write_yaml('a.yml', [{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
                                                'tasks': [task]}]))]


def fleet_inventory(fleet, chosen):
    ids = sorted(v for ids in chosen.values() for v in ids)
    return write_yaml('fleet.protectables.yml', {
        'plugin': 'dataprotection.openstack.protectables', 'cloud': 'bench-admin', 'all_projects': True,
        'resource_types': ['volume'], 'metadata': {TAG_KEY: fleet.tag},
        'query': '[?contains(`%s`, id)]' % json.dumps(ids), 'hostnames': 'id'})


def fleet_vars(fleet, name):
    return json.dumps({'fleet_clouds': dict((p.id, 'bench-' + p.id) for p in fleet.projects),
                       'fleet_snapshot_name': name, 'fleet_min_age': 0, 'fleet_timeout': 1800,
                       'fleet_poll_interval': 1})


def way_b(fleet, chosen, name):
    return [[os.path.join(VENV_BIN, 'ansible-playbook'), '-i', fleet_inventory(fleet, chosen), '-f', '10',
             os.path.join(ROOT, 'playbooks', 'protect_fleet.yml'), '-e', fleet_vars(fleet, name)]]


def ensure_runner():
    if not os.path.isdir(os.path.join(RUNNER_PKG, 'ansible_runner')):
        subprocess.run([os.path.join(VENV_BIN, 'uv'), 'pip', 'install', '--quiet', '--target', RUNNER_PKG,
                        RUNNER_PACKAGE, '--python', os.path.join(VENV_BIN, 'python')], check=True)


def way_c(fleet, chosen, name, slices=4):
    inventory = fleet_inventory(fleet, chosen)
    argv = []
    for index in range(1, slices + 1):
        private = os.path.join(WORK, 'runner-%d' % index)
        shutil.rmtree(private, ignore_errors=True)
        os.makedirs(os.path.join(private, 'env'))
        with open(os.path.join(private, 'env', 'envvars'), 'w') as handle:
            yaml.safe_dump({'DATAPROTECTION_SLICE_COUNT': str(slices), 'DATAPROTECTION_SLICE_INDEX': str(index)},
                           handle)
        with open(os.path.join(private, 'env', 'extravars'), 'w') as handle:
            handle.write(fleet_vars(fleet, name))
        argv.append([os.path.join(VENV_BIN, 'python'), '-m', 'ansible_runner', 'run', private, '-p',
                     os.path.join(ROOT, 'playbooks', 'protect_fleet.yml'), '--inventory', inventory, '--forks', '10'])
    return argv


def way_d(fleet, chosen, name):
    # openstack.cloud.volume_snapshot finds a snapshot by name in the whole project, not per volume: one name for
    # all would snapshot the first volume of each project only, so each snapshot is named after its volume.
    items = [{'id': v, 'cloud': 'bench-' + pid} for pid, ids in sorted(chosen.items()) for v in ids]
    tasks = [
        {'name': 'Snapshot every volume (async)', 'openstack.cloud.volume_snapshot': {
            'cloud': '{{ item.cloud }}', 'volume': '{{ item.id }}', 'name': name + '-{{ item.id }}', 'force': True,
            'timeout': 1800},
         'loop': items, 'async': 1800, 'poll': 0, 'register': 'started'},
        {'name': 'Wait for each', 'ansible.builtin.async_status': {'jid': '{{ item.ansible_job_id }}'},
         'loop': '{{ started.results }}', 'register': 'done', 'until': 'done.finished', 'retries': 1800,
         'delay': 1}]
    return [playbook_argv(write_yaml('d.yml', [{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
                                                'tasks': tasks}]))]


def way_e(fleet, chosen, name):
    plan = {'clouds': os.path.join(WORK, 'clouds.yaml'), 'name': name, 'volumes': chosen}
    return [[os.path.join(VENV_BIN, 'python'), os.path.abspath(__file__), '--floor-worker',
             write_yaml('e.json', plan)]]


def floor_worker(plan_path, concurrency=16):
    """(e): what any tool must at least do - a token per project, one create per volume through one pool of
    ``concurrency`` (as (a)), then waiting by one listing per project and second."""
    with open(plan_path) as handle:
        plan = yaml.safe_load(handle)
    config = openstack.config.OpenStackConfig(config_files=[plan['clouds']], load_envvars=False)
    storage = dict((pid, openstack.connection.Connection(config=config.get_one(cloud='bench-' + pid)).block_storage)
                   for pid in plan['volumes'])
    work = [(pid, v) for pid, ids in sorted(plan['volumes'].items()) for v in ids]
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda item: storage[item[0]].create_snapshot(volume_id=item[1], name=plan['name'], force=True),
                      work))
    pending = set(plan['volumes'])
    while pending:
        for pid in sorted(pending):
            statuses = [s.status for s in storage[pid].snapshots(details=True, name=plan['name'])]
            if 'error' in statuses:
                raise SystemExit('a snapshot went to error')
            if len(statuses) >= len(plan['volumes'][pid]) and all(s == 'available' for s in statuses):
                pending.discard(pid)
        if pending:
            time.sleep(1)


WAYS = {'a': way_a, 'b': way_b, 'c': way_c, 'd': way_d, 'e': way_e}


def chosen_ids(chosen):
    return [v for ids in chosen.values() for v in ids]


def measure(fleet, chosen, way, proxy, collections=None):
    name = 'scale-%s' % way
    argv = WAYS[way](fleet, chosen, name)
    env = ansible_env({'OS_CLIENT_CONFIG_FILE': os.path.join(WORK, 'clouds.yaml'),
                       'http_proxy': proxy.url, 'HTTP_PROXY': proxy.url, 'no_proxy': '', 'NO_PROXY': '',
                       'PYTHONPATH': os.pathsep.join([RUNNER_PKG, os.path.join(ROOT, 'benchmarks')]),
                       'ANSIBLE_COLLECTIONS_PATH': os.pathsep.join([collections or os.path.join(ROOT, '.venv',
                                                                                                'collections'),
                                                                    ANSIBLE_PKG])})
    env.pop('OS_CLOUD', None)  # every task names its cloud
    proxy.reset()
    seconds, rss, cpu = run_measured(argv, env, os.path.join(WORK, '%s-%d' % (way, len(chosen_ids(chosen)))))
    requests = len(proxy.requests)
    fleet.check_and_clear(name, chosen_ids(chosen))
    return dict(seconds=round(seconds, 1), requests=requests, rss_mb=rss, cpu_seconds=cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--projects', type=int, default=20)
    parser.add_argument('--sizes', default='10,100,1000', help='volumes per measurement, comma-separated')
    parser.add_argument('--ways', default='a,b,c,d,e')
    parser.add_argument('--cleanup', action='store_true', help='remove the benchmark projects and volumes, then exit')
    parser.add_argument('--baseline', metavar='COLLECTIONS_PATH',
                        help='also measure (a) with the collection found there (e.g. an older checkout under '
                             'DIR/ansible_collections/dataprotection/openstack), as way "a0", in the same run')
    parser.add_argument('--results', default='scale.json', help='file name under benchmarks/results')
    parser.add_argument('--floor-worker', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_worker:
        return floor_worker(args.floor_worker)
    os.makedirs(WORK, exist_ok=True)
    fleet = Fleet(args.projects, tag='scale')
    if args.cleanup:
        fleet.remove_everything()
        return None
    ensure_openstack_cloud()
    ways = args.ways.split(',')
    if 'c' in ways:
        ensure_runner()
    write_clouds(fleet)
    sizes = [int(s) for s in args.sizes.split(',')]
    results = dict(projects=args.projects, sizes={})
    proxy = CountingProxy()
    try:
        for size in sizes:
            chosen = fleet.ensure_volumes(size)
            row = {}
            for way in ways:
                if way == 'a' and args.baseline:
                    row['a0'] = measure(fleet, chosen, 'a', proxy, collections=args.baseline)
                row[way] = measure(fleet, chosen, way, proxy)
                print('  measured (%s) at %d volumes: %s' % (way, size, json.dumps(row[way])), flush=True)
            floor = row.get('e')
            for way, figures in row.items():
                figures['seconds_per_volume'] = round(figures['seconds'] / size, 3)
                if floor:
                    figures['vs_floor'] = dict((k, round(figures[k] / floor[k], 2) if floor[k] else None)
                                               for k in ('seconds', 'requests', 'rss_mb', 'cpu_seconds'))
            results['sizes'][size] = row
            print('%d volumes in %d projects:' % (size, args.projects))
            for way, figures in row.items():
                print('  (%s) %7.1fs %6d requests %7.1f MB %6.1f cpu-s  %.3fs/volume  vs (e): %s'
                      % (way, figures['seconds'], figures['requests'], figures['rss_mb'], figures['cpu_seconds'],
                         figures['seconds_per_volume'], figures.get('vs_floor')))
    finally:
        proxy.stop()
    write_results(args.results, results)
    return None


if __name__ == '__main__':
    main()

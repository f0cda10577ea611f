#!/usr/bin/env python3
"""One central freezer-scheduler serving N projects vs N per-project schedulers (real processes), at scale.

For each N (default 10 50 100): creates N projects (admin), gives the demo user `member` in each, and creates
one scheduled job per project for the central client (freezer-api makes a trust for each) and one for that
project's own client (daily interval: scheduled, not run during the measurement). Then
  1. starts the central scheduler alone (service mode, freezer-api's service user) and measures the time until
     it has fetched every project's job (its jobs_dir holds N jobs; bounded wait), its RSS and CPU time;
  2. starts the N per-project schedulers (demo user scoped to each project) in batches of --batch, waiting
     (bounded) until each batch has fetched its jobs before starting the next: 2 cores cannot start 100 Python
     processes at once without starving every one of them;
  3. with everything running, samples RSS and CPU use over --window seconds and checks the central scheduler
     still holds all N jobs.
With --together N it also repeats the old measurement (all N+1 started at once) and reports how long the
central scheduler took to fetch its jobs then. Everything created is removed at the end of each N.
Run from the repo root with the local cloud up (not part of make test):
  .venv/bin/python benchmarks/central_scheduler_rss.py [--batch 10] [--window 20] [--together 50] [N ...]
Writes benchmarks/results/central_scheduler.json.
"""
import argparse
import configparser
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import openstack

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LC = os.path.join(ROOT, '.localcloud')
BIN = os.path.join(LC, 'venv', 'bin')
FREEZER = 'http://127.0.0.1:9090'
TICK = os.sysconf('SC_CLK_TCK')


def yaml_conn(cloud, **kw):
    cfg = openstack.config.OpenStackConfig(config_files=[os.path.join(LC, 'clouds.yaml')], load_envvars=False)
    return openstack.connection.Connection(config=cfg.get_one(cloud=cloud, **kw))


def svc_auth():
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(os.path.join(LC, 'etc', 'freezer', 'freezer-api.conf'))
    s = conf['keystone_authtoken']
    return dict(auth_url=s['auth_url'], username=s['username'], password=s['password'], project_name=s['project_name'])


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as handle:
        for line in handle:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    with open('/proc/%d/stat' % pid) as handle:
        fields = handle.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(TICK)  # utime + stime


def oslo(value):
    return '"%s"' % str(value).replace('$', '$$')


def start(workdir, name, client_id, auth, central):
    os.makedirs(os.path.join(workdir, name, 'jobs'), mode=0o700)
    conf = os.path.join(workdir, name, 'scheduler.conf')
    with open(conf, 'w') as handle:
        handle.write('[DEFAULT]\nlog_file = %s/%s/log\n[scheduler]\nclient_id = %s\njobs_dir = %s/%s/jobs\n'
                     'interval = 2\nno_daemon = true\ncentralized_scheduler = %s\n[capabilities]\n'
                     'supported_actions = backup,restore,admin\nsupported_modes = cindernative\n[service_auth]\n'
                     'os_auth_url = %s\nos_username = %s\nos_password = %s\nos_project_name = %s\n'
                     'os_user_domain_name = Default\nos_project_domain_name = Default\nos_region_name = RegionOne\n'
                     % (workdir, name, client_id, workdir, name, str(central).lower(), auth['auth_url'],
                        oslo(auth['username']), oslo(auth['password']), oslo(auth['project_name'])))
    env = dict(PATH=BIN + ':/usr/bin:/bin', HOME=os.path.join(workdir, name), TMPDIR=os.path.join(workdir, name))
    proc = subprocess.Popen([os.path.join(BIN, 'freezer-scheduler'), '--config-file', conf, 'start'], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    proc.jobs_dir = os.path.join(workdir, name, 'jobs')
    return proc


def saved(proc):
    return len(os.listdir(proc.jobs_dir))


def wait_saved(procs, wanted, timeout):
    """Seconds until every proc saved `wanted` jobs, or None after `timeout` (bounded)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        dead = [p.pid for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError('schedulers exited: %s' % dead)
        if all(saved(p) >= wanted for p in procs):
            return time.monotonic() - began
        time.sleep(0.2)
    return None


def post(conn, path, body):
    r = conn.session.post('%s/v2/%s%s' % (FREEZER, conn.current_project_id, path), json=body, raise_exc=False)
    assert r.status_code in (201, 409), r.text
    return r.json() if r.content else {}


def job_doc(client_id, name):
    return dict(client_id=client_id, description=name, job_schedule=dict(schedule_interval='1 days'),
                job_actions=[dict(freezer_action=dict(action='backup', mode='cindernative', backup_name=name,
                                                      cindernative_vol_id=str(uuid.uuid4())))])


def stop(procs):
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def measure(n, args):
    tag = uuid.uuid4().hex[:6]
    admin = yaml_conn('localcloud-admin')
    demo_user = admin.identity.find_user('demo', domain_id='default')
    member = admin.identity.find_role('member')
    svc = openstack.connect(load_yaml_config=False, load_envvars=False, region_name='RegionOne', auth=dict(
        svc_auth(), user_domain_name='Default', project_domain_name='Default'))
    demo_pw = yaml_conn('localcloud-demo').config.auth['password']
    central_id = 'bench-central-%s' % tag
    projects, procs, jobs = [], [], []
    workdir = tempfile.mkdtemp(prefix='dp-bench-sched-')
    row = {'projects': n, 'batch': args.batch}
    try:
        post(svc, '/clients', dict(client_id=central_id, hostname='bench', is_central=True,
                                   supported_actions=['backup', 'restore', 'admin'], supported_modes=['cindernative']))
        for i in range(n):
            project = admin.identity.create_project(name='bench-%s-%d' % (tag, i), domain_id='default')
            admin.identity.assign_project_role_to_user(project, demo_user, member)
            projects.append(project)
        for i, project in enumerate(projects):
            conn = yaml_conn('localcloud-demo', project_name=project.name)
            jobs.append((conn, post(conn, '/jobs', job_doc(central_id, 'bench-c-%d' % i))['job_id']))
            local_id = 'bench-%s-p%d' % (tag, i)
            post(conn, '/clients', dict(client_id=local_id, hostname='bench'))
            jobs.append((conn, post(conn, '/jobs', job_doc(local_id, 'bench-p-%d' % i))['job_id']))

        def per_project(i, project):
            return start(workdir, 'p%d' % i, 'bench-%s-p%d' % (tag, i),
                         dict(auth_url='http://127.0.0.1:5000/v3', username='demo', password=demo_pw,
                              project_name=project.name), False)

        if n == args.together:
            # the old measurement: everything at once, then how long the central one needs
            together = [start(workdir, 'together', central_id, svc_auth(), True)]
            together += [per_project(i, p) for i, p in enumerate(projects)]
            row['together_central_fetch_s'] = wait_saved(together[:1], n, args.timeout)
            row['together_all_fetch_s'] = wait_saved(together, 1, args.timeout)
            stop(together)
            for i in range(n):
                shutil.rmtree(os.path.join(workdir, 'p%d' % i))

        central = start(workdir, 'central', central_id, svc_auth(), True)
        procs.append(central)
        row['central_fetch_s'] = wait_saved([central], n, args.timeout)
        row['central_rss_mb_alone'] = rss_kb(central.pid) / 1024.0
        row['central_cpu_s_to_fetch'] = cpu_s(central.pid)
        batch_times = []
        for first in range(0, n, args.batch):
            batch = [per_project(i, projects[i]) for i in range(first, min(n, first + args.batch))]
            procs.extend(batch)
            batch_times.append(wait_saved(batch, 1, args.timeout))
        row['batch_fetch_s'] = batch_times
        cpu0 = {p.pid: cpu_s(p.pid) for p in procs}
        time.sleep(args.window)
        cpu1 = {p.pid: cpu_s(p.pid) for p in procs}
        row['central_cpu_pct'] = 100.0 * (cpu1[central.pid] - cpu0[central.pid]) / args.window
        row['per_project_cpu_pct'] = 100.0 * sum(cpu1[p.pid] - cpu0[p.pid] for p in procs[1:]) / args.window
        row['central_rss_mb'] = rss_kb(central.pid) / 1024.0
        row['per_project_rss_mb'] = sum(rss_kb(p.pid) for p in procs[1:]) / 1024.0
        row['central_jobs_saved'] = saved(central)
        row['ratio_rss'] = row['central_rss_mb'] / row['per_project_rss_mb']
        return row
    finally:
        stop(procs)
        for conn, job_id in jobs:
            url = '%s/v2/%s' % (FREEZER, conn.current_project_id)
            got = conn.session.get('%s/jobs/%s' % (url, job_id), raise_exc=False)
            conn.session.delete('%s/jobs/%s' % (url, job_id), raise_exc=False)
            for entry in (got.json().get('job_actions') or []) if got.status_code == 200 else []:
                conn.session.delete('%s/actions/%s' % (url, entry['action_id']), raise_exc=False)
        for i, project in enumerate(projects):
            conn = yaml_conn('localcloud-demo', project_name=project.name)
            conn.session.delete('%s/v2/%s/clients/bench-%s-p%d' % (FREEZER, project.id, tag, i), raise_exc=False)
            admin.identity.delete_project(project)
        svc.session.delete('%s/v2/%s/clients/%s' % (FREEZER, svc.current_project_id, central_id), raise_exc=False)
        shutil.rmtree(workdir, ignore_errors=True)


def fmt(value, spec='%.1f'):
    return 'timeout' if value is None else spec % value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('sizes', nargs='*', type=int, default=[10, 50, 100])
    parser.add_argument('--batch', type=int, default=10, help='per-project schedulers started together')
    parser.add_argument('--window', type=int, default=20, help='seconds of the CPU sample')
    parser.add_argument('--timeout', type=int, default=300, help='bound of every wait, seconds')
    parser.add_argument('--together', type=int, default=0, help='also start all at once for this N')
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        row = measure(n, args)
        rows.append(row)
        print('N=%(projects)d: central fetched all jobs in %(f)s s alone (%(c)s CPU s), holds %(central_jobs_saved)d; '
              'RSS central %(central_rss_mb).0f MB vs %(per_project_rss_mb).0f MB for N per-project '
              '(ratio %(ratio_rss).3f); CPU central %(central_cpu_pct).1f%% vs per-project %(per_project_cpu_pct).1f%%; '
              'slowest batch %(b)s s%(t)s' % dict(
                  row, f=fmt(row['central_fetch_s']), c=fmt(row['central_cpu_s_to_fetch']),
                  b=fmt(max(row['batch_fetch_s'], key=lambda v: float('inf') if v is None else v)),
                  t='' if 'together_central_fetch_s' not in row else
                  '; all started together: central fetched all in %s s, every scheduler in %s s' % (
                      fmt(row['together_central_fetch_s']), fmt(row['together_all_fetch_s']))), flush=True)
    os.makedirs(os.path.join(ROOT, 'benchmarks', 'results'), exist_ok=True)
    with open(os.path.join(ROOT, 'benchmarks', 'results', 'central_scheduler.json'), 'w') as handle:
        json.dump(rows, handle, indent=1)
    failed = [row['projects'] for row in rows if row['central_jobs_saved'] != row['projects']
              or row['central_fetch_s'] is None or None in row['batch_fetch_s']]
    assert not failed, 'the central scheduler did not serve every project at N=%s' % failed


if __name__ == '__main__':
    main()

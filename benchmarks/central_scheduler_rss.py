#!/usr/bin/env python3
"""One central freezer-scheduler serving N projects vs N per-project schedulers (real processes), at scale.

For each N (default 10 50 100): creates N projects (admin), gives the demo user `member` in each, and creates
one scheduled job per project for a central client of its own (freezer-api makes a trust for each) and one
for that project's own client (daily interval: scheduled, never run during the measurement). Then
  0. times one central poll as the scheduler makes it (`limit=10` pages with its search, as the service user)
     before any scheduler runs: freezer-api's cost of a poll at this N;
  1. starts the central scheduler alone (service mode, freezer-api's service user) and measures, from its
     start: its first poll (start-up done), the time until it holds every project's job (its jobs_dir holds N
     jobs) and until it has armed all N (its log shows N jobs scheduled; each after the trust-scoped status
     update of the previous one), its RSS and CPU time (bounded waits);
  2. starts the N per-project schedulers (demo user scoped to each project) in batches of --batch, waiting
     (bounded) until each batch has fetched its jobs before starting the next;
  3. with everything running, samples RSS and CPU use (schedulers and freezer-api) over --window seconds and
     checks the central scheduler still holds all N jobs; then stops every scheduler;
  4. for the sizes given to --together, repeats the old measurement (all N+1 started at once) with the same
     milestones, to tell start-up starvation from polling.
Every scheduler polls every --interval seconds. The benchmark uses its own client ids (never the local cloud's
`localcloud-central`); it removes every job, trust, client, project and process it created at the end of each
N, also on failure, Ctrl-C or SIGTERM. Run from the repo root with the local cloud up (not part of make test):
  .venv/bin/python benchmarks/central_scheduler_rss.py [--batch 10] [--interval 10] [--window 30] \
      [--together 50] [N ...]
Merges its rows (one per N) into benchmarks/results/central_scheduler.json (`runs`); `--page-cost 0,100,200`
instead times one page of a central poll with that many extra jobs in freezer-api (`page_cost`).
"""
import argparse
import configparser
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid

import openstack

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LC = os.path.join(ROOT, '.localcloud')
BIN = os.path.join(LC, 'venv', 'bin')
FREEZER = 'http://127.0.0.1:9090'
RESULTS = os.path.join(ROOT, 'benchmarks', 'results', 'central_scheduler.json')
TICK = os.sysconf('SC_CLK_TCK')
HOST = socket.gethostname()  # what the scheduler registers itself with: one registration row per client
SEARCH = {'match_not': [{'status': 'completed'}]}  # freezer.scheduler.utils.get_active_jobs_from_api


def yaml_conn(cloud, **kw):
    cfg = openstack.config.OpenStackConfig(config_files=[os.path.join(LC, 'clouds.yaml')], load_envvars=False)
    return openstack.connection.Connection(config=cfg.get_one(cloud=cloud, **kw))


def svc_auth():
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(os.path.join(LC, 'etc', 'freezer', 'freezer-api.conf'))
    s = conf['keystone_authtoken']
    return dict(auth_url=s['auth_url'], username=s['username'], password=s['password'], project_name=s['project_name'])


def rss_kb(pid):
    try:
        with open('/proc/%d/status' % pid) as handle:
            for line in handle:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid, children=False):
    try:
        with open('/proc/%d/stat' % pid) as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / float(TICK)  # utime + stime
        if children:  # uwsgi: the master and its workers
            with open('/proc/%d/task/%d/children' % (pid, pid)) as handle:
                total += sum(cpu_s(int(child)) for child in handle.read().split())
        return total
    except OSError:
        return 0.0


def freezer_api_pid():
    try:
        with open(os.path.join(LC, 'run', 'freezer-api.json')) as handle:
            return json.load(handle)['pid']
    except (OSError, ValueError, KeyError):
        return None


def oslo(value):
    return '"%s"' % str(value).replace('$', '$$')


def start(workdir, name, client_id, auth, central, interval):
    os.makedirs(os.path.join(workdir, name, 'jobs'), mode=0o700)
    conf = os.path.join(workdir, name, 'scheduler.conf')
    with open(os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as handle:
        handle.write('[DEFAULT]\nlog_file = %s/%s/log\n[scheduler]\nclient_id = %s\njobs_dir = %s/%s/jobs\n'
                     'interval = %d\nno_daemon = true\ndisable_exec = true\ncentralized_scheduler = %s\n'
                     '[capabilities]\nsupported_actions = backup,restore,admin\nsupported_modes = cindernative\n'
                     '[service_auth]\nos_auth_url = %s\nos_username = %s\nos_password = %s\nos_project_name = %s\n'
                     'os_user_domain_name = Default\nos_project_domain_name = Default\nos_region_name = RegionOne\n'
                     % (workdir, name, client_id, workdir, name, interval, str(central).lower(), auth['auth_url'],
                        oslo(auth['username']), oslo(auth['password']), oslo(auth['project_name'])))
    env = dict(PATH=BIN + ':/usr/bin:/bin', HOME=os.path.join(workdir, name), TMPDIR=os.path.join(workdir, name))
    proc = subprocess.Popen([os.path.join(BIN, 'freezer-scheduler'), '--config-file', conf, 'start'], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    proc.jobs_dir = os.path.join(workdir, name, 'jobs')
    proc.log = os.path.join(workdir, name, 'log')
    return proc


def saved(proc):
    return len(os.listdir(proc.jobs_dir))


def logged(proc, text):
    try:
        with open(proc.log, errors='replace') as handle:
            return handle.read().count(text)
    except OSError:
        return 0


MILESTONES = {
    'started': lambda p, n: logged(p, 'Polling for jobs from API') >= 1,  # start-up done, first poll begins
    'fetched': lambda p, n: saved(p) >= n,  # every job listed and saved to jobs_dir
    'armed': lambda p, n: logged(p, 'scheduler job with parameters') >= n,  # every job scheduled
}


def watch(central, n, others, timeout):
    """Seconds from now until each milestone of `central` (and until every one of `others` saved its job).

    None for a milestone not reached within `timeout` (bounded); raises if a scheduler exits."""
    began, got = time.monotonic(), {}
    wanted = list(MILESTONES) + (['others_fetched'] if others else [])
    while time.monotonic() - began < timeout and len(got) < len(wanted):
        dead = [p.pid for p in [central] + others if p.poll() is not None]
        if dead:
            raise RuntimeError('schedulers exited: %s (logs in %s)' % (dead, os.path.dirname(central.log)))
        for name, check in MILESTONES.items():
            if name not in got and check(central, n):
                got[name] = time.monotonic() - began
        if others and 'others_fetched' not in got and all(saved(p) >= 1 for p in others):
            got['others_fetched'] = time.monotonic() - began
        time.sleep(0.5)
    return {name: got.get(name) for name in wanted}


def wait_saved(procs, timeout):
    """Seconds until every proc saved its job, or None after `timeout` (bounded)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        dead = [p.pid for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError('schedulers exited: %s' % dead)
        if all(saved(p) >= 1 for p in procs):
            return time.monotonic() - began
        time.sleep(0.5)
    return None


def probe_poll(svc, central_id, repeat=3):
    """One central poll as freezer-scheduler makes it (limit=10 pages until a short one): pages, median s."""
    url = '%s/v2/%s/jobs' % (FREEZER, svc.current_project_id)
    search = dict(SEARCH, match=[{'client_id': central_id}])
    times, pages = [], 0
    for _ in range(repeat):
        began, offset, pages = time.monotonic(), 0, 0
        while True:
            r = svc.session.get('%s?limit=10&offset=%d' % (url, offset), data=json.dumps(search),
                                headers={'Content-Type': 'application/json'}, timeout=300)
            got = len(r.json()['jobs'])
            pages, offset = pages + 1, offset + got
            if got < 10:
                break
        times.append(time.monotonic() - began)
    total = len(svc.session.get('%s?limit=10000' % url, timeout=300).json()['jobs'])
    return dict(poll_pages=pages, poll_s=statistics.median(times), jobs_in_api=total)


def page_cost(counts, repeat=5):
    """Median seconds of ONE central-scheduler page (its search, 0 matches) with J other jobs in freezer-api.

    freezer-api 19.0 answers a search by loading every job of every project (and each job's actions) and filtering
    in Python: the cost of a page grows with all jobs, not with the scheduler's own."""
    svc = openstack.connect(load_yaml_config=False, load_envvars=False, region_name='RegionOne', auth=dict(
        svc_auth(), user_domain_name='Default', project_domain_name='Default'))
    demo = yaml_conn('localcloud-demo')
    tag, created, rows = uuid.uuid4().hex[:6], 0, []
    url = '%s/v2/%s/jobs?limit=10&offset=0' % (FREEZER, svc.current_project_id)
    nobody = 'bench-nobody-%s' % tag
    search = json.dumps(dict(SEARCH, match=[{'client_id': nobody}]))
    try:
        post(demo, '/clients', dict(client_id=nobody, hostname=HOST))
        for count in sorted(counts):
            while created < count:  # jobs of a client nobody runs: never touched by a scheduler
                post(demo, '/jobs', job_doc(nobody, 'bench-j-%d' % created))
                created += 1
            times = []
            for _ in range(repeat):
                began = time.monotonic()
                svc.session.get(url, data=search, headers={'Content-Type': 'application/json'}, timeout=300)
                times.append(time.monotonic() - began)
            jobs = len(svc.session.get('%s/v2/%s/jobs?limit=100000' % (FREEZER, svc.current_project_id),
                                       timeout=300).json()['jobs'])
            rows.append(dict(bench_jobs=count, jobs_in_api=jobs, page_s=statistics.median(times)))
            print('page of a central poll with %d jobs in freezer-api: %.3f s' % (jobs, rows[-1]['page_s']), flush=True)
    finally:
        held = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGHUP)}
        listing = svc.session.get('%s/v2/%s/jobs?limit=100000' % (FREEZER, svc.current_project_id), timeout=300)
        for job in listing.json()['jobs']:
            if job.get('client_id') == nobody:
                delete_job(svc.session, job)
        delete_client(demo, demo.current_project_id, nobody)
        for sig, handler in held.items():
            signal.signal(sig, handler)
    return rows


def post(conn, path, body):
    r = conn.session.post('%s/v2/%s%s' % (FREEZER, conn.current_project_id, path), json=body, raise_exc=False,
                          timeout=120)
    assert r.status_code == 201, '%s: HTTP %d %s' % (path, r.status_code, r.text)
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
    deadline = time.monotonic() + 20
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    del procs[:]


def delete_client(conn, project_id, client_id):
    url = '%s/v2/%s/clients/%s' % (FREEZER, project_id, client_id)
    for _ in range(5):  # freezer-api deletes one (client_id, hostname) row per call
        if conn.session.get(url, raise_exc=False, timeout=60).status_code == 404:
            return
        conn.session.delete(url, raise_exc=False, timeout=60)


def delete_job(session, job):
    url = '%s/v2/%s' % (FREEZER, job['project_id'])
    session.delete('%s/jobs/%s' % (url, job['job_id']), raise_exc=False, timeout=60)  # freezer-api deletes its trust
    for entry in job.get('job_actions') or []:
        session.delete('%s/actions/%s' % (url, entry['action_id']), raise_exc=False, timeout=60)


def cleanup(admin, svc, demo_user, projects, tag, central_id):
    """Removes everything named with this run's tag, also what a signal interrupted before it was recorded."""
    prefix = 'bench-%s-' % tag
    listing = svc.session.get('%s/v2/%s/jobs?limit=100000' % (FREEZER, svc.current_project_id), timeout=300)
    for job in listing.json()['jobs']:  # the service user sees every project's jobs
        if job.get('client_id') == central_id or str(job.get('client_id')).startswith(prefix):
            delete_job(svc.session, job)
    ours = {project.id: project for project in projects}
    ours.update((project.id, project) for project in admin.identity.projects(domain_id='default')
                if project.name.startswith(prefix))
    for trust in admin.identity.trusts(trustor_user_id=demo_user.id):  # safety net: none should be left
        if trust.project_id in ours:
            admin.identity.delete_trust(trust, ignore_missing=True)
    for project in ours.values():
        try:
            conn = yaml_conn('localcloud-demo', project_name=project.name)
            delete_client(conn, project.id, 'bench-%s-p%s' % (tag, project.name[len(prefix):]))
        except openstack.exceptions.SDKException:
            pass  # interrupted before the demo user had a role there: no client either
        finally:
            admin.identity.delete_project(project, ignore_missing=True)
    delete_client(svc, svc.current_project_id, central_id)


def measure(n, args):
    tag = uuid.uuid4().hex[:6]
    admin = yaml_conn('localcloud-admin')
    demo_user = admin.identity.find_user('demo', domain_id='default')
    member = admin.identity.find_role('member')
    svc = openstack.connect(load_yaml_config=False, load_envvars=False, region_name='RegionOne', auth=dict(
        svc_auth(), user_domain_name='Default', project_domain_name='Default'))
    demo_pw = yaml_conn('localcloud-demo').config.auth['password']
    central_id = 'bench-central-%s' % tag
    projects, procs = [], []
    workdir = tempfile.mkdtemp(prefix='dp-bench-sched-')
    api_pid = freezer_api_pid()
    row = {'projects': n, 'batch': args.batch, 'interval_s': args.interval, 'window_s': args.window,
           'load_before': os.getloadavg()[0], 'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}
    try:
        began = time.monotonic()
        post(svc, '/clients', dict(client_id=central_id, hostname=HOST, is_central=True,
                                   supported_actions=['backup', 'restore', 'admin'], supported_modes=['cindernative']))
        for i in range(n):
            project = admin.identity.create_project(name='bench-%s-%d' % (tag, i), domain_id='default')
            projects.append(project)
            admin.identity.assign_project_role_to_user(project, demo_user, member)
        for i, project in enumerate(projects):
            conn = yaml_conn('localcloud-demo', project_name=project.name)
            post(conn, '/jobs', job_doc(central_id, 'bench-c-%d' % i))
            local_id = 'bench-%s-p%d' % (tag, i)
            post(conn, '/clients', dict(client_id=local_id, hostname=HOST))
            post(conn, '/jobs', job_doc(local_id, 'bench-p-%d' % i))
        row['setup_s'] = time.monotonic() - began
        row.update(probe_poll(svc, central_id))

        def per_project(i, name='p%d'):
            return start(workdir, name % i, 'bench-%s-p%d' % (tag, i),
                         dict(auth_url='http://127.0.0.1:5000/v3', username='demo', password=demo_pw,
                              project_name=projects[i].name), False, args.interval)

        central = start(workdir, 'central', central_id, svc_auth(), True, args.interval)
        procs.append(central)
        row['alone'] = watch(central, n, [], args.timeout)
        row['central_rss_mb_alone'] = rss_kb(central.pid) / 1024.0
        row['central_cpu_s_to_arm'] = cpu_s(central.pid)
        batch_times = []
        for first in range(0, n, args.batch):
            batch = [per_project(i) for i in range(first, min(n, first + args.batch))]
            procs.extend(batch)
            batch_times.append(wait_saved(batch, args.timeout))
        row['batch_fetch_s'] = batch_times
        cpu0 = {p.pid: cpu_s(p.pid) for p in procs}
        api0 = cpu_s(api_pid, children=True) if api_pid else 0.0
        time.sleep(args.window)
        cpu1 = {p.pid: cpu_s(p.pid) for p in procs}
        row['freezer_api_cpu_pct'] = 100.0 * ((cpu_s(api_pid, children=True) if api_pid else 0.0) - api0) / args.window
        row['central_cpu_pct'] = 100.0 * (cpu1[central.pid] - cpu0[central.pid]) / args.window
        row['per_project_cpu_pct'] = 100.0 * sum(cpu1[p.pid] - cpu0[p.pid] for p in procs[1:]) / args.window
        row['central_rss_mb'] = rss_kb(central.pid) / 1024.0
        row['per_project_rss_mb'] = sum(rss_kb(p.pid) for p in procs[1:]) / 1024.0
        row['central_jobs_saved'] = saved(central)
        row['ratio_rss'] = row['central_rss_mb'] / row['per_project_rss_mb']
        row['ratio_cpu'] = row['central_cpu_pct'] / row['per_project_cpu_pct'] if row['per_project_cpu_pct'] else None
        stop(procs)
        if n in args.together:
            # the old measurement: all N+1 at once; a fresh jobs_dir and log for the central one
            procs.append(start(workdir, 'together', central_id, svc_auth(), True, args.interval))
            procs.extend(per_project(i, 't%d') for i in range(n))
            row['together'] = watch(procs[0], n, procs[1:], args.timeout)
            row['together_central_cpu_s_to_arm'] = cpu_s(procs[0].pid)
            stop(procs)
        row['load_after'] = os.getloadavg()[0]
        return row
    finally:
        held = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGHUP)}  # finish cleaning
        try:
            stop(procs)
            cleanup(admin, svc, demo_user, projects, tag, central_id)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            for sig, handler in held.items():
                signal.signal(sig, handler)


def fmt(value, spec='%.1f'):
    return 'timeout' if value is None else spec % value


def report(row):
    alone = row['alone']
    text = ('N=%d: one central poll %d pages, %.2f s (%d jobs in freezer-api); central alone: first poll %s s, '
            'holds all %s s, armed all %s s (%.1f CPU s); RSS central %.0f MB vs %.0f MB for N per-project '
            '(ratio %.3f); CPU central %.1f%% vs per-project %.1f%%, freezer-api %.1f%%; slowest batch %s s' % (
                row['projects'], row['poll_pages'], row['poll_s'], row['jobs_in_api'], fmt(alone['started']),
                fmt(alone['fetched']), fmt(alone['armed']), row['central_cpu_s_to_arm'], row['central_rss_mb'],
                row['per_project_rss_mb'], row['ratio_rss'], row['central_cpu_pct'], row['per_project_cpu_pct'],
                row['freezer_api_cpu_pct'],
                fmt(max(row['batch_fetch_s'], key=lambda v: float('inf') if v is None else v))))
    if 'together' in row:
        t = row['together']
        text += ('; all started together: central first poll %s s, holds all %s s, armed all %s s, every '
                 'per-project scheduler holds its job %s s' % (fmt(t['started']), fmt(t['fetched']),
                                                                fmt(t['armed']), fmt(t['others_fetched'])))
    return text


def _interrupted(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)  # runs every finally: processes, jobs, projects removed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('sizes', nargs='*', type=int, default=[10, 50, 100])
    parser.add_argument('--batch', type=int, default=10, help='per-project schedulers started together')
    parser.add_argument('--interval', type=int, default=10, help='every scheduler\'s polling interval, seconds')
    parser.add_argument('--window', type=int, default=30, help='seconds of the CPU sample')
    parser.add_argument('--timeout', type=int, default=300, help='bound of every wait, seconds')
    parser.add_argument('--together', type=int, action='append', default=[],
                        help='also start all N+1 at once for this N (repeatable)')
    parser.add_argument('--page-cost', default='',
                        help='only time one poll page with these numbers of extra jobs in freezer-api, e.g. 0,100,200')
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGHUP, _interrupted)
    try:
        with open(RESULTS) as handle:
            results = json.load(handle)
    except (OSError, ValueError):
        results = {}
    if not isinstance(results, dict):
        results = {}
    if args.page_cost:
        results['page_cost'] = page_cost([int(c) for c in args.page_cost.split(',')])
        rows = []
    else:
        rows = []
        for n in args.sizes:
            row = measure(n, args)
            rows.append(row)
            print(report(row), flush=True)
        kept = [r for r in results.get('runs', []) if r.get('projects') not in args.sizes]
        results['runs'] = sorted(kept + rows, key=lambda r: r['projects'])
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, 'w') as handle:
        json.dump(results, handle, indent=1, sort_keys=True)
        handle.write('\n')
    failed = [row['projects'] for row in rows if row['central_jobs_saved'] != row['projects']
              or None in row['alone'].values() or None in row['batch_fetch_s']]
    assert not failed, 'the central scheduler did not serve every project at N=%s' % failed


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt as exc:
        raise SystemExit('interrupted (%s); everything this run created was removed' % (exc or 'Ctrl-C'))

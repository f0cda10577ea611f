#!/usr/bin/env python3
"""RSS of one central freezer-scheduler serving N projects vs N per-project schedulers (real processes).

Creates N projects (admin), gives the demo user `member` in each and creates one scheduled job per project
(daily interval: scheduled, not run during the measurement). Then starts
  * one scheduler in service mode (freezer-api's service user, fixed central client_id), and
  * N schedulers in normal mode, one per project (demo user scoped to it),
from .localcloud/venv/bin/freezer-scheduler, lets them poll, and sums their RSS (agents excluded: none run).
Everything created is removed at the end. Run from the repo root with the local cloud up:
  .venv/bin/python benchmarks/central_scheduler_rss.py [N]
"""
import configparser
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import openstack

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LC = os.path.join(ROOT, '.localcloud')
BIN = os.path.join(LC, 'venv', 'bin')
FREEZER = 'http://127.0.0.1:9090'
N = int(sys.argv[1]) if len(sys.argv) > 1 else 10
SETTLE = 20  # seconds: several polls at interval 2


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
                        auth['username'], auth['password'], auth['project_name']))
    env = dict(PATH=BIN + ':/usr/bin:/bin', HOME=os.path.join(workdir, name), TMPDIR=os.path.join(workdir, name))
    return subprocess.Popen([os.path.join(BIN, 'freezer-scheduler'), '--config-file', conf, 'start'], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def post(conn, path, body):
    r = conn.session.post('%s/v2/%s%s' % (FREEZER, conn.current_project_id, path), json=body, raise_exc=False)
    assert r.status_code in (201, 409), r.text
    return r.json() if r.content else {}


def job_doc(client_id, name):
    return dict(client_id=client_id, description=name, job_schedule=dict(schedule_interval='1 days'),
                job_actions=[dict(freezer_action=dict(action='backup', mode='cindernative', backup_name=name,
                                                      cindernative_vol_id=str(uuid.uuid4())))])


def main():
    tag = uuid.uuid4().hex[:6]
    admin = yaml_conn('localcloud-admin')
    demo_user = admin.identity.find_user('demo', domain_id='default')
    member = admin.identity.find_role('member')
    svc = openstack.connect(load_yaml_config=False, load_envvars=False, region_name='RegionOne', auth=dict(
        svc_auth(), user_domain_name='Default', project_domain_name='Default'))
    central_id = 'bench-central-%s' % tag
    projects, procs, jobs = [], [], []
    workdir = tempfile.mkdtemp(prefix='dp-bench-sched-')
    demo_pw = yaml_conn('localcloud-demo').config.auth['password']
    try:
        post(svc, '/clients', dict(client_id=central_id, hostname='bench', is_central=True,
                                   supported_actions=['backup', 'restore', 'admin'], supported_modes=['cindernative']))
        for i in range(N):
            project = admin.identity.create_project(name='bench-%s-%d' % (tag, i), domain_id='default')
            admin.identity.assign_project_role_to_user(project, demo_user, member)
            projects.append(project)
        for i, project in enumerate(projects):
            conn = yaml_conn('localcloud-demo', project_name=project.name)
            jobs.append((conn, post(conn, '/jobs', job_doc(central_id, 'bench-c-%d' % i))['job_id']))
            local_id = 'bench-%s-p%d' % (tag, i)
            post(conn, '/clients', dict(client_id=local_id, hostname='bench'))
            jobs.append((conn, post(conn, '/jobs', job_doc(local_id, 'bench-p-%d' % i))['job_id']))
        central = start(workdir, 'central', central_id, svc_auth(), True)
        per_project = [start(workdir, 'p%d' % i, 'bench-%s-p%d' % (tag, i),
                             dict(auth_url='http://127.0.0.1:5000/v3', username='demo', password=demo_pw,
                                  project_name=p.name), False) for i, p in enumerate(projects)]
        procs = [central] + per_project
        time.sleep(SETTLE)
        dead = [p.pid for p in procs if p.poll() is not None]
        assert not dead, 'schedulers exited: %s (logs in %s)' % (dead, workdir)
        central_jobs = len(os.listdir(os.path.join(workdir, 'central', 'jobs')))
        one = rss_kb(central.pid)
        many = sum(rss_kb(p.pid) for p in per_project)
        print('N=%d projects; central scheduler saved %d jobs to its jobs_dir' % (N, central_jobs))
        print('one central scheduler:        %7.1f MB' % (one / 1024.0))
        print('%2d per-project schedulers:    %7.1f MB (%.1f MB each)' % (N, many / 1024.0, many / 1024.0 / N))
        print('ratio central / per-project:  %.3f (target <= 0.2)' % (one / float(many)))
        print('extrapolated N=100: central ~%.0f MB vs ~%.0f MB' % (one / 1024.0, many / 1024.0 / N * 100))
        assert central_jobs == N, 'the central scheduler should serve one job per project'
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
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


if __name__ == '__main__':
    main()

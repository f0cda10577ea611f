"""freezer_job through real ansible-playbook runs against the real local freezer-api, Cinder (backup) and a real
freezer-scheduler + freezer-agent started here (non-central, project demo, a fixed client_id)."""
import contextlib
import os
import signal
import subprocess
import tempfile
import time
import uuid

import pytest
import yaml

from conftest import get_or_none, no_traceback, wait_status
from playbook_runner import ROOT, run_module

MODULE = 'dataprotection.openstack.freezer_job'
LC_BIN = os.path.join(ROOT, '.localcloud', 'venv', 'bin')
FREEZER_ENDPOINT = 'http://127.0.0.1:9090'


def job(cloud_env, check=False, diff=False, **args):
    args.setdefault('cloud', 'localcloud-demo')
    args.setdefault('timeout', 90)
    args.setdefault('poll_interval', 1)
    return run_module(MODULE, args, check=check, diff=diff, env=cloud_env)


class Freezer:
    """Plain REST reads of freezer-api as the demo user (what the test asserts on)."""

    def __init__(self, conn):
        self.conn = conn
        self.base = '%s/v2/%s' % (FREEZER_ENDPOINT, conn.current_project_id)

    def get(self, path, **params):
        response = self.conn.session.get(self.base + path, params=params, raise_exc=False)
        return response.status_code, (response.json() if response.content else {})

    def jobs(self):
        return self.get('/jobs', limit=1000)[1]['jobs']

    def jobs_of(self, backup_name):
        return [j for j in self.jobs()
                if any((a.get('freezer_action') or {}).get('backup_name') == backup_name for a in j['job_actions'])]

    def action_exists(self, action_id):
        return self.get('/actions/' + action_id)[0] == 200

    def backups_of(self, backup_name):
        return [b for b in self.get('/backups', limit=1000)[1]['backups']
                if (b.get('backup_metadata') or {}).get('backup_name') == backup_name]

    def register_client(self, client_id):
        response = self.conn.session.post(self.base + '/clients', json={'client_id': client_id, 'hostname': client_id},
                                          raise_exc=False)
        assert response.status_code in (201, 409), response.text

    def delete_client(self, client_id):
        self.conn.session.delete(self.base + '/clients/' + client_id, raise_exc=False)

    def delete_job_and_actions(self, job_doc):
        self.conn.session.delete(self.base + '/jobs/' + job_doc['job_id'], raise_exc=False)
        for action in job_doc['job_actions']:
            self.conn.session.delete(self.base + '/actions/' + action['action_id'], raise_exc=False)


@pytest.fixture(scope='module')
def freezer(localcloud, lc_demo):
    return Freezer(lc_demo)


@contextlib.contextmanager
def private_scheduler(clouds_yaml, freezer, project_name='demo', prefix='it-freezer'):
    """A real freezer-scheduler (non-central, the demo user in ``project_name``) polling every second; stopped and
    unregistered at the end. Yields {client_id, log}."""
    with open(clouds_yaml) as handle:
        auth = yaml.safe_load(handle)['clouds']['localcloud-demo']['auth']
    client_id = '%s-%s' % (prefix, uuid.uuid4().hex[:8])
    workdir = tempfile.mkdtemp(prefix='dp-freezer-sched-')
    conf = os.path.join(workdir, 'scheduler.conf')
    with open(conf, 'w') as handle:
        handle.write('[DEFAULT]\nlog_file = %s\n\n[scheduler]\nclient_id = %s\njobs_dir = %s\ninterval = 1\n'
                     'no_daemon = true\n' % (os.path.join(workdir, 'scheduler.log'), client_id,
                                             os.path.join(workdir, 'jobs')))
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('OS_'))
    env.update(PATH=LC_BIN + os.pathsep + env.get('PATH', ''), HOME=workdir, OS_AUTH_URL=auth['auth_url'],
               OS_USERNAME=auth['username'], OS_PASSWORD=auth['password'], OS_PROJECT_NAME=project_name,
               OS_USER_DOMAIN_NAME='Default', OS_PROJECT_DOMAIN_NAME='Default', OS_REGION_NAME='RegionOne',
               OS_IDENTITY_API_VERSION='3')
    proc = subprocess.Popen([os.path.join(LC_BIN, 'freezer-scheduler'), '--config-file', conf, 'start'],
                            cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while freezer.get('/clients/' + client_id)[0] != 200:
            assert proc.poll() is None, 'freezer-scheduler exited (rc=%s), see %s' % (proc.returncode, workdir)
            assert time.monotonic() < deadline, 'freezer-scheduler did not register %s' % client_id
            time.sleep(0.5)
        yield dict(client_id=client_id, log=os.path.join(workdir, 'scheduler.log'))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        freezer.delete_client(client_id)


@pytest.fixture(scope='module')
def scheduler(localcloud, clouds_yaml, freezer):
    """The demo project's private scheduler for this module's tests."""
    with private_scheduler(clouds_yaml, freezer) as running:
        yield running


@pytest.fixture
def volumes(admin_conn, demo_conn, freezer):
    """Volumes in AZ nova (where cinder-backup runs); at teardown their backups, jobs and records go too."""
    made, names = [], []

    def make(name, metadata=None, **kwargs):
        volume = demo_conn.block_storage.create_volume(name=name, size=1, availability_zone='nova',
                                                       metadata=metadata or {}, **kwargs)
        volume = wait_status(lambda: get_or_none(demo_conn.block_storage.get_volume, volume.id), {'available', 'error'})
        assert volume.status == 'available'
        made.append(volume.id)
        names.append(name)
        return volume

    yield make
    bs = admin_conn.block_storage
    for name in names:
        for job_doc in freezer.jobs_of(name):
            freezer.delete_job_and_actions(job_doc)
        for record in freezer.backups_of(name):
            freezer.conn.session.delete(freezer.base + '/backups/' + record['backup_id'], raise_exc=False)
    for volume_id in made:
        volume = get_or_none(bs.get_volume, volume_id)
        if volume is not None and volume.attachments:
            for attachment in volume.attachments:
                bs.detach_volume(volume, attachment['attachment_id'])
        for backup in bs.backups(details=True, all_projects=True, volume_id=volume_id):
            if backup.status not in ('available', 'error'):
                bs.reset_backup_status(backup, 'error')  # pragma: no cover - only after a broken run
            bs.delete_backup(backup.id, ignore_missing=True)
            wait_status(lambda b=backup: get_or_none(bs.get_backup, b.id), {'gone'})
        volume = get_or_none(bs.get_volume, volume_id)
        if volume is not None and volume.status not in ('available', 'error'):
            bs.reset_volume_status(volume, status='available', attach_status='detached', migration_status=None)
        bs.delete_volume(volume_id, ignore_missing=True)


def volume_path(volume_id):
    return os.path.join(ROOT, '.localcloud', 'cinder', 'volumes', 'volume-%s' % volume_id)


def write_marker(volume_id, data):
    with open(volume_path(volume_id), 'r+b') as handle:
        handle.write(data)


def read_marker(volume_id, size):
    with open(volume_path(volume_id), 'rb') as handle:
        return handle.read(size)


def backups_named(conn, volume_id, name):
    return [b for b in conn.block_storage.backups(details=True, volume_id=volume_id) if b.name == name]


def assert_no_job_left(freezer, name):
    assert freezer.jobs_of(name) == []


# -- managed job ---------------------------------------------------------------
def test_managed_job_idempotent_update_events_absent(cloud_env, freezer, scheduler, volumes, unique):
    volume = volumes(unique)
    args = dict(resource_id=unique, backup_name=unique, client_id=scheduler['client_id'],
                schedule={'interval': '1 days'}, remove_older_than=7)
    check = job(cloud_env, check=True, diff=True, **args)
    assert check.changed is True and not check.failed, check
    assert freezer.jobs_of(unique) == []
    assert check['diff']['before'] == {} and check['job']['job_schedule'] == {'schedule_interval': '1 days'}

    first = job(cloud_env, diff=True, **args)
    assert first.changed is True and not first.failed, first
    [stored] = freezer.jobs_of(unique)
    assert stored['job_id'] == first['job']['job_id'] and stored['client_id'] == scheduler['client_id']
    assert stored['job_schedule']['schedule_interval'] == '1 days'
    actions = [a['freezer_action'] for a in stored['job_actions']]
    assert [(a['action'], a['mode'], a['cindernative_vol_id']) for a in actions] == [
        ('backup', 'cindernative', volume.id), ('admin', 'cindernative', volume.id)]
    assert actions[1]['remove_older_than'] == 7
    assert stored['description'] == '%s (volume %s)' % (unique, volume.id)

    again = job(cloud_env, **args)
    assert again.changed is False and again['updated'] == [] and again['job']['job_id'] == stored['job_id'], again
    assert job(cloud_env, check=True, **args).changed is False

    changed_args = {**args, 'schedule': {'cron': '0 2 * * *'}}
    check_update = job(cloud_env, check=True, **changed_args)
    assert check_update.changed is True and check_update['updated'] == ['job_schedule']
    assert freezer.jobs_of(unique)[0]['job_schedule'].get('schedule_interval') == '1 days'
    updated = job(cloud_env, diff=True, **changed_args)
    assert updated.changed is True and updated['updated'] == ['job_schedule'], updated
    [stored2] = freezer.jobs_of(unique)
    assert stored2['job_id'] == stored['job_id']
    assert 'schedule_interval' not in stored2['job_schedule']
    assert (stored2['job_schedule']['schedule_minute'], stored2['job_schedule']['schedule_hour']) == ('0', '2')
    assert job(cloud_env, **changed_args).changed is False

    # retention changed -> actions replaced; the old actions are deleted, not orphaned
    old_action_ids = [a['action_id'] for a in stored2['job_actions']]
    rot_args = dict((k, v) for k, v in changed_args.items() if k != 'remove_older_than')
    rot_args['fullbackup_rotation'] = 3
    rotated = job(cloud_env, **rot_args)
    assert rotated.changed is True and rotated['updated'] == ['job_actions'], rotated
    [stored3] = freezer.jobs_of(unique)
    assert stored3['job_actions'][1]['freezer_action']['fullbackup_rotation'] == 3
    assert not any(freezer.action_exists(a) for a in old_action_ids)

    # started / stopped through job events, seen by the real scheduler
    started = job(cloud_env, state='started', **rot_args)
    assert started.changed is True and started['events'] == ['start'], started
    deadline = time.monotonic() + 30
    while freezer.jobs_of(unique)[0]['job_schedule'].get('status') != 'scheduled':
        assert time.monotonic() < deadline, freezer.jobs_of(unique)[0]['job_schedule']
        time.sleep(0.5)
    again_started = job(cloud_env, state='started', **rot_args)
    assert again_started.changed is False, again_started
    assert job(cloud_env, check=True, state='stopped', **rot_args).changed is True
    stopped = job(cloud_env, state='stopped', **rot_args)
    assert stopped.changed is True and stopped['events'] == ['stop'], stopped
    deadline = time.monotonic() + 30
    while freezer.jobs_of(unique)[0]['job_schedule'].get('status') in ('scheduled', 'running'):
        assert time.monotonic() < deadline, freezer.jobs_of(unique)[0]['job_schedule']
        time.sleep(0.5)

    action_ids = [a['action_id'] for a in freezer.jobs_of(unique)[0]['job_actions']]
    check_absent = job(cloud_env, check=True, state='absent', resource_id=unique, backup_name=unique)
    assert check_absent.changed is True and len(freezer.jobs_of(unique)) == 1
    absent = job(cloud_env, state='absent', resource_id=unique, backup_name=unique)
    assert absent.changed is True and absent['removed'] == [stored['job_id']], absent
    assert_no_job_left(freezer, unique)
    assert not any(freezer.action_exists(a) for a in action_ids)
    assert job(cloud_env, state='absent', resource_id=unique, backup_name=unique).changed is False


def test_job_document_redacts_secrets(cloud_env, freezer, scheduler, volumes, unique):
    volumes(unique)
    created = job(cloud_env, resource_id=unique, backup_name=unique, client_id=scheduler['client_id'],
                  volume_mode='cinder', storage='ssh', extra_action_options={'ssh_host': '127.0.0.1',
                                                                             'ssh_password': 'hunter2-secret'})
    assert created.changed is True and not created.failed, created
    assert 'hunter2-secret' not in created.stdout and 'hunter2-secret' not in str(created.result)
    action = created['job']['job_actions'][0]['freezer_action']
    assert action['ssh_password'] == '********' and action['mode'] == 'cinder' and action['storage'] == 'ssh'
    [stored] = freezer.jobs_of(unique)
    assert stored['job_actions'][0]['freezer_action']['ssh_password'] == 'hunter2-secret'
    assert job(cloud_env, state='absent', resource_id=unique, backup_name=unique).changed is True


# -- one-shot operations -----------------------------------------------------------
def test_backup_restore_admin_volume(cloud_env, demo_conn, freezer, scheduler, volumes, unique):
    volume = volumes(unique)
    marker = ('dataprotection %s' % unique).encode()
    write_marker(volume.id, marker)
    base = dict(resource_id=unique, backup_name=unique, client_id=scheduler['client_id'])

    check = job(cloud_env, check=True, operation='backup', **base)
    assert check.changed is True and backups_named(demo_conn, volume.id, unique) == []
    assert_no_job_left(freezer, unique)

    backup = job(cloud_env, operation='backup', **base)
    assert backup.changed is True and not backup.failed, backup
    [cinder_backup] = backups_named(demo_conn, volume.id, unique)
    assert cinder_backup.status == 'available' and cinder_backup.metadata.get('created_by') == 'freezer'
    assert [b['id'] for b in backup['cinder_backups']] == [cinder_backup.id]
    assert backup['job']['job_schedule']['result'] == 'success'
    assert [r['status'] for r in backup['backups']] == ['available']
    assert backup['backups'][0]['backup_id'] == cinder_backup.metadata['freezer_backup_id']
    assert_no_job_left(freezer, unique)
    assert not any(freezer.action_exists(a['action_id']) for a in backup['job']['job_actions'])

    write_marker(volume.id, b'X' * len(marker))
    assert read_marker(volume.id, len(marker)) != marker
    restore = job(cloud_env, operation='restore', restore_name=unique + '-restore', **base)
    assert restore.changed is True and not restore.failed, restore
    assert restore['job']['job_actions'][0]['freezer_action']['cindernative_backup_id'] == cinder_backup.id
    assert restore['restored'][0]['id'] == volume.id and restore['restored'][0]['status'] == 'available'
    assert read_marker(volume.id, len(marker)) == marker
    assert demo_conn.block_storage.get_volume(volume.id).status == 'available'
    assert_no_job_left(freezer, unique)

    admin = job(cloud_env, operation='admin', **base)
    assert admin.changed is True and not admin.failed, admin
    assert admin['deleted_backups'] == [cinder_backup.id]
    assert backups_named(demo_conn, volume.id, unique) == []
    assert freezer.backups_of(unique) == []
    assert_no_job_left(freezer, unique)


def test_server_volume_booted_and_project(cloud_env, os_conn_factory, demo_conn, freezer, scheduler, volumes, unique):
    """A real (fake-driver) Nova server booted from a Cinder volume: its backup is its system volume's."""
    boot = volumes(unique + '-boot')
    data = volumes(unique + '-data')
    bs = demo_conn.block_storage
    bs.set_volume_bootable_status(boot, True)
    nova = os_conn_factory('localcloud-demo', compute_api_version='2.90')
    flavor = nova.compute.find_flavor('dp.tiny', ignore_missing=False)
    server = nova.compute.create_server(name=unique + '-srv', flavor_id=flavor.id, networks='none',
                                        block_device_mapping=[{'boot_index': 0, 'uuid': boot.id,
                                                               'source_type': 'volume', 'destination_type': 'volume',
                                                               'delete_on_termination': False}])
    try:
        server = wait_status(lambda: get_or_none(nova.compute.get_server, server.id), {'ACTIVE', 'ERROR'}, timeout=180)
        assert server.status == 'ACTIVE', server.fault
        wait_status(lambda: bs.get_volume(boot.id), {'in-use'})

        backup = job(cloud_env, operation='backup', resource_type='server', resource_id=server.id,
                     backup_name=unique, client_id=scheduler['client_id'])
        assert backup.changed is True and not backup.failed, backup
        assert backup['resource']['boot'] == 'volume' and backup['resource']['boot_volume']['id'] == boot.id
        [action] = [a['freezer_action'] for a in backup['job']['job_actions']]
        assert (action['mode'], action['cindernative_vol_id']) == ('cindernative', boot.id)
        assert [b.status for b in backups_named(demo_conn, boot.id, unique)] == ['available']
        assert_no_job_left(freezer, unique)

        # project: a managed job (check mode) with one action per volume; the boot volume appears once
        project = job(cloud_env, check=True, resource_type='project', backup_name=unique + '-p',
                      client_id=scheduler['client_id'])
        assert project.changed is True and not project.failed, project
        vol_actions = [a['freezer_action'].get('cindernative_vol_id') for a in project['job']['job_actions']]
        assert boot.id in vol_actions and data.id in vol_actions
        assert len([v for v in vol_actions if v]) == len({v for v in vol_actions if v})
        assert project['resource']['compute'] is True
        assert freezer.jobs_of(unique + '-p') == []
    finally:
        nova.compute.delete_server(server.id, ignore_missing=True)
        wait_status(lambda: get_or_none(nova.compute.get_server, server.id), {'gone'}, timeout=180)
        wait_status(lambda: bs.get_volume(boot.id), {'available'})


def test_image_and_network_are_not_backed_up_alone(cloud_env, freezer, scheduler):
    for kind in ('image', 'network'):
        result = job(cloud_env, operation='backup', resource_type=kind, resource_id=str(uuid.uuid4()),
                     backup_name='never', client_id=scheduler['client_id'])
        assert result.changed is False and not result.failed and 'not backed up on their own' in result['msg'], result
    assert freezer.jobs_of('never') == []


def test_no_scheduler_times_out_and_cleans_up(cloud_env, demo_conn, freezer, localcloud, volumes, unique):
    volume = volumes(unique)
    client_id = 'it-nosched-%s' % uuid.uuid4().hex[:8]
    freezer.register_client(client_id)
    try:
        started = time.monotonic()
        result = job(cloud_env, operation='backup', resource_id=unique, backup_name=unique, client_id=client_id,
                     timeout=6)
        assert result.failed, result
        no_traceback(result)
        assert 'no freezer-scheduler picked it up within 6s' in result['msg'] and client_id in result['msg'], result
        assert 'the job and its actions were removed' in result['msg']
        assert time.monotonic() - started < 240  # a hang limit: module start-up alone took 42 s on a loaded CI
        assert_no_job_left(freezer, unique)
        assert not any(freezer.action_exists(a['action_id']) for a in result['job']['job_actions'])
        assert backups_named(demo_conn, volume.id, unique) == []
    finally:
        freezer.delete_client(client_id)


def test_unregistered_client_fails_clearly(cloud_env, freezer, volumes, unique):
    volumes(unique)
    result = job(cloud_env, operation='backup', resource_id=unique, backup_name=unique, client_id='nobody-' + unique)
    assert result.failed and 'freezer client nobody-%s is not registered' % unique in result['msg'], result
    no_traceback(result)
    assert_no_job_left(freezer, unique)


def test_job_fail_result_fails_task(cloud_env, demo_conn, freezer, scheduler, volumes, unique):
    """restore from a Cinder backup in error (fault injection; an unknown id is refused up front by the module):
    the agent fails, the job ends with result fail."""
    volume = volumes(unique, metadata={'localcloud_fail': 'backup'})
    backup = demo_conn.block_storage.create_backup(volume_id=volume.id, name=unique)
    backup = wait_status(lambda: get_or_none(demo_conn.block_storage.get_backup, backup.id), {'available', 'error'})
    assert backup.status == 'error'
    wait_status(lambda: get_or_none(demo_conn.block_storage.get_volume, volume.id), {'available'})
    try:
        result = job(cloud_env, operation='restore', resource_id=unique, backup_name=unique,
                     client_id=scheduler['client_id'], restore_backup_id=backup.id)
        assert result.failed, result
        no_traceback(result)
        assert 'ended with status=completed result=fail' in result['msg'] and scheduler['client_id'] in result['msg']
        assert 'the job and its actions were removed' in result['msg']
        assert_no_job_left(freezer, unique)
        assert demo_conn.block_storage.get_volume(volume.id).status == 'available'
    finally:
        demo_conn.block_storage.delete_backup(backup.id, ignore_missing=True)
        wait_status(lambda: get_or_none(demo_conn.block_storage.get_backup, backup.id), {'gone'})


def test_cinder_backup_error_fails_and_leaves_nothing(cloud_env, demo_conn, freezer, scheduler, volumes, unique):
    """Freezer says success but Cinder's backup fails (fault injection): the task fails, nothing is left."""
    volume = volumes(unique, metadata={'localcloud_fail': 'backup'})
    result = job(cloud_env, operation='backup', resource_id=unique, backup_name=unique,
                 client_id=scheduler['client_id'])
    assert result.failed, result
    no_traceback(result)
    assert 'Cinder backup' in result['msg'] and 'reached status error' in result['msg'], result
    assert 'was removed' in result['msg']
    assert backups_named(demo_conn, volume.id, unique) == []
    assert freezer.backups_of(unique) == []
    assert_no_job_left(freezer, unique)


# -- issue 14: admin of one protection, timeout 0, disaster recovery into a new volume ----------------------------
def volumes_named(conn, name):
    return [v for v in conn.block_storage.volumes(details=True, name=name) if v.name == name]


def test_admin_scope_timeout_0_and_restore_after_the_source_is_gone(cloud_env, admin_conn, demo_conn, freezer,
                                                                    scheduler, volumes, unique):
    volume = volumes(unique)
    marker = ('dataprotection dr %s' % unique).encode()
    write_marker(volume.id, marker)
    keep, drop = unique + '-keep', unique + '-drop'
    base = dict(resource_id=volume.id, client_id=scheduler['client_id'])
    for name in (keep, drop):
        made = job(cloud_env, operation='backup', backup_name=name, **base)
        assert made.changed is True and not made.failed, made
    [kept_backup] = backups_named(demo_conn, volume.id, keep)

    # timeout 0 with a one-shot operation: refused up front, nothing created
    zero = job(cloud_env, operation='backup', backup_name=unique + '-zero', timeout=0, **base)
    assert zero.failed and 'a one-shot operation needs timeout > 0' in zero['msg'], zero
    assert backups_named(demo_conn, volume.id, unique + '-zero') == [] and freezer.jobs_of(unique + '-zero') == []

    # admin with a backup_name removes that protection's backups only (Freezer's agent would remove both)
    check = job(cloud_env, check=True, operation='admin', backup_name=drop, **base)
    assert check.changed is True and len(check['deleted_backups']) == 1, check
    assert len(backups_named(demo_conn, volume.id, drop)) == 1
    admin = job(cloud_env, operation='admin', backup_name=drop, **base)
    assert admin.changed is True and not admin.failed and admin['deleted_backups'] == check['deleted_backups'], admin
    assert backups_named(demo_conn, volume.id, drop) == [] and freezer.backups_of(drop) == []
    assert [b.id for b in backups_named(demo_conn, volume.id, keep)] == [kept_backup.id]
    assert len(freezer.backups_of(keep)) == 1
    assert job(cloud_env, operation='admin', backup_name=drop, **base).changed is False
    assert_no_job_left(freezer, drop)

    # disaster recovery: the source volume is deleted; its backup goes into a NEW volume through Cinder
    demo_conn.block_storage.delete_volume(volume.id)
    wait_status(lambda: get_or_none(demo_conn.block_storage.get_volume, volume.id), {'gone'})
    type_name = unique + '-nowhere'
    nowhere = admin_conn.block_storage.create_type(name=type_name, extra_specs={'volume_backend_name': 'nowhere'})
    new_name = unique + '-dr'
    try:
        existing = job(cloud_env, operation='restore', backup_name=keep, restore_to='existing', **base)
        assert existing.failed and 'restore_to: new' in existing['msg'], existing

        # a restore that fails (no backend serves the type: the new volume goes to error) leaves nothing behind
        failed = job(cloud_env, operation='restore', backup_name=keep, restore_volume_name=new_name + '-fail',
                     restore_volume_type=type_name, **base)
        assert failed.failed and 'was removed' in failed['msg'] and kept_backup.id in failed['msg'], failed
        no_traceback(failed)
        wait_status(lambda: (volumes_named(admin_conn, new_name + '-fail') or [None])[0], {'gone'})
        assert freezer.jobs_of(keep) == []
        assert demo_conn.block_storage.get_backup(kept_backup.id).status == 'available'

        check = job(cloud_env, check=True, operation='restore', backup_name=keep, restore_volume_name=new_name,
                    **base)
        assert check.changed is True and volumes_named(demo_conn, new_name) == [], check
        restored = job(cloud_env, operation='restore', backup_name=keep, restore_volume_name=new_name, **base)
        assert restored.changed is True and not restored.failed, restored
        [new_volume] = volumes_named(demo_conn, new_name)
        assert restored['resource_map'] == {volume.id: new_volume.id}
        assert new_volume.status == 'available' and new_volume.metadata['dataprotection_restored_from'] == \
            kept_backup.id
        assert read_marker(new_volume.id, len(marker)) == marker
        again = job(cloud_env, operation='restore', backup_name=keep, restore_volume_name=new_name, **base)
        assert again.changed is False and again['resource_map'] == {volume.id: new_volume.id}, again
        assert len(volumes_named(demo_conn, new_name)) == 1 and freezer.jobs_of(keep) == []
    finally:
        for leftover in volumes_named(admin_conn, new_name) + volumes_named(admin_conn, new_name + '-fail'):
            admin_conn.block_storage.delete_volume(leftover.id, ignore_missing=True)
            wait_status(lambda v=leftover: get_or_none(admin_conn.block_storage.get_volume, v.id), {'gone', 'error'})
        admin_conn.block_storage.delete_type(nowhere)


# -- issue 14: image-booted servers in Freezer's nova mode (backup to Swift, restore as a NEW server) ---------------
@pytest.fixture
def nova_servers(os_conn_factory, admin_conn, freezer, unique):
    """Boot image-booted servers (fake driver, no network) named ``<unique>...``; at teardown everything the test,
    the agent and the module made for them goes: servers, Glance images, the Swift containers freezer_<unique>*,
    Freezer jobs and records, flavors."""
    conn = os_conn_factory('localcloud-demo', compute_api_version='2.90')
    made = dict(flavors=[])

    def boot(name, image=None, flavor='dp.tiny'):
        if image is None:
            image = conn.image.find_image('dp-tiny', ignore_missing=False)
        server = conn.compute.create_server(name=name, image_id=image.id, networks='none',
                                            flavor_id=conn.compute.find_flavor(flavor, ignore_missing=False).id)
        server = wait_status(lambda: get_or_none(conn.compute.get_server, server.id), {'ACTIVE', 'ERROR'}, timeout=180)
        assert server.status == 'ACTIVE', server.fault
        return server

    def flavor(name, ram):
        made['flavors'].append(admin_conn.compute.create_flavor(name=name, ram=ram, vcpus=1, disk=1))
        return made['flavors'][-1]

    yield dict(conn=conn, boot=boot, flavor=flavor)
    servers = [s for s in conn.compute.servers() if unique in (s.name or '')]
    for server in servers:
        conn.compute.delete_server(server.id, ignore_missing=True)
    for server in servers:
        wait_status(lambda s=server: get_or_none(conn.compute.get_server, s.id), {'gone'}, timeout=180)
    for image in conn.image.images(owner=conn.current_project_id):
        if unique in (image.name or ''):
            conn.image.delete_image(image.id, ignore_missing=True)
    for container in [c.name for c in conn.object_store.containers() if unique in c.name]:
        for obj in conn.object_store.objects(container):
            conn.object_store.delete_object(obj, container=container, ignore_missing=True)
        conn.object_store.delete_container(container, ignore_missing=True)
    for job_doc in freezer.jobs():
        if any(unique in ((a.get('freezer_action') or {}).get('backup_name') or '') for a in job_doc['job_actions']):
            freezer.delete_job_and_actions(job_doc)
    for record in freezer.get('/backups', limit=1000)[1]['backups']:
        if unique in ((record.get('backup_metadata') or {}).get('backup_name') or ''):
            freezer.conn.session.delete(freezer.base + '/backups/' + record['backup_id'], raise_exc=False)
    for made_flavor in made['flavors']:
        admin_conn.compute.delete_flavor(made_flavor.id, ignore_missing=True)


def own_images(conn, text):
    return [i for i in conn.image.images(owner=conn.current_project_id) if text in (i.name or '')]


def servers_named(conn, text):
    return [s for s in conn.compute.servers() if text in (s.name or '')]


def swift_objects(conn, container):
    try:
        return [o.name for o in conn.object_store.objects(container)]
    except Exception as exc:  # pylint: disable=broad-except
        if getattr(exc, 'status_code', None) == 404:
            return None
        raise


def assert_nothing_left_by(conn, freezer, name, server_id):
    """Nova, Glance, Swift and freezer-api after a failed operation of protection ``name`` on ``server_id``."""
    assert freezer.jobs_of(name) == []
    assert own_images(conn, 'freezer_backup_' + server_id) == []


def test_server_image_booted_nova_backup_and_restore_after_image_and_server_deleted(cloud_env, nova_servers, freezer,
                                                                                    scheduler, unique):
    conn = nova_servers['conn']
    data = os.urandom(16384)
    image = conn.image.create_image(name=unique + '-img', data=data, disk_format='raw', container_format='bare')
    server = nova_servers['boot'](unique + '-srv', image=image)
    base = dict(resource_type='server', resource_id=server.id, backup_name=unique, client_id=scheduler['client_id'],
                timeout=180)
    container = 'freezer_' + unique

    check = job(cloud_env, check=True, operation='backup', **base)
    assert check.changed is True and not check.failed, check
    [action] = [a['freezer_action'] for a in check['job']['job_actions']]
    assert (action['mode'], action['engine_name'], action['nova_inst_id']) == ('nova', 'nova', server.id)
    assert freezer.jobs_of(unique) == [] and swift_objects(conn, container) is None

    backup = job(cloud_env, operation='backup', **base)
    assert backup.changed is True and not backup.failed, backup
    print('nova backup one-shot: %.1f s (play %.1f s)' % (backup['elapsed'], backup.seconds))
    assert backup['resource']['boot'] == 'image' and backup['resource']['image_id'] == image.id
    [record] = freezer.backups_of(unique)
    assert record['backup_metadata']['nova_inst_id'] == server.id
    objects = swift_objects(conn, container)
    assert any(o.startswith('data/nova/') and server.id in o for o in objects), objects
    assert freezer.jobs_of(unique) == [] and own_images(conn, 'freezer_backup_' + server.id) == []

    # the server's Glance image is deleted: the backup carries the disk
    conn.image.delete_image(image.id)
    wait_status(lambda: get_or_none(conn.image.get_image, image.id), {'gone', 'deleted'})
    new_name = unique + '-restored'
    restore = dict(base, operation='restore', restore_server_name=new_name)
    check = job(cloud_env, check=True, **restore)
    assert check.changed is True and not check.failed, check
    assert check['resource_map'] == {server.id: '(would be created)'} and servers_named(conn, new_name) == []
    restored = job(cloud_env, **restore)
    assert restored.changed is True and not restored.failed, restored
    print('nova restore one-shot: %.1f s (play %.1f s)' % (restored['elapsed'], restored.seconds))
    [new_server] = servers_named(conn, new_name)
    assert restored['resource_map'] == {server.id: new_server.id} and new_server.id != server.id
    assert new_server.status == 'ACTIVE' and new_server.flavor.original_name == 'dp.tiny'
    assert new_server.metadata['dataprotection_restored_from'] == record['backup_id']
    assert conn.image.download_image(new_server.image['id']).content == data  # the original disk, from Swift
    again = job(cloud_env, **restore)
    assert again.changed is False and again['resource_map'] == {server.id: new_server.id}, again
    assert job(cloud_env, check=True, **restore).changed is False
    assert len(servers_named(conn, new_name)) == 1 and freezer.jobs_of(unique) == []

    # the server is deleted too: restore by its id, with another flavor and name
    conn.compute.delete_server(server.id)
    wait_status(lambda: get_or_none(conn.compute.get_server, server.id), {'gone'}, timeout=180)
    small = nova_servers['flavor'](unique + '-small', ram=128)
    by_name = job(cloud_env, **dict(restore, resource_id=unique + '-srv'))
    assert by_name.failed and 'give its id' in by_name['msg'], by_name
    no_traceback(by_name)
    dr = job(cloud_env, **dict(restore, restore_server_name=new_name + '-dr', restore_flavor=small.name))
    assert dr.changed is True and not dr.failed, dr
    [dr_server] = servers_named(conn, new_name + '-dr')
    assert dr['resource_map'] == {server.id: dr_server.id} and dr_server.status == 'ACTIVE'
    assert dr_server.flavor.original_name == small.name and dr['resource']['source_exists'] is False
    assert len(servers_named(conn, unique)) == 2  # the agent's own server was replaced, not left
    assert conn.image.download_image(dr_server.image['id']).content == data
    assert freezer.jobs_of(unique) == []


def test_server_nova_failures_leave_nothing(cloud_env, admin_conn, nova_servers, freezer, scheduler, unique):
    conn = nova_servers['conn']
    flavor = nova_servers['flavor'](unique + '-f', ram=64)
    server = nova_servers['boot'](unique + '-srv', flavor=flavor.name)
    base = dict(resource_type='server', resource_id=server.id, backup_name=unique, client_id=scheduler['client_id'],
                timeout=180)
    backup = job(cloud_env, operation='backup', **base)
    assert backup.changed is True and not backup.failed, backup

    # the recorded flavor (the agent looks it up by name) now asks more than any host has: the agent's own server
    # goes to ERROR after the agent reported success
    admin_conn.compute.delete_flavor(flavor.id)
    nova_servers['flavor'](flavor.name, ram=4096000)
    agent_error = job(cloud_env, operation='restore', **base)
    assert agent_error.failed and 'ERROR' in agent_error['msg'] and 'No valid host' in agent_error['msg'], agent_error
    assert 'was removed' in agent_error['msg'] and 'left behind' not in agent_error['msg'], agent_error
    no_traceback(agent_error)
    assert [s.id for s in servers_named(conn, unique)] == [server.id]
    assert own_images(conn, 'freezer_restore_' + unique) == [] and freezer.jobs_of(unique) == []

    # Nova puts the restored server in ERROR (a flavor no host can take): one message, server and image removed
    huge = nova_servers['flavor'](unique + '-huge', ram=4096000)
    failed = job(cloud_env, operation='restore', restore_flavor=huge.name, restore_server_name=unique + '-err', **base)
    assert failed.failed and 'ERROR' in failed['msg'] and 'No valid host' in failed['msg'], failed
    assert 'was removed' in failed['msg'] and 'left behind' not in failed['msg'], failed
    no_traceback(failed)
    assert [s.id for s in servers_named(conn, unique)] == [server.id]
    assert own_images(conn, 'freezer_restore_' + unique) == []
    assert_nothing_left_by(conn, freezer, unique, server.id)

    # the server's disk is gone under the agent (the snapshot fails): the job fails, the agent's container goes
    other = unique + '-gone'
    os.remove(os.path.join(ROOT, '.localcloud', 'nova', 'instances', server.id, 'disk'))
    gone = job(cloud_env, operation='backup', **dict(base, backup_name=other))
    assert gone.failed and 'Freezer reports the job failed' in gone['msg'], gone
    no_traceback(gone)
    assert swift_objects(conn, 'freezer_' + other) in (None, []), gone['msg']
    assert freezer.backups_of(other) == []
    assert_nothing_left_by(conn, freezer, other, server.id)

    # the source is gone: a backup names it; a restore without a backup of that protection names what is missing
    conn.compute.delete_server(server.id)
    wait_status(lambda: get_or_none(conn.compute.get_server, server.id), {'gone'}, timeout=180)
    missing = job(cloud_env, operation='backup', **dict(base, backup_name=other))
    assert missing.failed and 'not found' in missing['msg'] and server.id in missing['msg'], missing
    nothing = job(cloud_env, operation='restore', **dict(base, backup_name=other))
    assert nothing.failed and 'has no Freezer nova backup named %s' % other in nothing['msg'], nothing
    for result in (missing, nothing):
        no_traceback(result)
    assert freezer.jobs_of(other) == [] and swift_objects(conn, 'freezer_' + other) in (None, [])
    assert servers_named(conn, unique) == []


# -- issue 14: a tenant backup (servers and volumes of a project) restored as new resources with restore_prefix -----

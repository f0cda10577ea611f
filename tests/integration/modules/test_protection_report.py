"""protection_report through real ansible-playbook runs: protected, stale, never-protected and failed resources,
the Markdown and JUnit files (failures for stale/never/failed), check mode and fail_on_violation; Freezer backups
made through the local cloud's central scheduler, pod and application checkpoints of a local bank (the Kubernetes
emulator), and the requests of a report run counted by a forwarding proxy."""
import json
import os
import sys
import xml.etree.ElementTree as ET

from conftest import get_or_none, wait_status
from fleet_helpers import MANAGED
from playbook_runner import ROOT, PlaybookRun, finish, run_module, start_tasks
# the Kubernetes fixtures and seeding of the pod tests (pods with Cinder persistent volumes in the emulator)
from test_k8s_pod_protect import (  # noqa: F401 pylint: disable=unused-import
    cluster,
    conn,
    core,
    kubeconfig,
    make_volume as k8s_volume,
    seed_pod,
    storage,
)

MODULE = 'dataprotection.openstack.protection_report'


def protect_now(conn, volume, name='nightly'):
    snap = conn.block_storage.create_snapshot(volume_id=volume.id, name='%s-%s' % (name, volume.name),
                                              metadata=dict(MANAGED, dataprotection_protection=name))
    return wait_status(lambda: conn.block_storage.get_snapshot(snap.id), {'available'})


def test_protected_stale_never_failed(cloud_env, admin_conn, demo_conn, make_volume, unique, tmp_path):
    tag = {'dp_report': unique}
    vol, never, failed = (make_volume('%s-%s' % (unique, n), metadata=tag) for n in ('vol', 'never', 'failed'))
    snap = protect_now(demo_conn, vol)
    broken = protect_now(demo_conn, failed)
    admin_conn.block_storage.reset_snapshot_status(broken, 'error')
    report_dir = str(tmp_path / 'reports')
    # within a 1 hour RPO the protection is fresh; the same protection is stale against a 1 second RPO (no clock
    # race: it is older than a second by the time the second run reads it, which the row's age shows)
    args = dict(cloud='localcloud-demo', resource_type='volume', metadata=tag, protections=['nightly'], rpo='1h',
                report_path=report_dir)

    # one play, one task per case (the check-mode task first: it must write nothing)
    tasks = [dict(name='check', register='check', check_mode=True, **{MODULE: args}),
             dict(name='check files', register='files', **{'ansible.builtin.stat': dict(path=report_dir)},
                  check_mode=False),
             dict(name='run', register='run', **{MODULE: args}),
             dict(name='stale', register='stale', **{MODULE: dict(args, rpo='1s')}),
             dict(name='ok', register='ok', **{MODULE: dict(
                 cloud='localcloud-demo', resource_type='volume', metadata=tag, name_pattern='-vol$', rpo='1h',
                 fail_on_violation=True)}),
             dict(name='gate', register='gate', **{MODULE: dict(args, report_path=None, fail_on_violation=True)}),
             dict(name='bad', register='bad', **{MODULE: dict(args, rpo='soon')})]
    play = finish(start_tasks(tasks, env=cloud_env))
    assert 'Traceback' not in play.stdout, play.stdout[-3000:]
    check, run, stale, ok, gate, bad = (PlaybookRun(play.rc, play.result[k], '', 0)
                                        for k in ('check', 'run', 'stale', 'ok', 'gate', 'bad'))
    assert play.result['files']['stat']['exists'] is False
    assert not check.failed and check.changed is False, check
    assert check['report_files'] == {}
    assert check['summary']['rows'] == 3

    assert not run.failed and run.changed is False, run
    states = dict((row['name'], row['state']) for row in run['resources'])
    assert states == {vol.name: 'protected', never.name: 'never', failed.name: 'failed'}, run['resources']
    summary = run['summary']
    assert (summary['protected'], summary['stale'], summary['never'], summary['failed']) == (1, 0, 1, 1)
    assert summary['resources'] == 3 and summary['compliant'] is False
    assert summary['projects'] == {'demo': dict(protected=1, stale=0, never=1, failed=1)}
    rows = dict((row['name'], row) for row in run['resources'])
    assert rows[vol.name]['snapshot_id'] == snap.id and rows[never.name]['snapshot_id'] is None
    assert rows[failed.name]['last_status'] == 'error'

    assert not stale.failed, stale
    rows = dict((row['name'], row) for row in stale['resources'])
    assert rows[vol.name]['age_seconds'] > 1 and rows[vol.name]['state'] == 'stale', rows[vol.name]
    assert (stale['summary']['protected'], stale['summary']['stale']) == (0, 1)

    tree = ET.parse(stale['report_files']['junit'])
    suite = tree.getroot().find('testsuite')
    assert suite.get('tests') == '3' and suite.get('failures') == '3'
    failures = dict((case.get('name').split(' ')[1], case.find('failure').get('type'))
                    for case in suite.iter('testcase') if case.find('failure') is not None)
    assert failures == {vol.name: 'stale', never.name: 'never', failed.name: 'failed'}
    tree = ET.parse(os.path.join(report_dir, 'protection_report.xml'))
    assert tree.getroot().find('testsuite').get('failures') == '3'
    with open(stale['report_files']['markdown']) as handle:
        text = handle.read()
    assert '0 protected, 1 stale, 1 never, 1 failed' in text and '| demo | 0 | 1 | 1 | 1 |' in text

    # every protection found (here nightly), a compliant subset, and the CI gate
    assert not ok.failed and ok['summary']['compliant'] is True and ok['summary']['protected'] == 1, ok
    assert gate.failed and '2 of 3 protection checks violate the RPO' in gate['msg'], gate
    assert gate.result.get('exception') in (None, '(traceback unavailable)')
    assert bad.failed and 'rpo must be a duration' in bad['msg'], bad


# -- Freezer backups and Kubernetes checkpoints (issue 16) -------------------------------------------------------------
FREEZER = 'dataprotection.openstack.freezer_job'
CENTRAL_CLIENT = 'localcloud-central'  # the local cloud's central freezer-scheduler (service mode, trusts)


def _freezer_session(conn):
    return '%s/v2/%s' % (conn.session.get_endpoint(service_type='backup', interface='public').rstrip('/'),
                         conn.current_project_id)


def _remove_freezer_backups(admin_conn, demo_conn, volume_id, name):
    """Teardown: the Cinder backups of the volume and the freezer-api records named ``name``."""
    base = _freezer_session(demo_conn)
    records = demo_conn.session.get(base + '/backups', params={'limit': 1000}, raise_exc=False).json()
    for record in records.get('backups') or []:
        if (record.get('backup_metadata') or {}).get('backup_name') == name:
            demo_conn.session.delete(base + '/backups/' + record['backup_id'], raise_exc=False)
    bs = admin_conn.block_storage
    for backup in bs.backups(details=True, all_projects=True, volume_id=volume_id):
        backup = wait_status(lambda b=backup: get_or_none(bs.get_backup, b.id), {'available', 'error', 'gone'})
        if backup is not None:
            bs.delete_backup(backup.id, ignore_missing=True, force=True)
    for backup in bs.backups(details=True, all_projects=True, volume_id=volume_id):
        wait_status(lambda b=backup: get_or_none(bs.get_backup, b.id), {'gone'})


def _count_requests(tasks, env):
    """(play result, ['METHOD path', ...]) of one play whose HTTP requests go through a counting proxy."""
    sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))
    try:
        from counting_proxy import CountingProxy  # pylint: disable=import-outside-toplevel
    finally:
        sys.path.pop(0)
    proxy = CountingProxy()
    try:
        proxied = dict(env, http_proxy=proxy.url, HTTP_PROXY=proxy.url, no_proxy='', NO_PROXY='')
        play = finish(start_tasks(tasks, env=proxied))
        return play, ['%s %s' % (method, path) for method, _host, path in proxy.requests]
    finally:
        proxy.stop()


def test_freezer_backup_protected_stale_failed(cloud_env, admin_conn, demo_conn, make_volume, unique):
    """A volume protected by a Freezer cindernative backup made through the central scheduler is reported with
    protection kind freezer_backup: protected, stale against a 1 s RPO, failed once its Cinder backup is in error;
    the report's requests do not depend on the number of volumes."""
    tag = {'dp_report': unique}
    vol = make_volume(unique + '-frz', metadata=tag, availability_zone='nova')
    bare = make_volume(unique + '-bare', metadata=tag, availability_zone='nova')
    try:
        backup = run_module(FREEZER, dict(
            cloud='localcloud-demo', resource_type='volume', resource_id=vol.id, backup_name=unique,
            operation='backup', client_id=CENTRAL_CLIENT, timeout=240, poll_interval=1), env=cloud_env)
        assert not backup.failed, backup
        (made,) = [b for b in demo_conn.block_storage.backups(details=True, volume_id=vol.id) if b.name == unique]
        assert made.status == 'available' and made.metadata.get('created_by') == 'freezer', made

        args = dict(cloud='localcloud-demo', resource_type='volume', metadata=tag, protections=[unique], rpo='1h')
        tasks = [dict(name='check', register='check', check_mode=True, **{MODULE: args}),
                 dict(name='stale', register='stale', **{MODULE: dict(args, rpo='1s')})]
        play, requests = _count_requests([dict(name='run', register='run', **{MODULE: args})], cloud_env)
        assert 'Traceback' not in play.stdout, play.stdout[-3000:]
        run = play.result['run']
        assert not run.get('failed') and run['changed'] is False, run
        rows = dict((row['name'], row) for row in run['resources'])
        row = rows[vol.name]
        assert (row['state'], row['protection_kind'], row['snapshot_id'], row['snapshot_name']) == (
            'protected', 'freezer_backup', made.id, unique), row
        assert 0 <= row['age_seconds'] < 3600 and row['last_status'] == 'available'
        assert (rows[bare.name]['state'], rows[bare.name]['protection_kind']) == ('never', None)
        assert run['skipped_services'] == []
        # bounded: volumes, snapshots, Cinder backups and freezer-api records, each listed once (no request per
        # volume), plus authentication and version discovery
        listings = [r for r in requests if r.startswith('GET ') and r.split('?')[0].endswith(
            ('/volumes/detail', '/snapshots/detail', '/backups/detail', '/backups'))]
        assert sorted(r.rsplit('/', 1)[-1] for r in listings) == ['backups', 'detail', 'detail', 'detail'], requests
        assert not [r for r in requests if vol.id in r or bare.id in r], requests
        assert len(requests) - len(listings) <= 3, requests  # a token, at most discovery besides
        print('protection_report requests (resource_type volume, Freezer): %d: %s' % (len(requests), requests))

        play = finish(start_tasks(tasks, env=cloud_env))
        check, stale = play.result['check'], play.result['stale']
        assert not check.get('failed') and check['changed'] is False, check
        assert dict((r['name'], r['state']) for r in check['resources'])[vol.name] == 'protected'
        row = dict((r['name'], r) for r in stale['resources'])[vol.name]
        assert (row['state'], row['protection_kind']) == ('stale', 'freezer_backup') and row['age_seconds'] > 1, row

        admin_conn.block_storage.reset_backup_status(made, 'error')
        failed = run_module(MODULE, args, env=cloud_env)
        row = dict((r['name'], r) for r in failed['resources'])[vol.name]
        assert (row['state'], row['protection_kind'], row['last_status']) == ('failed', 'freezer_backup', 'error')
        assert 'newest freezer backup %s of the protection is error' % made.id in row['reason'], row
    finally:
        _remove_freezer_backups(admin_conn, demo_conn, vol.id, unique)


def test_pod_checkpoints_in_a_local_bank(cloud_env, kubeconfig, core, conn, cluster, unique, tmp_path):
    """A pod protected by k8s_pod_protect into a local bank is protected (kind checkpoint), a pod without checkpoint
    never; stale against a 1 s RPO; pods and applications only with a bank; the Markdown shows the kind."""
    bank = {'path': str(tmp_path / 'bank')}
    volume = k8s_volume(conn, unique + '-pod')
    seed_pod(core, unique, 'db', [('data', unique + '-pv', volume.id, 'csi')])
    seed_pod(core, unique, 'web', [])
    protected = run_module('dataprotection.openstack.k8s_pod_protect', dict(
        cloud='localcloud-demo2', kubeconfig=kubeconfig, bank=bank, namespace=unique, pod='db', backup_name='nightly',
        timeout=60, poll_interval=0.5), env=cloud_env)
    assert not protected.failed and protected.changed, protected
    checkpoint_id = protected['checkpoint']['id']

    report_dir = str(tmp_path / 'reports')
    args = dict(cloud='localcloud-demo2', kubeconfig=kubeconfig, bank=bank, resource_type='pod', namespaces=[unique],
                protections=['nightly'], rpo='1h', report_path=report_dir)
    tasks = [dict(name='pods', register='pods', **{MODULE: args}),
             dict(name='stale', register='stale', **{MODULE: dict(args, rpo='1s', report_path=None)}),
             dict(name='apps', register='apps', **{MODULE: dict(args, resource_type='application', report_path=None)}),
             dict(name='all', register='all', **{MODULE: dict(args, resource_type='all', name_pattern=unique,
                                                                 report_path=None)}),
             dict(name='nobank', register='nobank', **{MODULE: dict(
                 cloud='localcloud-demo2', kubeconfig=kubeconfig, resource_type='all', name_pattern=unique, rpo='1h')}),
             dict(name='needbank', register='needbank', **{MODULE: dict(
                 cloud='localcloud-demo2', kubeconfig=kubeconfig, resource_type='pod', rpo='1h')})]
    play = finish(start_tasks(tasks, env=cloud_env))
    assert 'Traceback' not in play.stdout, play.stdout[-3000:]
    pods, stale, apps, every, nobank, needbank = (play.result[k] for k in (
        'pods', 'stale', 'apps', 'all', 'nobank', 'needbank'))
    assert not pods.get('failed'), pods
    rows = dict((r['name'], r) for r in pods['resources'])
    db, web = rows['%s/db' % unique], rows['%s/web' % unique]
    assert (db['kind'], db['state'], db['protection_kind'], db['snapshot_id']) == (
        'pod', 'protected', 'checkpoint', checkpoint_id), db
    assert db['namespace'] == unique and db['resource_status'] == 'Running' and db['age_seconds'] < 3600
    assert (web['state'], web['protection_kind']) == ('never', None), web
    assert pods['summary']['projects'] == {'namespace %s' % unique: dict(protected=1, stale=0, never=1, failed=0)}
    with open(pods['report_files']['markdown']) as handle:
        text = handle.read()
    assert '| protection kind |' in text and '| checkpoint |' in text
    suite = ET.parse(pods['report_files']['junit']).getroot().find('testsuite')
    assert (suite.get('tests'), suite.get('failures')) == ('2', '1')

    row = dict((r['name'], r) for r in stale['resources'])['%s/db' % unique]
    assert row['state'] == 'stale' and row['age_seconds'] > 1, row
    # the namespace holds no application checkpoint, but is named in namespaces: never
    assert [(r['kind'], r['name'], r['state']) for r in apps['resources']] == [('application', unique, 'never')]
    assert sorted((r['kind'], r['name']) for r in every['resources']) == [
        ('application', unique), ('pod', '%s/db' % unique), ('pod', '%s/web' % unique)] + sorted(
        ('volume', v.name) for v in conn.block_storage.volumes(details=True) if unique in (v.name or '')), every
    assert not nobank.get('failed') and all(r['kind'] == 'volume' for r in nobank['resources']), nobank
    assert needbank.get('failed') and 'needs bank' in needbank['msg'], needbank


def test_application_checkpoint_in_a_local_bank(cloud_env, kubeconfig, core, conn, cluster, unique, tmp_path):
    """A namespace protected by k8s_app_protect is reported as an application (without naming it in namespaces),
    protected with kind checkpoint; a checkpoint in error makes it failed."""
    bank = {'path': str(tmp_path / 'bank')}
    seed_pod(core, unique, 'web', [])
    protected = run_module('dataprotection.openstack.k8s_app_protect', dict(
        cloud='localcloud-demo2', kubeconfig=kubeconfig, bank=bank, namespace=unique, pods=['web'],
        protection='daily', timeout=60, poll_interval=0.5), env=cloud_env)
    assert not protected.failed and protected.changed, protected
    checkpoint_id = protected['checkpoint']['id']

    args = dict(cloud='localcloud-demo2', kubeconfig=kubeconfig, bank=bank, resource_type='application',
                protections=['daily'], rpo='1h')
    report = run_module(MODULE, args, env=cloud_env)
    assert not report.failed, report
    (row,) = [r for r in report['resources'] if r['name'] == unique]
    assert (row['kind'], row['state'], row['protection_kind'], row['snapshot_id'], row['namespace']) == (
        'application', 'protected', 'checkpoint', checkpoint_id, unique), row

    # the newest attempt in error (as a failed protect leaves it when its cleanup could not finish)
    index_path = os.path.join(bank['path'], 'checkpoints', checkpoint_id, 'index.json')
    with open(index_path) as handle:
        index = json.load(handle)
    failed = dict(index, id=checkpoint_id + '-err', status='error', created_at='2999-01-01T00:00:00.000000Z')
    os.makedirs(os.path.dirname(index_path.replace(checkpoint_id, failed['id'])))
    with open(index_path.replace(checkpoint_id, failed['id']), 'w') as handle:
        json.dump(failed, handle)
    report = run_module(MODULE, args, env=cloud_env)
    (row,) = [r for r in report['resources'] if r['name'] == unique]
    assert (row['state'], row['snapshot_id'], row['last_status']) == ('failed', checkpoint_id, 'error'), row
    assert 'newest checkpoint %s-err of the protection is error' % checkpoint_id in row['reason']

"""protection_report through real ansible-playbook runs: protected, stale, never-protected and failed resources,
the Markdown and JUnit files (failures for stale/never/failed), check mode and fail_on_violation."""
import os
import xml.etree.ElementTree as ET

from conftest import wait_status
from fleet_helpers import MANAGED
from playbook_runner import PlaybookRun, finish, start_tasks

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

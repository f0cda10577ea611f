"""cinder_snapshot_protect through real ansible-playbook runs against the real local Cinder."""
import uuid

import pytest
import yaml

from conftest import no_traceback, snapshots_of
from playbook_runner import finish, run_module, start_module

MODULE = 'dataprotection.openstack.cinder_snapshot_protect'


def protect(cloud_env, check=False, diff=False, cloud='localcloud-demo', **args):
    if cloud is not None:
        args.setdefault('cloud', cloud)
    args.setdefault('timeout', 60)
    args.setdefault('poll_interval', 0.5)
    return run_module(MODULE, args, check=check, diff=diff, env=cloud_env)


def test_present_check_idempotent_absent(cloud_env, demo_conn, make_volume, unique):
    volume = make_volume(unique)
    check = protect(cloud_env, check=True, diff=True, volume=unique, snapshot_name='daily')
    assert check.changed is True and not check.failed, check
    assert snapshots_of(demo_conn, volume.id) == []
    assert check['diff']['before'] == {} and check['diff']['after']['name'] == 'daily'

    first = protect(cloud_env, diff=True, volume=unique, snapshot_name='daily', description='d1',
                    metadata={'owner': 'it'})
    assert first.changed is True and not first.failed, first
    snaps = snapshots_of(demo_conn, volume.id)
    assert [(s.name, s.status) for s in snaps] == [('daily', 'available')]
    assert first['snapshot']['id'] == snaps[0].id and first['volume']['id'] == volume.id
    assert snaps[0].metadata['owner'] == 'it' and snaps[0].metadata['dataprotection_managed'] == 'true'

    again = protect(cloud_env, volume=volume.id, snapshot_name='daily')
    assert again.changed is False and again['snapshot']['id'] == snaps[0].id, again
    assert protect(cloud_env, check=True, volume=unique, snapshot_name='daily').changed is False

    check_absent = protect(cloud_env, check=True, volume=unique, snapshot_name='daily', state='absent')
    assert check_absent.changed is True
    assert len(snapshots_of(demo_conn, volume.id)) == 1
    absent = protect(cloud_env, volume=unique, snapshot_name='daily', state='absent')
    assert absent.changed is True and absent['deleted'] == [snaps[0].id], absent
    assert snapshots_of(demo_conn, volume.id) == []
    assert protect(cloud_env, volume=unique, snapshot_name='daily', state='absent').changed is False


def test_restored_idempotent_with_resource_map(cloud_env, demo_conn, make_volume, unique):
    volume = make_volume(unique, size=2)
    assert protect(cloud_env, volume=unique, snapshot_name='s1').changed is True
    check = protect(cloud_env, check=True, volume=unique, snapshot_name='s1', state='restored',
                    restore_name=unique + '-r')
    assert check.changed is True
    assert list(demo_conn.block_storage.volumes(name=unique + '-r')) == []
    restored = protect(cloud_env, volume=unique, snapshot_name='s1', state='restored', restore_name=unique + '-r',
                       restore_description='restored by test')
    assert restored.changed is True and not restored.failed, restored
    new_id = restored['resource_map'][volume.id]
    new = demo_conn.block_storage.get_volume(new_id)
    assert new.status == 'available' and new.size == 2 and new.snapshot_id == restored['snapshot']['id']
    assert new.availability_zone == volume.availability_zone
    again = protect(cloud_env, volume=unique, snapshot_name='s1', state='restored', restore_name=unique + '-r')
    assert again.changed is False and again['resource_map'] == {volume.id: new_id}, again


def test_restore_into_other_type_and_zone(cloud_env, admin_conn, demo_conn, make_volume, unique):
    types = sorted(t.name for t in admin_conn.block_storage.types())
    zones = sorted(z.name for z in admin_conn.block_storage.availability_zones() if z.state.get('available'))
    volume = make_volume(unique)
    assert protect(cloud_env, volume=unique, snapshot_name='s1').changed is True
    # the local cloud's second type on the same backend (Cinder refuses types on other backends)
    other_type = 'fast' if 'fast' in types and volume.volume_type != 'fast' else [t for t in types if t != volume.volume_type][0]
    other_zone = [z for z in zones if z != volume.availability_zone]
    args = dict(volume=unique, snapshot_name='s1', state='restored', restore_name=unique + '-t',
                restore_volume_type=other_type)
    if other_zone:
        args['restore_availability_zone'] = other_zone[0]
    restored = protect(cloud_env, **args)
    assert restored.changed is True and not restored.failed, restored
    new = demo_conn.block_storage.get_volume(restored['resource_map'][volume.id])
    assert new.volume_type == other_type
    if other_zone:
        assert new.availability_zone == other_zone[0]


def test_restore_name_taken_by_other_volume(cloud_env, make_volume, unique):
    make_volume(unique)
    make_volume(unique + '-taken')
    assert protect(cloud_env, volume=unique, snapshot_name='s1').changed is True
    run = protect(cloud_env, volume=unique, snapshot_name='s1', state='restored', restore_name=unique + '-taken')
    assert run.failed and 'already exists' in run['msg'] and unique + '-taken' in run['msg'], run
    no_traceback(run)


def test_unknown_volume_clear_failure(cloud_env, unique):
    run = protect(cloud_env, volume=unique + '-missing', snapshot_name='daily')
    assert run.failed and run['msg'] == 'volume %s-missing: not found' % unique, run
    no_traceback(run)


def test_in_use_volume_needs_force(cloud_env, admin_conn, demo_conn, make_volume, unique):
    volume = make_volume(unique)
    # No Nova here: attach the way Nova does, through Cinder's attachments API (reserve, then complete).
    server_id = str(uuid.uuid4())
    attachment = admin_conn.block_storage.create_attachment(volume.id, instance_id=server_id, connector=None)
    admin_conn.block_storage.complete_attachment(attachment.id)
    try:
        assert demo_conn.block_storage.get_volume(volume.id).status == 'in-use'
        run = protect(cloud_env, volume=unique, snapshot_name='daily')
        assert run.failed and 'in-use' in run['msg'] and 'force: true' in run['msg'], run
        no_traceback(run)
        assert snapshots_of(demo_conn, volume.id) == []
        forced = protect(cloud_env, volume=unique, snapshot_name='daily', force=True)
        assert forced.changed is True and not forced.failed, forced
        assert [s.status for s in snapshots_of(demo_conn, volume.id)] == ['available']
    finally:
        admin_conn.block_storage.delete_attachment(attachment.id)


def test_snapshot_error_is_removed(cloud_env, demo_conn, make_volume, unique):
    volume = make_volume(unique, metadata={'localcloud_fail': 'snapshot'})
    run = protect(cloud_env, volume=unique, snapshot_name='daily')
    assert run.failed and 'status error' in run['msg'] and 'removed' in run['msg'], run
    assert unique in run['msg']
    no_traceback(run)
    assert snapshots_of(demo_conn, volume.id) == []


def test_timeout_reports_last_status(cloud_env, demo_conn, make_volume, unique):
    volume = make_volume(unique, metadata={'localcloud_delay_snapshot': '15'})
    run = protect(cloud_env, volume=unique, snapshot_name='daily', timeout=3, poll_interval=0.5)
    assert run.failed and 'timed out after 3s' in run['msg'] and 'last status: creating' in run['msg'], run
    no_traceback(run)
    # the cleanup waited (bounded) for the stalled snapshot to settle and removed it
    assert snapshots_of(demo_conn, volume.id) == [], run


def test_cinder_api_down(cloud_env, clouds_yaml_path, unique):
    with open(clouds_yaml_path) as handle:
        cloud = yaml.safe_load(handle)['clouds']['localcloud-demo']
    cloud['block_storage_endpoint_override'] = 'http://127.0.0.1:9/v3/%(project_id)s'
    run = protect(cloud_env, cloud=cloud, volume=unique, snapshot_name='daily', api_timeout=5)
    assert run.failed and run['msg'].startswith('cannot reach the OpenStack API'), run
    assert '127.0.0.1:9' in run['msg']
    no_traceback(run)
    assert 'password' not in run.stdout.replace('"password": "********"', '')


def test_concurrent_runs_make_one_snapshot(cloud_env, demo_conn, make_volume, unique):
    volume = make_volume(unique)
    args = dict(cloud='localcloud-demo', volume=unique, snapshot_name='daily', timeout=60, poll_interval=0.5)
    handles = [start_module(MODULE, args, env=cloud_env) for _unused in range(2)]
    runs = [finish(h) for h in handles]
    assert not any(r.failed for r in runs), runs
    snaps = snapshots_of(demo_conn, volume.id)
    assert [s.name for s in snaps] == ['daily'], snaps
    assert {r['snapshot']['id'] for r in runs} == {snaps[0].id}


def test_admin_and_awx_sole_cloud(cloud_env, clouds_yaml_path, admin_conn, demo_conn, make_volume, unique, tmp_path):
    volume = make_volume(unique)
    # an admin acting by id on the demo project's volume is refused: the snapshot would live in the admin project,
    # invisible to the volume's owner, who could then no longer delete the volume
    as_admin = protect(cloud_env, cloud='localcloud-admin', volume=volume.id, snapshot_name='adm')
    assert as_admin.failed and 'belongs to project %s' % volume.project_id in as_admin['msg'], as_admin
    assert list(admin_conn.block_storage.snapshots(details=True, all_projects=True, volume_id=volume.id)) == []
    with open(clouds_yaml_path) as handle:
        clouds = yaml.safe_load(handle)['clouds']
    awx = tmp_path / 'awx-clouds.yaml'
    awx.write_text(yaml.safe_dump({'clouds': {'devstack': clouds['localcloud-demo']}}))
    run = protect({'OS_CLIENT_CONFIG_FILE': str(awx)}, cloud=None, volume=unique, snapshot_name='awx')
    assert run.changed is True and not run.failed, run
    assert [s.name for s in snapshots_of(demo_conn, volume.id)] == ['awx']
    assert clouds['localcloud-demo']['auth']['password'] not in run.stdout


def test_retention_and_min_age(cloud_env, demo_conn, make_volume, unique):
    volume = make_volume(unique)
    manual = demo_conn.block_storage.create_snapshot(volume_id=volume.id, name='nightly-manual')
    ids = []
    for _round in range(3):
        run = protect(cloud_env, volume=unique, snapshot_name='nightly', retain=2)
        assert run.changed is True and not run.failed, run
        ids.append(run['snapshot']['id'])
    names = {s.id: s.name for s in snapshots_of(demo_conn, volume.id)}
    assert set(names) == {ids[1], ids[2], manual.id}, names
    skipped = protect(cloud_env, volume=unique, snapshot_name='nightly', retain=2, min_age=3600)
    assert skipped.changed is False and skipped['rotation_skipped'] is True and skipped['snapshot']['id'] == ids[2]
    absent = protect(cloud_env, volume=unique, snapshot_name='nightly', state='absent')
    assert sorted(absent['deleted']) == sorted(ids[1:])
    assert [s.id for s in snapshots_of(demo_conn, volume.id)] == [manual.id]


def test_concurrent_bulk_runs_make_one_snapshot_per_volume(cloud_env, demo_conn, make_volume, unique):
    """Issue 16: a bulk run waits for its snapshots and checks for concurrent runs with one listing per poll; two
    bulk runs at once still converge to one snapshot per volume, and both report the one kept."""
    vols = [make_volume('%s-%d' % (unique, i), metadata={'race': unique}) for i in range(3)]
    args = dict(cloud='localcloud-demo', volume_metadata={'race': unique}, snapshot_name='daily', concurrency=3,
                timeout=120, poll_interval=0.5)
    handles = [start_module(MODULE, args, env=cloud_env) for _unused in range(2)]
    runs = [finish(h) for h in handles]
    assert not any(r.failed for r in runs), runs
    for volume in vols:
        snaps = snapshots_of(demo_conn, volume.id)
        assert [(s.name, s.status) for s in snaps] == [('daily', 'available')], snaps
        reported = {e['snapshot']['id'] for r in runs for e in r['snapshots'] if e['volume_ref'] == volume.id}
        assert reported == {snaps[0].id}, (volume.id, reported)
    assert [t['step'] for t in runs[0]['timings']] == ['select', 'projects', 'calls', 'shared waits', 'last steps']
    again = run_module(MODULE, args, env=cloud_env)
    assert again.changed is False and not again.failed, again


def test_bulk_by_metadata_query_and_failure_isolation(cloud_env, demo_conn, make_volume, unique):
    vols = [make_volume('%s-%d' % (unique, i), metadata={'backup': unique}) for i in range(3)]
    bad = make_volume(unique + '-bad', metadata={'backup': unique, 'localcloud_fail': 'snapshot'})
    other = make_volume(unique + '-other')
    check = run_module(MODULE, dict(cloud='localcloud-demo', volume_metadata={'backup': unique},
                                    snapshot_name='bulk', timeout=60, poll_interval=0.5), check=True, env=cloud_env)
    assert check.changed is True and not check.failed and len(check['snapshots']) == 4, check
    assert all(snapshots_of(demo_conn, v.id) == [] for v in vols)
    run = run_module(MODULE, dict(cloud='localcloud-demo', query="[?metadata.backup=='%s']" % unique,
                                  snapshot_name='bulk', concurrency=4, timeout=60, poll_interval=0.5), env=cloud_env)
    assert run.failed and '1 of 4 volumes failed' in run['msg'] and bad.id in run['msg'], run
    by_volume = {e['volume_ref']: e for e in run['snapshots']}
    for volume in vols:
        assert by_volume[volume.id]['changed'] is True and not by_volume[volume.id]['failed']
        assert [s.name for s in snapshots_of(demo_conn, volume.id)] == ['bulk']
    assert by_volume[bad.id]['failed'] is True
    assert snapshots_of(demo_conn, bad.id) == [] and snapshots_of(demo_conn, other.id) == []
    names = [v.name for v in vols]
    again = run_module(MODULE, dict(cloud='localcloud-demo', volumes=names, snapshot_name='bulk'), env=cloud_env)
    assert again.changed is False and not again.failed, again
    gone = run_module(MODULE, dict(cloud='localcloud-demo', volumes=names, snapshot_name='bulk', state='absent'),
                      env=cloud_env)
    assert gone.changed is True and len(gone['deleted']) == 3, gone


def test_invalid_options_clear_messages(cloud_env, unique):
    run = protect(cloud_env, volume=unique, snapshot_name='x', retain=0)
    assert run.failed and run['msg'] == 'retain must be >= 1, got 0'
    run = protect(cloud_env, volume=unique, snapshot_name='x', state='restored')
    assert run.failed and 'restore_name' in run['msg']
    no_traceback(run)


@pytest.fixture
def scratch_project(admin_conn):
    """A project where admin is a member; removed after the volumes made in it (requested before make_volume)."""
    identity = admin_conn.identity
    project = identity.create_project(name='it-p-%s' % uuid.uuid4().hex[:8], domain_id='default')
    admin_user = identity.find_user('admin', domain_id='default')
    member = identity.find_role('member')
    identity.assign_project_role_to_user(project, admin_user, member)
    yield project
    bs = admin_conn.block_storage
    for snapshot in bs.snapshots(details=True, all_projects=True, project_id=project.id):
        bs.delete_snapshot(snapshot.id, ignore_missing=True)
        bs.wait_for_delete(snapshot, wait=60)
    identity.unassign_project_role_from_user(project, admin_user, member)
    identity.delete_project(project)


def test_all_projects_is_opt_in_and_acts_as_each_project(cloud_env, admin_conn, demo_conn, os_conn_factory,
                                                         scratch_project, make_volume, unique):
    """Issue 16: an admin's bulk selection never reaches other projects unless all_projects is set; with it each
    volume is snapshotted AS its project (its owner sees the snapshot); a project where the admin has no role fails
    alone, named, and the others go on; per-project counts."""
    project = scratch_project
    in_project = os_conn_factory('localcloud-admin', project_id=project.id)
    tag = {'bulk': unique}
    own = make_volume(unique + '-own', conn=admin_conn, metadata=tag)
    theirs = make_volume(unique + '-p', conn=in_project, metadata=tag)
    locked = make_volume(unique + '-demo', metadata=tag)  # demo's: admin has no role there
    assert theirs.project_id == project.id and locked.project_id == demo_conn.current_project_id

    plain = protect(cloud_env, cloud='localcloud-admin', volume_metadata=tag, protection='fleet')
    assert plain.changed is True and not plain.failed, plain
    assert [e['volume_ref'] for e in plain['snapshots']] == [own.id] and 'projects' not in plain.result
    assert snapshots_of(in_project, theirs.id) == [] and snapshots_of(demo_conn, locked.id) == []

    check = protect(cloud_env, check=True, cloud='localcloud-admin', volume_metadata=tag, protection='fleet',
                    all_projects=True)
    assert check.failed and check['projects'][project.id] == dict(selected=1, changed=1, failed=0), check
    assert snapshots_of(in_project, theirs.id) == []

    run = protect(cloud_env, diff=True, cloud='localcloud-admin', volume_metadata=tag, protection='fleet',
                  all_projects=True)
    no_traceback(run)
    assert run.failed and '1 of 3 volumes failed' in run['msg'], run
    assert ('volume %s: not protected: these credentials cannot act in its project %s'
            % (locked.id, locked.project_id)) in run['msg']
    assert run['projects'] == {own.project_id: dict(selected=1, changed=0, failed=0),
                               project.id: dict(selected=1, changed=1, failed=0),
                               locked.project_id: dict(selected=1, changed=0, failed=1)}, run['projects']
    made = snapshots_of(in_project, theirs.id)  # seen by the volume's own project: it lives there
    assert [(s.name, s.project_id) for s in made] == [('fleet', project.id)]
    assert snapshots_of(demo_conn, locked.id) == []

    again = protect(cloud_env, cloud='localcloud-admin', volume_metadata=tag, protection='fleet',
                    all_projects=True)
    assert again.changed is False and again['projects'][project.id]['changed'] == 0, again

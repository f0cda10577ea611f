"""Data safety of the snapshot modules against the real local Cinder and Manila (issue 12).

Foreign snapshots are never taken, rotated or deleted; a selector that happens to select every resource is
refused with state=absent; concurrent restores settle on one resource; an admin acting on another project's
resource by id is refused; a stuck snapshot gets the truth (an admin must reset it) instead of a raw HTTP 400.
"""
import pytest

from conftest import MV, get_or_none, no_traceback, snapshots_of, wait_status
from playbook_runner import finish, run_module, start_module

CINDER = 'dataprotection.openstack.cinder_snapshot_protect'
MANILA = 'dataprotection.openstack.manila_share_protect'


def run(module, cloud_env, check=False, diff=False, cloud='localcloud-demo', **args):
    args.setdefault('cloud', cloud)
    args.setdefault('timeout', 60)
    args.setdefault('poll_interval', 0.5)
    return run_module(module, args, check=check, diff=diff, env=cloud_env)


def foreign_cinder_snapshot(conn, volume, name):
    snapshot = conn.block_storage.create_snapshot(volume_id=volume.id, name=name, metadata={'owner': 'someone-else'})
    return wait_status(lambda: get_or_none(conn.block_storage.get_snapshot, snapshot.id), {'available'})


# -- 1. foreign snapshots -------------------------------------------------------------------------------------
def test_cinder_foreign_snapshot_is_never_taken_rotated_or_deleted(cloud_env, demo_conn, make_volume, unique):
    volume = make_volume(unique)
    foreign = foreign_cinder_snapshot(demo_conn, volume, 'daily')
    # a forged rotated name: looks like one of the collection's rotated snapshots, carries no metadata
    forged = foreign_cinder_snapshot(demo_conn, volume, 'daily-20200101T000000000000Z')

    present = run(CINDER, cloud_env, volume=volume.id, snapshot_name='daily')
    no_traceback(present)
    assert present.failed and foreign.id in present['msg'] and 'adopt' in present['msg'], present
    check = run(CINDER, cloud_env, check=True, volume=volume.id, snapshot_name='daily')
    assert check.failed and foreign.id in check['msg'], check

    for args in (dict(), dict(retain=1)):
        absent = run(CINDER, cloud_env, diff=True, volume=volume.id, snapshot_name='daily', state='absent', **args)
        assert absent.changed is False and not absent.failed, absent
        assert absent['foreign_snapshots'] == [foreign.id] and absent['deleted'] == []
        assert '[WARNING]' in absent.stdout and 'left in place' in absent.stdout, absent.stdout
        assert 'Callback dispatch' not in absent.stdout, absent.stdout
    assert sorted(s.id for s in snapshots_of(demo_conn, volume.id)) == sorted([foreign.id, forged.id])

    # rotation keeps 1 of the collection's own; the foreign and forged ones survive every run
    for attempt in range(2):
        rotated = run(CINDER, cloud_env, diff=True, volume=volume.id, snapshot_name='daily', retain=1)
        assert rotated.changed is True and not rotated.failed, (attempt, rotated)
        assert 'Callback dispatch' not in rotated.stdout, rotated.stdout
    ids = {s.id: s for s in snapshots_of(demo_conn, volume.id)}
    assert foreign.id in ids and forged.id in ids and len(ids) == 3, ids
    assert run(CINDER, cloud_env, volume=volume.id, snapshot_name='daily', state='absent', retain=1).changed is True
    assert sorted(s.id for s in snapshots_of(demo_conn, volume.id)) == sorted([foreign.id, forged.id])

    # restore names the foreign snapshot instead of restoring from it
    restore = run(CINDER, cloud_env, volume=volume.id, snapshot_name='daily', state='restored',
                  restore_name=unique + '-r')
    assert restore.failed and foreign.id in restore['msg'], restore
    assert list(demo_conn.block_storage.volumes(name=unique + '-r')) == []

    # adopt: true takes it over explicitly (check mode predicts it), then it is the protection
    check = run(CINDER, cloud_env, check=True, volume=volume.id, snapshot_name='daily', adopt=True)
    assert check.changed is True and check['adopted'] == [foreign.id], check
    assert 'dataprotection_managed' not in demo_conn.block_storage.get_snapshot(foreign.id).metadata
    adopted = run(CINDER, cloud_env, volume=volume.id, snapshot_name='daily', adopt=True)
    assert adopted.changed is True and adopted['snapshot']['id'] == foreign.id, adopted
    assert demo_conn.block_storage.get_snapshot(foreign.id).metadata['dataprotection_managed'] == 'true'
    assert run(CINDER, cloud_env, volume=volume.id, snapshot_name='daily').changed is False
    gone = run(CINDER, cloud_env, volume=volume.id, snapshot_name='daily', state='absent')
    assert gone.changed is True and gone['deleted'] == [foreign.id], gone
    assert [s.id for s in snapshots_of(demo_conn, volume.id)] == [forged.id]


def test_manila_foreign_snapshot_left_alone_and_adoptable(cloud_env, manila, make_share, unique):
    share = make_share(unique)
    created = manila.sfs.post('/snapshots', json={'snapshot': {'share_id': share.id, 'name': 'daily'}},
                              microversion=MV).json()['snapshot']
    wait_status(lambda: manila.snapshot(created['id']), {'available'}, timeout=90)
    present = run(MANILA, cloud_env, share=share.id, snapshot_name='daily')
    no_traceback(present)
    assert present.failed and created['id'] in present['msg'] and 'adopt' in present['msg'], present
    absent = run(MANILA, cloud_env, diff=True, share=share.id, snapshot_name='daily', state='absent')
    assert absent.changed is False and absent['foreign_snapshots'] == [created['id']], absent
    assert 'Callback dispatch' not in absent.stdout
    assert [s['id'] for s in manila.snapshots(share.id)] == [created['id']]
    adopted = run(MANILA, cloud_env, share=share.id, snapshot_name='daily', adopt=True)
    assert adopted.changed is True and adopted['adopted'] == [created['id']], adopted
    assert manila.snapshot(created['id'])['metadata'].get('dataprotection_managed') == 'true'
    gone = run(MANILA, cloud_env, share=share.id, snapshot_name='daily', state='absent')
    assert gone.changed is True and gone['deleted'] == [created['id']], gone


# -- 3. a selector that happens to select everything ------------------------------------------------------------
def test_absent_refuses_a_query_that_selects_every_volume(cloud_env, demo_conn, make_volume, unique):
    volumes = [make_volume('%s-%d' % (unique, i)) for i in range(2)]
    protected = []
    for volume in volumes:
        first = run(CINDER, cloud_env, volume=volume.id, snapshot_name=unique)
        assert first.changed is True, first
        protected.append(first['snapshot']['id'])
    sweep = run(CINDER, cloud_env, query='[?status]', snapshot_name=unique, state='absent')
    no_traceback(sweep)
    assert sweep.failed and 'query' in sweep['msg'] and "'[*]'" in sweep['msg'], sweep
    assert all(len(snapshots_of(demo_conn, v.id)) == 1 for v in volumes)
    # the explicit form removes the protection from every volume (the other volumes of the project have none)
    explicit = run(CINDER, cloud_env, query='[*]', snapshot_name=unique, state='absent', concurrency=4)
    assert explicit.changed is True and not explicit.failed, explicit
    assert sorted(explicit['deleted']) == sorted(protected), explicit
    assert all(snapshots_of(demo_conn, v.id) == [] for v in volumes)


# -- 4. concurrent restores -----------------------------------------------------------------------------------
def test_five_parallel_cinder_restores_make_one_volume(cloud_env, demo_conn, make_volume, unique):
    volume = make_volume(unique)
    assert run(CINDER, cloud_env, volume=volume.id, snapshot_name='s1').changed is True
    args = dict(cloud='localcloud-demo', volume=volume.id, snapshot_name='s1', state='restored',
                restore_name=unique + '-r', timeout=120, poll_interval=0.5)
    runs = [finish(handle) for handle in [start_module(CINDER, dict(args), env=cloud_env) for copy in range(5)]]
    for one in runs:
        no_traceback(one)
        assert not one.failed, one
    named = [v for v in demo_conn.block_storage.volumes(name=unique + '-r') if v.name == unique + '-r']
    assert len(named) == 1, [(v.id, v.status) for v in named]
    assert {one['resource_map'][volume.id] for one in runs} == {named[0].id}
    assert sum(1 for one in runs if one.changed) == 1, [one.changed for one in runs]
    again = run(CINDER, cloud_env, **{k: v for k, v in args.items() if k != 'cloud'})
    assert again.changed is False and again['duplicates'] == [], again

    # a copy left by a run that did not wait is reported, never deleted by guesswork
    extra = demo_conn.block_storage.create_volume(
        name=unique + '-r', size=volume.size, snapshot_id=again['snapshot']['id'],
        metadata={'dataprotection_managed': 'true', 'dataprotection_restored_from': again['snapshot']['id']})
    wait_status(lambda: get_or_none(demo_conn.block_storage.get_volume, extra.id), {'available'})
    rerun = run(CINDER, cloud_env, **{k: v for k, v in args.items() if k != 'cloud'})
    assert rerun.changed is False and rerun['duplicates'] == [extra.id], rerun
    assert rerun['resource_map'] == {volume.id: named[0].id}
    assert '[WARNING]' in rerun.stdout and extra.id in rerun.stdout
    assert get_or_none(demo_conn.block_storage.get_volume, extra.id) is not None


def test_five_parallel_manila_restores_make_one_share(cloud_env, manila, make_share, unique):
    share = make_share(unique)
    assert run(MANILA, cloud_env, share=share.id, snapshot_name='s1').changed is True
    args = dict(cloud='localcloud-demo', share=share.id, snapshot_name='s1', state='restored',
                restore_name=unique + '-r', timeout=120, poll_interval=0.5)
    runs = [finish(handle) for handle in [start_module(MANILA, dict(args), env=cloud_env) for copy in range(5)]]
    for one in runs:
        no_traceback(one)
        assert not one.failed, one
    named = manila.shares_named(unique + '-r')
    assert len(named) == 1, [(s.id, s.status) for s in named]
    assert {one['resource_map'][share.id] for one in runs} == {named[0].id}
    assert sum(1 for one in runs if one.changed) == 1, [one.changed for one in runs]


# -- 5. an admin acting on another project's resource by id ------------------------------------------------------
def test_admin_by_id_on_another_projects_volume_and_share_is_refused(
        cloud_env, admin_conn, manila, make_volume, make_share, unique):
    volume = make_volume(unique)
    share = make_share(unique)
    for module, ref in ((CINDER, dict(volume=volume.id)), (MANILA, dict(share=share.id))):
        for check in (True, False):
            refused = run(module, cloud_env, check=check, cloud='localcloud-admin', snapshot_name='admin-made', **ref)
            no_traceback(refused)
            assert refused.failed and 'belongs to project' in refused['msg'] and 'credentials' in refused['msg'], \
                refused
    assert list(admin_conn.block_storage.snapshots(details=True, all_projects=True, volume_id=volume.id)) == []
    assert manila.snapshots(share.id) == []


# -- 6. manila: in-place revert and a new share are never guessed between ------------------------------------------
def test_manila_share_id_with_restore_name_is_refused(cloud_env, manila, make_share, unique):
    share = make_share(unique)
    assert run(MANILA, cloud_env, share=share.id, snapshot_name='s1').changed is True
    both = run(MANILA, cloud_env, share=share.id, snapshot_name='s1', state='restored', share_id=share.id,
               restore_name=unique + '-r')
    no_traceback(both)
    assert both.failed and 'share_id' in both['msg'] and 'restore_name' in both['msg'], both
    assert manila.shares_named(unique + '-r') == []
    assert 'dataprotection_reverted_to' not in (manila.share(share.id).metadata or {})


# -- 7. a stuck snapshot, and absent while a snapshot is still being created -------------------------------------
def test_stuck_snapshot_gets_the_admin_reset_command(cloud_env, admin_conn, demo_conn, make_volume, unique):
    volume = make_volume(unique)
    first = run(CINDER, cloud_env, volume=volume.id, snapshot_name='daily')
    snapshot_id = first['snapshot']['id']
    admin_conn.block_storage.reset_snapshot_status(snapshot_id, 'error_deleting')
    for state in ('absent', 'present'):
        for check in (True, False):
            stuck = run(CINDER, cloud_env, check=check, volume=volume.id, snapshot_name='daily', state=state)
            no_traceback(stuck)
            assert stuck.failed, stuck
            assert 'openstack volume snapshot set --state error %s' % snapshot_id in stuck['msg'], stuck
            assert 'HTTP 400' not in stuck['msg'], stuck
    assert [s.status for s in snapshots_of(demo_conn, volume.id)] == ['error_deleting']
    # after the reset the next run removes it, as the message says
    admin_conn.block_storage.reset_snapshot_status(snapshot_id, 'error')
    assert run(CINDER, cloud_env, volume=volume.id, snapshot_name='daily', state='absent').changed is True
    assert snapshots_of(demo_conn, volume.id) == []


def test_absent_without_wait_on_a_creating_snapshot_is_bounded(cloud_env, admin_conn, demo_conn, make_volume,
                                                               unique):
    volume = make_volume(unique)
    snapshot_id = run(CINDER, cloud_env, volume=volume.id, snapshot_name='daily')['snapshot']['id']
    admin_conn.block_storage.reset_snapshot_status(snapshot_id, 'creating')
    slow = run(CINDER, cloud_env, volume=volume.id, snapshot_name='daily', state='absent', wait=False, timeout=3)
    no_traceback(slow)
    assert slow.failed and 'still creating after 3s' in slow['msg'] and 'HTTP 400' not in slow['msg'], slow
    assert [s.id for s in snapshots_of(demo_conn, volume.id)] == [snapshot_id]
    admin_conn.block_storage.reset_snapshot_status(snapshot_id, 'available')
    done = run(CINDER, cloud_env, volume=volume.id, snapshot_name='daily', state='absent', wait=False)
    assert done.changed is True and done['deleted'] == [snapshot_id], done
    wait_status(lambda: get_or_none(demo_conn.block_storage.get_snapshot, snapshot_id), {'gone'})


@pytest.mark.parametrize('name', ['', '   ', ' daily', 'daily '])
def test_bad_snapshot_names_never_reach_cinder(cloud_env, demo_conn, make_volume, unique, name):
    volume = make_volume('%s-%d' % (unique, len(name)))
    bad = run(CINDER, cloud_env, volume=volume.id, snapshot_name=name)
    no_traceback(bad)
    assert bad.failed and bad['msg'].startswith('snapshot_name'), bad
    assert snapshots_of(demo_conn, volume.id) == []

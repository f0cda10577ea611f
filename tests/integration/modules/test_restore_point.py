"""Point-in-time restore (restore_point) against the real local Cinder and Manila, through ansible-playbook."""
from conftest import get_or_none, no_traceback, snapshots_of, wait_status
from playbook_runner import run_module

CINDER = 'dataprotection.openstack.cinder_snapshot_protect'
MANILA = 'dataprotection.openstack.manila_share_protect'


def run(module, cloud_env, check=False, **args):
    args.setdefault('cloud', 'localcloud-demo')
    args.setdefault('timeout', 60)
    args.setdefault('poll_interval', 0.5)
    return run_module(module, args, check=check, env=cloud_env)


def test_cinder_restore_point_by_time_name_and_id(cloud_env, demo_conn, make_volume, unique):
    volume = make_volume(unique)
    for attempt in range(3):
        assert run(CINDER, cloud_env, volume=volume.id, snapshot_name='nightly', retain=3).changed is True, attempt
    rotated = sorted((s for s in snapshots_of(demo_conn, volume.id)), key=lambda s: (s.created_at, s.id))
    assert len(rotated) == 3
    first, second, third = rotated
    assert first.created_at < third.created_at
    restore = dict(volume=volume.id, snapshot_name='nightly', state='restored')

    check = run(CINDER, cloud_env, check=True, restore_name=unique + '-t', restore_point=first.created_at + 'Z',
                **restore)
    assert check.changed is True and check['snapshot']['id'] == first.id, check
    by_time = run(CINDER, cloud_env, restore_name=unique + '-t', restore_point=first.created_at + 'Z', **restore)
    assert not by_time.failed and by_time['snapshot']['id'] == first.id, by_time
    assert demo_conn.block_storage.get_volume(by_time['resource_map'][volume.id]).snapshot_id == first.id
    again = run(CINDER, cloud_env, restore_name=unique + '-t', restore_point=first.created_at + 'Z', **restore)
    assert again.changed is False and again['resource_map'] == by_time['resource_map'], again

    by_name = run(CINDER, cloud_env, restore_name=unique + '-n', restore_point=second.name, **restore)
    assert by_name['snapshot']['id'] == second.id, by_name
    latest = run(CINDER, cloud_env, check=True, restore_name=unique + '-l', **restore)
    assert latest['snapshot']['id'] == third.id, latest

    # someone else's snapshot of the same volume: by id only
    foreign = demo_conn.block_storage.create_snapshot(volume_id=volume.id, name='manual')
    wait_status(lambda: get_or_none(demo_conn.block_storage.get_snapshot, foreign.id), {'available'})
    by_id = run(CINDER, cloud_env, check=True, restore_name=unique + '-f', restore_point=foreign.id, **restore)
    assert by_id.changed is True and by_id['snapshot']['id'] == foreign.id, by_id

    for wanted, words in (('manual', 'not a date'), ('2000-01-01', 'at or before 2000-01-01T23:59:59')):
        bad = run(CINDER, cloud_env, restore_name=unique + '-x', restore_point=wanted, **restore)
        no_traceback(bad)
        assert bad.failed and words in bad['msg'] and 'restore_point %s' % wanted in bad['msg'], bad
    assert list(demo_conn.block_storage.volumes(name=unique + '-x')) == []


def test_manila_restore_point_by_name_and_revert_needs_latest(cloud_env, manila, make_share, unique):
    share = make_share(unique)
    for attempt in range(2):
        assert run(MANILA, cloud_env, share=share.id, snapshot_name='nightly', retain=2).changed is True, attempt
    older, newer = sorted(manila.snapshots(share.id), key=lambda s: (s['created_at'], s['id']))
    restore = dict(share=share.id, snapshot_name='nightly', state='restored')
    new_share = run(MANILA, cloud_env, check=True, restore_name=unique + '-r', restore_point=older['name'], **restore)
    assert new_share.changed is True and new_share['share_snapshot']['id'] == older['id'], new_share
    revert = run(MANILA, cloud_env, share_id=share.id, restore_point=older['name'], **restore)
    no_traceback(revert)
    assert revert.failed and 'only to its latest' in revert['msg'] and newer['id'] in revert['msg'], revert

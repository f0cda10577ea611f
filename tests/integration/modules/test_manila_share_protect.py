"""manila_share_protect and protectable_info through real ansible-playbook runs against the real local Manila."""

import pytest
import yaml

from conftest import MV, no_traceback, wait_status
from playbook_runner import finish, run_module, start_module

MODULE = 'dataprotection.openstack.manila_share_protect'
INFO = 'dataprotection.openstack.protectable_info'


def protect(cloud_env, check=False, diff=False, cloud='localcloud-demo', **args):
    args.setdefault('cloud', cloud)
    args.setdefault('timeout', 60)
    args.setdefault('poll_interval', 0.5)
    return run_module(MODULE, args, check=check, diff=diff, env=cloud_env)


@pytest.fixture
def share_type(os_conn_factory, unique):
    """A second share type (a copy of `default`), so a restore that kept the source's type is visible."""
    admin = os_conn_factory('localcloud-admin', shared_file_system_default_microversion='2.65').shared_file_system
    specs = {'snapshot_support': 'True', 'create_share_from_snapshot_support': 'True',
             'revert_to_snapshot_support': 'True', 'mount_snapshot_support': 'True'}
    created = admin.create_share_type(name=unique + '-type', extra_specs=dict(specs,
                                      driver_handles_share_servers='False'))
    yield created
    admin.delete_share_type(created.id, ignore_missing=True)


def test_present_check_idempotent_absent(cloud_env, manila, make_share, unique):
    share = make_share(unique)
    check = protect(cloud_env, check=True, diff=True, share=unique, snapshot_name='daily')
    assert check.changed is True and not check.failed, check
    assert manila.snapshots(share.id) == []
    assert check['diff']['before'] == {} and check['diff']['after']['name'] == 'daily'

    first = protect(cloud_env, share=unique, snapshot_name='daily', description='d1', metadata={'owner': 'it'})
    assert first.changed is True and not first.failed, first
    snaps = manila.snapshots(share.id)
    assert [(s['name'], s['status']) for s in snaps] == [('daily', 'available')]
    assert first['share_snapshot']['id'] == snaps[0]['id'] and first['share']['id'] == share.id
    assert snaps[0]['metadata']['owner'] == 'it' and snaps[0]['metadata']['dataprotection_managed'] == 'true'
    assert snaps[0]['description'] == 'd1'

    again = protect(cloud_env, share=share.id, snapshot_name='daily')
    assert again.changed is False and again['share_snapshot']['id'] == snaps[0]['id'], again
    assert protect(cloud_env, check=True, share=unique, snapshot_name='daily').changed is False

    assert protect(cloud_env, check=True, share=unique, snapshot_name='daily', state='absent').changed is True
    assert len(manila.snapshots(share.id)) == 1
    absent = protect(cloud_env, share=unique, snapshot_name='daily', state='absent')
    assert absent.changed is True and absent['deleted'] == [snaps[0]['id']], absent
    assert manila.snapshots(share.id) == []
    assert protect(cloud_env, share=unique, snapshot_name='daily', state='absent').changed is False


def test_restore_to_new_share_keeps_type_and_network(cloud_env, manila, share_type, make_share, unique):
    share = make_share(unique, size=2, share_type=share_type.id)
    assert protect(cloud_env, share=unique, snapshot_name='s1').changed is True
    args = dict(share=unique, snapshot_name='s1', state='restored', restore_name=unique + '-r')
    check = protect(cloud_env, check=True, **args)
    assert check.changed is True and check['resource_map'] == {share.id: None}, check
    assert manila.shares_named(unique + '-r') == []
    restored = protect(cloud_env, restore_description='restored by test', **args)
    assert restored.changed is True and not restored.failed, restored
    new = manila.share(restored['resource_map'][share.id])
    assert new.status == 'available' and new.size == 2 and new.snapshot_id == restored['share_snapshot']['id']
    assert new.share_type == share.share_type == share_type.id and new.share_protocol == 'NFS'
    assert new.share_network_id == share.share_network_id  # DHSS=False here: both None
    assert new.availability_zone == share.availability_zone and new.description == 'restored by test'
    assert new.metadata['dataprotection_restored_from'] == restored['share_snapshot']['id']
    again = protect(cloud_env, **args)
    assert again.changed is False and again['resource_map'] == {share.id: new.id}, again
    assert protect(cloud_env, check=True, **args).changed is False
    # the name is now taken by a share that is not from this snapshot's protection
    assert protect(cloud_env, share=unique, snapshot_name='s2').changed is True
    taken = protect(cloud_env, share=unique, snapshot_name='s2', state='restored', restore_name=unique + '-r')
    assert taken.failed and 'already exists' in taken['msg'] and unique + '-r' in taken['msg'], taken
    no_traceback(taken)


def test_revert_in_place_latest_only(cloud_env, manila, make_share, unique):
    share = make_share(unique)
    other = make_share(unique + '-other')
    assert protect(cloud_env, share=unique, snapshot_name='old').changed is True
    assert protect(cloud_env, share=unique, snapshot_name='new').changed is True
    refused = protect(cloud_env, share=unique, snapshot_name='old', state='restored', share_id=share.id)
    assert refused.failed and 'only to its latest snapshot' in refused['msg'], refused
    assert "'new'" not in refused['msg'] and 'new (' in refused['msg'] and share.id in refused['msg']
    no_traceback(refused)
    foreign = protect(cloud_env, share=unique, snapshot_name='new', state='restored', share_id=other.id)
    assert foreign.failed and 'only into its own share' in foreign['msg'] and other.id in foreign['msg'], foreign

    args = dict(share=unique, snapshot_name='new', state='restored', share_id=share.id)
    check = protect(cloud_env, check=True, diff=True, **args)
    marker = {'dataprotection_reverted_to': check['share_snapshot']['id']}
    assert check.changed is True and check['diff']['after'] == marker, check
    assert 'dataprotection_reverted_to' not in manila.share(share.id).metadata
    reverted = protect(cloud_env, **args)
    assert reverted.changed is True and reverted['reverted'] is True and not reverted.failed, reverted
    assert reverted['resource_map'] == {share.id: share.id}
    now = manila.share(share.id)
    assert now.status == 'available'
    assert now.metadata['dataprotection_reverted_to'] == reverted['share_snapshot']['id']
    again = protect(cloud_env, **args)
    assert again.changed is False and again['reverted'] is False, again
    assert protect(cloud_env, check=True, **args).changed is False


def test_retention_and_min_age(cloud_env, manila, make_share, unique):
    share = make_share(unique)
    manual = manila.sfs.post('/snapshots', json={'snapshot': {'share_id': share.id, 'name': 'nightly-manual'}},
                             microversion=MV).json()['snapshot']
    wait_status(lambda: manila.snapshot(manual['id']), {'available'}, timeout=90)
    ids = []
    for _round in range(3):
        run = protect(cloud_env, share=unique, snapshot_name='nightly', retain=2)
        assert run.changed is True and not run.failed, run
        ids.append(run['share_snapshot']['id'])
    assert run['deleted'] == [ids[0]], run
    assert {s['id'] for s in manila.snapshots(share.id)} == {ids[1], ids[2], manual['id']}
    check = protect(cloud_env, check=True, share=unique, snapshot_name='nightly', retain=1)
    assert check.changed is True and sorted(check['deleted']) == sorted(ids[1:]), check
    skipped = protect(cloud_env, share=unique, snapshot_name='nightly', retain=2, min_age=3600)
    assert skipped.changed is False and skipped['rotation_skipped'] is True and skipped['share_snapshot']['id'] == ids[2]
    absent = protect(cloud_env, share=unique, snapshot_name='nightly', state='absent')
    assert sorted(absent['deleted']) == sorted(ids[1:])
    assert [s['id'] for s in manila.snapshots(share.id)] == [manual['id']]


def test_unknown_share_and_snapshot_error_removed(cloud_env, manila, make_share, unique):
    run = protect(cloud_env, share=unique + '-missing', snapshot_name='daily')
    assert run.failed and run['msg'] == 'share %s-missing: not found' % unique, run
    no_traceback(run)
    share = make_share(unique, metadata={'localcloud_fail': 'snapshot'})
    run = protect(cloud_env, share=unique, snapshot_name='daily')
    assert run.failed and 'status error' in run['msg'] and 'was removed' in run['msg'] and unique in run['msg'], run
    no_traceback(run)
    assert manila.snapshots(share.id) == []


def test_timeout_removes_stalled_snapshot(cloud_env, manila, make_share, unique):
    share = make_share(unique, metadata={'localcloud_delay_snapshot': '15'})
    # Manila deletes a snapshot only once it is available or error: the cleanup waits (its own bound) for that
    run = protect(cloud_env, share=unique, snapshot_name='daily', timeout=3)
    assert run.failed and 'timed out after 3s' in run['msg'] and 'last status: creating' in run['msg'], run
    assert 'was removed' in run['msg'], run
    no_traceback(run)
    assert manila.snapshots(share.id) == []


def test_manila_api_down(cloud_env, clouds_yaml_path, unique):
    with open(clouds_yaml_path) as handle:
        cloud = yaml.safe_load(handle)['clouds']['localcloud-demo']
    cloud['shared_file_system_endpoint_override'] = 'http://127.0.0.1:9/v2/%(project_id)s'
    run = protect(cloud_env, cloud=cloud, share=unique, snapshot_name='daily', api_timeout=5)
    assert run.failed and run['msg'].startswith('cannot reach the OpenStack API'), run
    assert '127.0.0.1:9' in run['msg']
    no_traceback(run)


def test_share_with_protection_cannot_be_deleted_until_absent(cloud_env, manila, make_share, unique):
    share = make_share(unique)
    assert protect(cloud_env, share=unique, snapshot_name='keep').changed is True
    response = manila.sfs.delete('/shares/%s' % share.id, microversion='2.65')
    assert response.status_code in (400, 403, 409) and 'snapshot' in response.text.lower(), response.text
    assert manila.share(share.id).status == 'available'
    assert protect(cloud_env, share=unique, snapshot_name='keep', state='absent').changed is True
    manila.sfs.delete_share(share.id)
    wait_status(lambda: manila.share(share.id), {'gone'}, timeout=90)
    # the protection of a deleted share is simply absent
    assert protect(cloud_env, share=share.id, snapshot_name='keep', state='absent').changed is False


def test_bulk_and_protectable_info(cloud_env, manila, make_share, unique):
    good = [make_share('%s-%d' % (unique, i), metadata={'backup': unique}) for i in range(2)]
    bad = make_share(unique + '-bad', metadata={'backup': unique, 'localcloud_fail': 'snapshot'})
    bulk_args = dict(cloud='localcloud-demo', share_metadata={'backup': unique}, snapshot_name='bulk', timeout=60,
                     poll_interval=0.5)
    check = run_module(MODULE, bulk_args, check=True, env=cloud_env)
    assert check.changed is True and not check.failed and len(check['share_snapshots']) == 3, check
    assert all(manila.snapshots(s.id) == [] for s in good)
    del bulk_args['share_metadata']
    run = run_module(MODULE, dict(bulk_args, query="[?metadata.backup=='%s']" % unique, concurrency=3), env=cloud_env)
    assert run.failed and '1 of 3 shares failed' in run['msg'] and bad.id in run['msg'], run
    by_share = {e['share_ref']: e for e in run['share_snapshots']}
    for share in good:
        assert by_share[share.id]['changed'] is True and not by_share[share.id]['failed']
        assert [s['name'] for s in manila.snapshots(share.id)] == ['bulk']
    assert by_share[bad.id]['failed'] is True and manila.snapshots(bad.id) == []
    names = [s.name for s in good]
    assert run_module(MODULE, dict(bulk_args, shares=names), env=cloud_env).changed is False

    info = run_module(INFO, dict(cloud='localcloud-demo', protection='bulk'), env=cloud_env)
    assert not info.failed and info.changed is False, info
    listed = {e['id']: e for e in info['protectables']}
    for share in good:
        assert [s['name'] for s in listed[share.id]['snapshots']] == ['bulk']
        assert listed[share.id]['resource_type'] == 'share'
        assert [p['id'] for p in listed[share.id]['restore_points']['bulk']] == \
            [s['id'] for s in manila.snapshots(share.id)]
    assert listed[bad.id]['snapshots'] == [] and listed[bad.id]['restore_points'] == {}
    assert info['skipped_services'] == []

    gone = run_module(MODULE, dict(bulk_args, shares=names, state='absent'), env=cloud_env)
    assert gone.changed is True and len(gone['deleted']) == 2, gone
    assert all(manila.snapshots(s.id) == [] for s in good)


def test_protectable_info_skips_error_shares_and_lists_volumes(cloud_env, make_share, make_volume, unique):
    broken = make_share(unique + '-broken', metadata={'localcloud_fail': 'create'}, expect='error')
    ok = make_share(unique)
    info = run_module(INFO, dict(cloud='localcloud-demo', resource_type='share'), env=cloud_env)
    assert not info.failed and info.changed is False, info
    assert ok.id in [e['id'] for e in info['protectables']]
    assert broken.id not in [e['id'] for e in info['protectables']]
    assert {'id': broken.id, 'name': broken.name, 'status': 'error', 'resource_type': 'share'} in info['unprotectable']
    volume = make_volume(unique + '-vol')
    volumes = run_module(INFO, dict(cloud='localcloud-demo', resource_type='volume'), env=cloud_env)
    listed = {e['id']: e for e in volumes['protectables']}
    assert not volumes.failed and listed[volume.id]['snapshots'] == [] and listed[volume.id]['size'] == 1, volumes


def test_concurrent_runs_make_one_snapshot(cloud_env, manila, make_share, unique):
    share = make_share(unique)
    args = dict(cloud='localcloud-demo', share=unique, snapshot_name='daily', timeout=60, poll_interval=0.5)
    runs = [finish(h) for h in [start_module(MODULE, args, env=cloud_env) for _unused in range(2)]]
    assert not any(r.failed for r in runs), runs
    snaps = manila.snapshots(share.id)
    assert [s['name'] for s in snaps] == ['daily'], snaps
    assert {r['share_snapshot']['id'] for r in runs} == {snaps[0]['id']}


def test_invalid_options_clear_messages(cloud_env, unique):
    run = protect(cloud_env, share=unique, snapshot_name='x', state='restored')
    assert run.failed and 'restore_name' in run['msg'] and 'share_id' in run['msg'], run
    no_traceback(run)

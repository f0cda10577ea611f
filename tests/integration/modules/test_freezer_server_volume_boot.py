"""freezer_job: a volume-booted server restored as a NEW server booted from a NEW volume holding its boot volume's
backup, after the server and its volume were deleted; rerun, check mode and a restored server in ERROR, through real
ansible-playbook runs against the local cloud (Nova with the fake driver, Cinder backup, freezer-api and a private
freezer-scheduler + freezer-agent)."""
import pytest

from conftest import get_or_none, no_traceback, wait_status
from playbook_runner import finish, start_tasks
from test_freezer_job import (  # noqa: F401 - fixtures used by name
    MODULE,
    assert_no_job_left,
    freezer,
    job,
    nova_servers,
    read_marker,
    scheduler,
    volumes,
    write_marker,
)

SERVER_ID_KEY = 'dataprotection_server_id'
RESTORED_FROM_KEY = 'dataprotection_restored_from'
DATA = b'volume-booted server restore marker\n'


def restores(cloud_env, **runs):
    """One ansible-playbook run (one start-up on a loaded machine) with a freezer_job task per ``runs`` entry, in
    order; an entry's ``check`` key runs that task in check mode. Returns {name: result}."""
    tasks = []
    for register, args in runs.items():
        args = dict(args)
        check = args.pop('check', False)
        args.setdefault('cloud', 'localcloud-demo')
        args.setdefault('poll_interval', 1)
        tasks.append({'name': register, MODULE: args, 'register': register, 'check_mode': check})
    play = finish(start_tasks(tasks, env=cloud_env))
    return dict((register, PlayResult(play.result[register], play.stdout)) for register in runs)


class PlayResult(dict):
    """One task's result, as the helpers of test_freezer_job (``changed``, ``failed``, ``stdout``) see it."""

    def __init__(self, result, stdout):
        super().__init__(result)
        self.result, self.stdout = result, stdout

    changed = property(lambda self: self.get('changed'))
    failed = property(lambda self: bool(self.get('failed')))


def named(items, text):
    return [i for i in items if text in (i.name or '')]


@pytest.fixture
def leftovers(volumes, nova_servers, admin_conn, unique):  # noqa: F811
    """Torn down before ``volumes`` and ``nova_servers``: the servers named ``<unique>*`` go first (their volumes
    are then detached by Nova), then the volumes the restores made (named ``<unique>*``, marked as restored)."""
    yield
    conn = nova_servers['conn']
    servers = named(conn.compute.servers(), unique)
    for server in servers:
        conn.compute.delete_server(server.id, ignore_missing=True)
    for server in servers:
        wait_status(lambda s=server: get_or_none(conn.compute.get_server, s.id), {'gone'}, timeout=300)
    bs = admin_conn.block_storage
    for volume in named(conn.block_storage.volumes(details=True), unique):
        if (volume.metadata or {}).get(RESTORED_FROM_KEY):
            wait_status(lambda v=volume: get_or_none(bs.get_volume, v.id), {'available', 'error', 'gone'}, timeout=300)
            bs.delete_volume(volume.id, ignore_missing=True)
            wait_status(lambda v=volume: get_or_none(bs.get_volume, v.id), {'gone'}, timeout=300)


def test_volume_booted_server_restored_as_a_new_server_after_it_was_deleted(cloud_env, admin_conn, freezer, scheduler,
                                                                            volumes, nova_servers, leftovers, unique):
    conn = nova_servers['conn']
    bs = conn.block_storage
    boot = volumes(unique + '-boot')
    write_marker(boot.id, DATA)
    bs.set_volume_bootable_status(boot, True)
    flavor = nova_servers['flavor'](unique + '-f', ram=64)
    server = conn.compute.create_server(name=unique + '-srv', flavor_id=flavor.id, networks='none',
                                        block_device_mapping=[{'boot_index': 0, 'uuid': boot.id,
                                                               'source_type': 'volume', 'destination_type': 'volume',
                                                               'delete_on_termination': False}])
    server = wait_status(lambda: get_or_none(conn.compute.get_server, server.id), {'ACTIVE', 'ERROR'}, timeout=300)
    assert server.status == 'ACTIVE', server.fault
    wait_status(lambda: bs.get_volume(boot.id), {'in-use'}, timeout=300)
    base = dict(resource_type='server', resource_id=server.id, backup_name=unique, client_id=scheduler['client_id'],
                timeout=300)

    # backup: the boot volume's Cinder backup, which records the server (Freezer's action carries no extra key)
    backup = job(cloud_env, operation='backup', **base)
    assert backup.changed is True and not backup.failed, backup
    [action] = [a['freezer_action'] for a in backup['job']['job_actions']]
    assert (action['mode'], action['cindernative_vol_id']) == ('cindernative', boot.id)
    assert not [k for k in action if k.startswith('dataprotection')]
    [cinder_backup] = backup['cinder_backups']
    stored = bs.get_backup(cinder_backup['id']).metadata
    assert stored[SERVER_ID_KEY] == server.id and stored['created_by'] == 'freezer', stored
    assert stored['dataprotection_server_name'] == unique + '-srv'
    assert stored['dataprotection_server_flavor'] == flavor.name
    assert_no_job_left(freezer, unique)

    # the source server and its volume are gone
    conn.compute.delete_server(server.id)
    wait_status(lambda: get_or_none(conn.compute.get_server, server.id), {'gone'}, timeout=300)
    wait_status(lambda: bs.get_volume(boot.id), {'available'}, timeout=300)
    bs.delete_volume(boot.id)
    wait_status(lambda: get_or_none(bs.get_volume, boot.id), {'gone'}, timeout=300)

    # one play: check mode, the restore, a second run (check mode and real), a restore whose server goes to ERROR
    restore = dict(base, operation='restore', restore_server_name=unique + '-restored')
    huge = nova_servers['flavor'](unique + '-huge', ram=4096000)
    runs = restores(cloud_env, planned=dict(restore, check=True), done=restore, again_check=dict(restore, check=True),
                    again=restore, failed=dict(restore, restore_server_name=unique + '-err', restore_flavor=huge.name))

    # check mode predicted the restore (and made nothing: the real run below still creates both)
    planned, done = runs['planned'], runs['done']
    assert planned.changed is True and not planned.failed, planned
    assert planned['resource_map'] == {server.id: '(would be created)', boot.id: '(would be created)'}
    assert planned['restored'][0]['flavor'] == flavor.name and planned['restored'][0]['name'] == unique + '-restored'

    # the restore: a new volume with the backup's data, a new server booted from it with the recorded flavor
    assert done.changed is True and not done.failed, done
    new_server_id, new_volume_id = done['resource_map'][server.id], done['resource_map'][boot.id]
    assert set(done['resource_map']) == {server.id, boot.id} and new_server_id != new_volume_id
    new = conn.compute.get_server(new_server_id)
    assert (new.name, new.status) == (unique + '-restored', 'ACTIVE')
    assert new.metadata[RESTORED_FROM_KEY] == cinder_backup['id']
    assert new.flavor['original_name'] == flavor.name
    assert [a['id'] for a in new.attached_volumes] == [new_volume_id]
    volume = bs.get_volume(new_volume_id)
    assert volume.status == 'in-use' and volume.is_bootable
    assert volume.metadata[RESTORED_FROM_KEY] == cinder_backup['id']
    assert read_marker(new_volume_id, len(DATA)) == DATA
    assert done['restored'][0]['id'] == new_server_id and done['diff']['after']['id'] == new_server_id
    assert not done['diff']['before']

    # the second run (and its check mode) found the server by name and marker
    for again in (runs['again_check'], runs['again']):
        assert again.changed is False and not again.failed, again
        assert again['resource_map'] == done['resource_map']

    # Nova put the other new server in ERROR (no host for the flavor): one message with Nova's fault, nothing left
    failed = runs['failed']
    assert failed.failed and 'ERROR' in failed['msg'] and 'No valid host' in failed['msg'], failed
    assert 'was removed' in failed['msg'] and 'left behind' not in failed['msg'], failed
    no_traceback(failed)
    assert [s.id for s in named(conn.compute.servers(), unique)] == [new_server_id]
    assert [v.id for v in named(bs.volumes(details=True), unique)] == [new_volume_id]
    assert_no_job_left(freezer, unique)

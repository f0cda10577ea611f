"""freezer_job ``volume_mode: cinder`` (Freezer's backup through Glance) end to end: real ansible-playbook, a real
freezer-scheduler + freezer-agent, real Cinder (snapshot, volume from snapshot, upload to image, volume from image),
Glance and Swift, in a project of its own (so that "nothing left behind" is checked on everything in it).

Cinder's upload to Glance and volumes from images need the local cloud's Cinder driver with ``local_path``
(localcloud/drivers/cinder_fault.py): a cinder-volume started before that change fails every upload."""
import os
import time

import pytest

from conftest import get_or_none, wait_status
from test_freezer_job import job, private_scheduler, read_marker, swift_objects, write_marker  # noqa: F401
from test_freezer_job_project import tenant  # noqa: F401 (fixture)


@pytest.fixture
def project(tenant):
    """The tenant; at teardown first what the tenant fixture does not remove (snapshots: they block volume deletes)."""
    conn = tenant['conn']
    yield tenant
    for snapshot in conn.block_storage.snapshots(details=True):
        conn.block_storage.delete_snapshot(snapshot.id, ignore_missing=True)
        wait_status(lambda s=snapshot: get_or_none(conn.block_storage.get_snapshot, s.id), {'gone', 'error_deleting'})


@pytest.fixture
def tenant_scheduler(project, clouds_yaml):
    """A freezer-scheduler of the tenant (non-central: the central one serves cindernative and nova only)."""
    with private_scheduler(clouds_yaml, project['freezer'], project_name=project['cloud'],
                           prefix='it-cinder-mode') as running:
        yield running


def make_volume(conn, name, metadata=None):
    volume = conn.block_storage.create_volume(name=name, size=1, availability_zone='nova', metadata=metadata or {})
    volume = wait_status(lambda: get_or_none(conn.block_storage.get_volume, volume.id), {'available', 'error'})
    assert volume.status == 'available'
    return volume


def inventory(conn):
    """Everything of the project that a cinder-mode run can leave: snapshots, volumes, images, Swift containers."""
    return dict(snapshots=sorted((s.name, s.status) for s in conn.block_storage.snapshots(details=True)),
                volumes=sorted((v.name, v.status) for v in conn.block_storage.volumes(details=True)),
                images=sorted(i.name for i in conn.image.images(owner=conn.current_project_id)),
                containers=sorted(c.name for c in conn.object_store.containers()))


def settled(conn, want):
    """The inventory once it equals ``want`` (the agent deletes its temporary resources asynchronously)."""
    deadline = time.monotonic() + 120
    while True:
        now = inventory(conn)
        if now == want or time.monotonic() > deadline:
            return now
        time.sleep(1)


def test_cinder_mode_backup_restore_rerun_admin(project, tenant_scheduler, unique):
    conn, env, freezer = project['conn'], project['env'], project['freezer']
    volume = make_volume(conn, unique + '-data')
    data = os.urandom(8192)
    write_marker(volume.id, data)
    base = dict(cloud=project['cloud'], resource_id=volume.id, backup_name=unique, volume_mode='cinder',
                client_id=tenant_scheduler['client_id'], timeout=240)
    container = 'freezer_' + unique
    empty = inventory(conn)
    assert empty['volumes'] == [(unique + '-data', 'available')] and empty['containers'] == []

    check = job(env, check=True, operation='backup', **base)
    assert check.changed is True and not check.failed, check.get('msg', check)
    [action] = [a['freezer_action'] for a in check['job']['job_actions']]
    assert (action['mode'], action['cinder_vol_id'], action['container']) == ('cinder', volume.id, container)
    assert freezer.jobs() == [] and inventory(conn) == empty

    backup = job(env, operation='backup', **base)
    assert backup.changed is True and not backup.failed, backup.get('msg', backup)
    print('cinder-mode backup of a 1 GiB volume: %.1f s %s' % (backup['elapsed'], backup['timings']))
    [record] = backup['backups']
    assert record['backup_metadata']['cinder_vol_id'] == volume.id and record['backup_metadata']['mode'] == 'cinder'
    objects = swift_objects(conn, container)
    assert objects and all(o.startswith('%s_segments/%s/' % (container, volume.id)) for o in objects), objects
    # the agent's temporary snapshot, volume and image are gone; only the Swift container stays
    assert settled(conn, dict(empty, containers=[container])) == dict(empty, containers=[container])
    assert freezer.jobs() == []

    # Freezer's cinder mode restores into a NEW volume; into the existing one it cannot
    existing = job(env, operation='restore', restore_to='existing', **base)
    assert existing.failed and 'new volume' in existing['msg'] and 'Traceback' not in existing['msg'], existing
    check_restore = job(env, check=True, operation='restore', **base)
    assert check_restore.changed is True and not check_restore.failed, check_restore.get('msg', check_restore)
    assert inventory(conn) == dict(empty, containers=[container]) and freezer.jobs() == []

    # the agent streams 1 GiB from Swift to Glance in small chunks: minutes on a loaded 2-core machine
    restore = job(env, operation='restore', restore_volume_name=unique + '-back', **dict(base, timeout=900))
    assert restore.changed is True and not restore.failed, restore.get('msg', restore)
    print('cinder-mode restore into a new volume: %.1f s %s' % (restore['elapsed'], restore['timings']))
    [restored] = restore['restored']
    assert restore['resource_map'] == {volume.id: restored['id']} and restored['id'] != volume.id
    new = conn.block_storage.get_volume(restored['id'])
    assert (new.name, new.status, new.size) == (unique + '-back', 'available', 1)
    assert new.metadata.get('dataprotection_restored_from') == record['backup_id']
    assert read_marker(new.id, len(data)) == data
    assert settled(conn, inventory(conn))['images'] == [] and freezer.jobs() == []

    again = job(env, operation='restore', restore_volume_name=unique + '-back', **base)
    assert again.changed is False and again['resource_map'] == {volume.id: new.id}, again
    assert job(env, check=True, operation='restore', restore_volume_name=unique + '-back', **base).changed is False
    assert len(list(conn.block_storage.volumes())) == 2

    # removal of this protection's backups (Swift objects, the container the agent made, Freezer records)
    admin_check = job(env, check=True, operation='admin', **base)
    assert admin_check.changed is True and swift_objects(conn, container) == objects, admin_check
    admin = job(env, operation='admin', **base)
    assert admin.changed is True and not admin.failed, admin.get('msg', admin)
    assert swift_objects(conn, container) is None and freezer.backups_of(unique) == [] and freezer.jobs() == []
    assert job(env, operation='admin', **base).changed is False


def test_cinder_mode_failed_upload_leaves_nothing_behind(project, tenant_scheduler, unique):
    """Cinder refuses the upload of the agent's temporary volume to Glance (fault injection on the source volume):
    Freezer 19's agent would wait for the deleted image forever; the module fails with Cinder's reason and removes the
    temporary snapshot, volume, image, the Swift container and the job, so that the source volume can be deleted."""
    conn, env, freezer = project['conn'], project['env'], project['freezer']
    volume = make_volume(conn, unique + '-data', metadata={'localcloud_fail': 'upload'})
    empty = inventory(conn)
    result = job(env, cloud=project['cloud'], operation='backup', resource_id=volume.id, backup_name=unique,
                 volume_mode='cinder', client_id=tenant_scheduler['client_id'], timeout=240)
    assert result.failed, result
    msg = result['msg']
    assert 'Traceback' not in msg and volume.id in msg and 'upload' in msg.lower(), msg
    assert 'freezer_backup_%s' % volume.id in msg, msg  # the temporary resources are named
    assert 'left behind' not in msg, msg
    assert settled(conn, empty) == empty
    assert freezer.jobs() == [] and freezer.backups_of(unique) == []
    conn.block_storage.delete_volume(volume.id)
    assert wait_status(lambda: get_or_none(conn.block_storage.get_volume, volume.id), {'gone', 'error_deleting'}) \
        is None

"""freezer_job on a whole project (``resource_type: project``): a project of its own, backed up through the local
cloud's central scheduler and restored with ``restore_prefix`` after everything in it was deleted.

Split from test_freezer_job.py (same helpers) so that the two run on different workers.
"""
import os
import tempfile

import pytest
import yaml

from conftest import get_or_none, wait_status
from test_freezer_job import Freezer, backups_named, job, read_marker, write_marker


@pytest.fixture
def tenant(admin_conn, clouds_yaml, os_conn_factory, unique):
    """A project of its own (a tenant backup covers everything in the project: the shared demo project holds other
    people's resources), with the demo user's roles, as cloud ``<unique>`` in a clouds.yaml of its own. Jobs run on
    the local cloud's central scheduler (its client is visible to every project). At teardown everything in the
    project goes, then the project."""
    ident = admin_conn.identity
    project = ident.create_project(name=unique, domain_id='default', description='freezer_job tenant test')
    demo_user = ident.find_user('demo', domain_id='default', ignore_missing=False)
    demo_project = ident.find_project('demo', domain_id='default', ignore_missing=False)
    for assignment in ident.role_assignments(user_id=demo_user.id, scope_project_id=demo_project.id):
        ident.assign_project_role_to_user(project, demo_user, assignment.role['id'])
    with open(clouds_yaml) as handle:
        config = yaml.safe_load(handle)
    entry = dict(config['clouds']['localcloud-demo'], compute_api_version='2.90')
    entry['auth'] = dict(entry['auth'], project_name=unique)
    config['clouds'][unique] = entry
    workdir = tempfile.mkdtemp(prefix='dp-tenant-')
    path = os.path.join(workdir, 'clouds.yaml')
    with open(path, 'w') as handle:
        yaml.safe_dump(config, handle)
    import openstack.config
    import openstack.connection
    conn = openstack.connection.Connection(config=openstack.config.OpenStackConfig(
        config_files=[path], load_envvars=False).get_one(cloud=unique))
    yield dict(conn=conn, env={'OS_CLIENT_CONFIG_FILE': path}, cloud=unique, project=project,
               freezer=Freezer(conn))
    tenant_freezer = Freezer(conn)
    for job_doc in tenant_freezer.jobs():
        tenant_freezer.delete_job_and_actions(job_doc)
    for record in tenant_freezer.get('/backups', limit=1000)[1]['backups']:
        conn.session.delete(tenant_freezer.base + '/backups/' + record['backup_id'], raise_exc=False)
    servers = list(conn.compute.servers())
    for server in servers:
        conn.compute.delete_server(server.id, ignore_missing=True)
    for server in servers:
        wait_status(lambda s=server: get_or_none(conn.compute.get_server, s.id), {'gone'}, timeout=180)
    for image in conn.image.images(owner=project.id):
        conn.image.delete_image(image.id, ignore_missing=True)
    bs = conn.block_storage
    for backup in bs.backups(details=True):
        bs.delete_backup(backup.id, ignore_missing=True)
        wait_status(lambda b=backup: get_or_none(bs.get_backup, b.id), {'gone', 'error'})
    for volume in bs.volumes(details=True):
        bs.delete_volume(volume.id, ignore_missing=True)
        wait_status(lambda v=volume: get_or_none(bs.get_volume, v.id), {'gone', 'error'})
    for container in [c.name for c in conn.object_store.containers()]:
        for obj in conn.object_store.objects(container):
            conn.object_store.delete_object(obj, container=container, ignore_missing=True)
        conn.object_store.delete_container(container, ignore_missing=True)
    ident.delete_project(project.id)


def test_project_backup_and_restore_with_prefix_after_everything_was_deleted(tenant, unique):
    conn, env, freezer_t = tenant['conn'], tenant['env'], tenant['freezer']
    data = os.urandom(16384)
    image = conn.image.create_image(name=unique + '-img', data=data, disk_format='raw', container_format='bare')
    server = conn.compute.create_server(name=unique + '-web', image_id=image.id, networks='none',
                                        flavor_id=conn.compute.find_flavor('dp.tiny', ignore_missing=False).id)
    volume = conn.block_storage.create_volume(name=unique + '-data', size=1, availability_zone='nova')
    volume = wait_status(lambda: get_or_none(conn.block_storage.get_volume, volume.id), {'available', 'error'})
    server = wait_status(lambda: get_or_none(conn.compute.get_server, server.id), {'ACTIVE', 'ERROR'}, timeout=180)
    assert volume.status == 'available' and server.status == 'ACTIVE', server.fault
    # the volume is the boot volume of a second, volume-booted server: the restore recreates that server too
    conn.block_storage.set_volume_bootable_status(volume, True)
    booted = conn.compute.create_server(name=unique + '-db', networks='none',
                                        flavor_id=conn.compute.find_flavor('dp.tiny', ignore_missing=False).id,
                                        block_device_mapping=[
                                            {'boot_index': 0, 'uuid': volume.id, 'source_type': 'volume',
                                             'destination_type': 'volume', 'delete_on_termination': False}])
    booted = wait_status(lambda: get_or_none(conn.compute.get_server, booted.id), {'ACTIVE', 'ERROR'}, timeout=180)
    assert booted.status == 'ACTIVE', booted.fault
    marker = ('dataprotection tenant %s' % unique).encode()
    write_marker(volume.id, marker)
    base = dict(cloud=tenant['cloud'], resource_type='project', backup_name=unique, client_id='localcloud-central',
                timeout=300)

    check = job(env, check=True, operation='backup', **base)
    assert check.changed is True and not check.failed, check
    actions = sorted((a['freezer_action']['mode'], a['freezer_action'].get('nova_inst_id') or
                      a['freezer_action'].get('cindernative_vol_id')) for a in check['job']['job_actions'])
    assert actions == sorted([('nova', server.id), ('cindernative', volume.id)])
    backup = job(env, operation='backup', **base)
    assert backup.changed is True and not backup.failed, backup
    print('tenant backup one-shot: %.1f s %s' % (backup['elapsed'], backup['timings']))
    assert [r['backup_metadata']['nova_inst_id'] for r in freezer_t.backups_of(unique)
            if r['backup_metadata'].get('mode') == 'nova'] == [server.id]
    assert [b.status for b in backups_named(conn, volume.id, unique)] == ['available']
    assert freezer_t.jobs_of(unique) == []

    # everything is gone: the servers, the image, the volume
    conn.compute.delete_server(server.id)
    conn.compute.delete_server(booted.id)
    conn.image.delete_image(image.id)
    for gone in (server, booted):
        wait_status(lambda g=gone: get_or_none(conn.compute.get_server, g.id), {'gone'}, timeout=180)
    wait_status(lambda: get_or_none(conn.block_storage.get_volume, volume.id), {'available'})
    conn.block_storage.delete_volume(volume.id)
    wait_status(lambda: get_or_none(conn.block_storage.get_volume, volume.id), {'gone'})

    restore = dict(base, operation='restore', restore_prefix='dr-')
    check = job(env, check=True, **restore)
    assert check.changed is True and not check.failed, check
    assert sorted(check['resource_map']) == sorted([server.id, booted.id, volume.id])
    assert list(conn.compute.servers()) == [] and list(conn.block_storage.volumes()) == []
    restored = job(env, **restore)
    assert restored.changed is True and not restored.failed, restored
    print('tenant restore one-shot: %.1f s %s' % (restored['elapsed'], restored['timings']))
    servers = dict((s.name, s) for s in conn.compute.servers())
    new_server, new_booted = servers.pop('dr-%s-web' % unique), servers.pop('dr-%s-db' % unique)
    assert servers == {}
    [new_volume] = list(conn.block_storage.volumes(details=True))
    assert restored['resource_map'] == {server.id: new_server.id, booted.id: new_booted.id, volume.id: new_volume.id}
    assert new_server.status == 'ACTIVE' and new_booted.status == 'ACTIVE'
    assert conn.image.download_image(new_server.image['id']).content == data
    # the volume-booted server boots from the restored volume, which holds the data of the backup
    assert [a['volume_id'] for a in conn.compute.volume_attachments(new_booted)] == [new_volume.id]
    assert new_volume.name == 'dr-%s-db' % unique and new_volume.is_bootable
    assert read_marker(new_volume.id, len(marker)) == marker
    again = job(env, **restore)
    assert again.changed is False and again['resource_map'] == restored['resource_map'], again
    assert job(env, check=True, **restore).changed is False
    assert len(list(conn.compute.servers())) == 2 and freezer_t.jobs_of(unique) == []

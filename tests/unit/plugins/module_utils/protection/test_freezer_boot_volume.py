"""Volume-booted servers (freezer/boot_volume.py) against an in-memory Nova, Cinder and freezer-api.

The real services run in tests/integration/modules/test_freezer_server_volume_boot.py; these cover the branches a
real cloud hardly reaches (backups from before the server was recorded, a flavor gone, a volume of an interrupted
run, Cinder refusing the record).
"""
import uuid

import pytest
from openstack import exceptions as sdk_exceptions

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.boot_volume import (
    SERVER_ID_KEY,
    recorded_server,
    server_marks,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.manifests import ProjectManifests
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.operations import (
    FreezerOperations,
)
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj

PROJECT = 'p' * 32
OPTS = dict(client_id='c1')


class Api:
    """freezer-api: a client, no nova records; a job started is run at once (cindernative backup in Cinder)."""

    def __init__(self, cloud):
        self.project_id, self.cloud = PROJECT, cloud
        self.jobs, self.actions = {}, {}

    def get_client(self, client_id):
        return dict(client_id=client_id, is_central=False)

    def list_backups(self):
        return []

    def create_job(self, doc):
        job_id = 'job%d' % len(self.jobs)
        self.jobs[job_id] = dict(doc, job_id=job_id)
        for index, entry in enumerate(self.jobs[job_id]['job_actions']):
            entry['action_id'] = '%s-act%d' % (job_id, index)
            self.actions[entry['action_id']] = entry
        return job_id

    def job_event(self, job_id, event):
        for entry in self.jobs[job_id]['job_actions']:
            action = entry['freezer_action']
            self.cloud.block_storage.backup(action['cindernative_vol_id'], action['backup_name'])
        self.jobs[job_id]['job_schedule'].update(status='completed', result='success')

    def get_job(self, job_id):
        return self.jobs.get(job_id)

    def delete_job(self, job_id):
        self.jobs.pop(job_id, None)

    def delete_action(self, action_id):
        self.actions.pop(action_id, None)


class Cinder:
    def __init__(self):
        self.vols, self.bks, self.calls = {}, {}, []
        self.restore_status, self.refuse_update = 'available', False

    def add(self, name, **fields):
        volume = Obj(**dict(dict(id=str(uuid.uuid4()), name=name, status='available', size=1, availability_zone='nova',
                                 is_bootable=False, attachments=[], metadata={}), **fields))
        self.vols[volume.id] = volume
        return volume

    def get_volume(self, volume_id):
        if volume_id not in self.vols:
            raise sdk_exceptions.NotFoundException(message='no volume')
        return self.vols[volume_id]

    def volumes(self, details=True, name=None):
        return [v for v in self.vols.values() if name is None or v.name == name]

    def create_volume(self, name, size, metadata=None, description=None, availability_zone=None):
        self.calls.append(('create_volume', name))
        return self.add(name, metadata=dict(metadata or {}))

    def restore_backup(self, backup_id, volume=None):
        self.vols[volume].status = self.restore_status

    def set_volume_bootable_status(self, volume, bootable):
        self.vols[volume.id].is_bootable = bootable

    def delete_volume(self, volume_id, ignore_missing=True):
        self.calls.append(('delete_volume', volume_id))
        self.vols.pop(volume_id, None)

    def backup(self, volume_id, name, metadata=None, created_at='2026-12-01T02:00:00.000000'):
        backup = Obj(id=str(uuid.uuid4()), name=name, status='available', volume_id=volume_id, size=1,
                     availability_zone='nova', created_at=created_at, is_incremental=False,
                     metadata=dict(metadata or {}, created_by='freezer'))
        self.bks[backup.id] = backup
        return backup

    def backups(self, details=True, volume_id=None):
        return [b for b in self.bks.values() if volume_id is None or b.volume_id == volume_id]

    def get_backup(self, backup_id):
        if backup_id not in self.bks:
            raise sdk_exceptions.NotFoundException(message='no backup')
        return self.bks[backup_id]

    def delete_backup(self, backup_id, ignore_missing=True):
        self.bks.pop(backup_id, None)

    def update_backup(self, backup_id, metadata):
        if self.refuse_update:
            raise sdk_exceptions.BadRequestException(message='Invalid input for field/attribute metadata')
        self.bks[backup_id].metadata = dict(metadata)


class Nova:
    def __init__(self, cinder):
        self.cinder, self.by_id, self.calls = cinder, {}, []
        self.flavors = [Obj(id='f1', name='small'), Obj(id='f9', name='huge')]
        self.networks = []

    def get_endpoint(self):
        return 'http://nova'

    def boot(self, name, volume, flavor='small', status='ACTIVE', metadata=None, networks=None):
        server = Obj(id=str(uuid.uuid4()), name=name, status=status, image='', flavor={'original_name': flavor},
                     addresses=dict((n, []) for n in networks or []), metadata=dict(metadata or {}),
                     root_device_name='/dev/vda', fault={'message': 'No valid host was found. '},
                     attached_volumes=[{'id': volume.id}])
        self.by_id[server.id] = server
        volume.attachments, volume.status = [dict(server_id=server.id, device='/dev/vda')], 'in-use'
        return server

    def find_server(self, name_or_id, ignore_missing=True):
        return next((s for s in self.by_id.values() if name_or_id in (s.id, s.name)), None)

    def get_server(self, server_id):
        if server_id not in self.by_id:
            raise sdk_exceptions.NotFoundException(message='no server')
        return self.by_id[server_id]

    def servers(self, details=True, name=None):
        return [s for s in self.by_id.values() if name is None or s.name == name.strip('^$')]

    def find_flavor(self, name_or_id, ignore_missing=True):
        return next((f for f in self.flavors if name_or_id in (f.id, f.name)), None)

    def create_server(self, name, flavor_id, networks, metadata, block_device_mapping):
        self.calls.append(('create_server', name, flavor_id, networks))
        [bdm] = block_device_mapping
        flavor = next(f.name for f in self.flavors if f.id == flavor_id)
        volume = self.cinder.vols[bdm['uuid']]
        assert volume.is_bootable and bdm['boot_index'] == 0
        return self.boot(name, volume, flavor=flavor, status='ERROR' if flavor == 'huge' else 'ACTIVE',
                         metadata=metadata)

    def delete_server(self, server_id, ignore_missing=True):
        server = self.by_id.pop(server_id, None)
        for volume in self.cinder.vols.values():
            if server is not None and [a for a in volume.attachments if a['server_id'] == server_id]:
                volume.attachments, volume.status = [], 'available'


@pytest.fixture
def cloud():
    cinder = Cinder()
    return Obj(block_storage=cinder, compute=Nova(cinder), image=None, object_store=None, network=None,
               current_project_id=PROJECT, identity=None)


def driver(cloud, api=None):
    return FreezerOperations(cloud, api=api or Api(cloud), timeout=5, poll_interval=0.001)


def backed_up_server(cloud, name='web', networks=None):
    boot = cloud.block_storage.add(name + '-boot', is_bootable=True)
    server = cloud.compute.boot(name, boot, networks=networks)
    result = driver(cloud).run_operation('server', server.id, 'b1', 'backup', OPTS)
    [backup] = result.data['cinder_backups']
    return server, boot, backup


def forget(cloud, server, boot):
    cloud.compute.delete_server(server.id)
    cloud.block_storage.delete_volume(boot.id)
    cloud.block_storage.calls[:] = []


def test_backup_records_the_server_in_the_cinder_backup_not_in_the_action(cloud):
    server, boot, backup = backed_up_server(cloud)
    stored = cloud.block_storage.bks[backup['id']].metadata
    assert stored == dict(created_by='freezer', dataprotection_server_id=server.id, dataprotection_server_name='web',
                          dataprotection_server_flavor='small', dataprotection_server_networks='[]')
    assert backup['metadata'] == stored
    assert recorded_server(cloud.block_storage.bks[backup['id']]) == dict(id=server.id, name='web', flavor='small',
                                                                          networks=[])


def test_a_refused_record_fails_the_backup_and_removes_it(cloud):
    cloud.block_storage.refuse_update = True
    boot = cloud.block_storage.add('web-boot', is_bootable=True)
    server = cloud.compute.boot('web', boot)
    with pytest.raises(ProtectionError, match='Cinder refused to record server web .*Invalid input.*was removed'):
        driver(cloud).run_operation('server', server.id, 'b1', 'backup', OPTS)
    assert cloud.block_storage.bks == {}


def test_restore_after_server_and_volume_are_gone_check_mode_rerun(cloud):
    server, boot, backup = backed_up_server(cloud)
    forget(cloud, server, boot)
    options = dict(OPTS, restore_server_name='web-dr')
    planned = driver(cloud).run_operation('server', server.id, 'b1', 'restore', options, dry_run=True)
    assert planned.changed is True and planned.data['resource_map'] == {server.id: '(would be created)',
                                                                        boot.id: '(would be created)'}
    assert planned.data['restored'][0]['flavor'] == 'small' and planned.data['job'] is None
    assert cloud.compute.by_id == {} and cloud.block_storage.vols == {} and cloud.block_storage.calls == []
    done = driver(cloud).run_operation('server', server.id, 'b1', 'restore', options)
    [new] = cloud.compute.by_id.values()
    [volume] = cloud.block_storage.vols.values()
    assert done.changed is True and done.data['resource_map'] == {server.id: new.id, boot.id: volume.id}
    assert (new.name, new.flavor['original_name']) == ('web-dr', 'small')
    assert new.metadata == dict(dataprotection_restored_from=backup['id'], dataprotection_protection='b1')
    assert volume.is_bootable and volume.name == 'web-dr' and volume.metadata['dataprotection_restored_from'] == \
        backup['id']
    assert cloud.compute.calls == [('create_server', 'web-dr', 'f1', 'none')]
    assert done.data['after']['boot_volume']['id'] == volume.id and done.data['before'] is None
    for dry_run in (True, False):
        again = driver(cloud).run_operation('server', server.id, 'b1', 'restore', options, dry_run=dry_run)
        assert again.changed is False and again.data['resource_map'] == done.data['resource_map']
    assert len(cloud.compute.by_id) == 1 and len(cloud.block_storage.vols) == 1


def test_restore_of_an_existing_server_uses_its_boot_volume_and_a_default_name(cloud):
    server, boot, backup = backed_up_server(cloud)
    done = driver(cloud).run_operation('server', 'web', 'b1', 'restore', OPTS)
    new_id = done.data['resource_map'][server.id]
    assert cloud.compute.by_id[new_id].name == 'web~1796090400' and done.data['resource']['source_exists'] is True
    assert done.data['resource']['boot_volume']['id'] == boot.id


def test_server_in_error_removes_server_and_volume_with_novas_fault(cloud):
    server, boot, backup = backed_up_server(cloud)
    forget(cloud, server, boot)
    with pytest.raises(ProtectionError) as info:
        driver(cloud).run_operation('server', server.id, 'b1', 'restore', dict(OPTS, restore_flavor='huge'))
    message = info.value.msg
    assert 'restore of volume-booted server %s' % server.id in message and 'ERROR' in message
    assert 'No valid host' in message and 'was removed' in message and 'left behind' not in message
    assert cloud.compute.by_id == {} and cloud.block_storage.vols == {}


def test_a_volume_of_an_interrupted_run_is_reused(cloud):
    server, boot, backup = backed_up_server(cloud)
    forget(cloud, server, boot)
    left = cloud.block_storage.add('web-dr', metadata=dict(dataprotection_restored_from=backup['id']))
    done = driver(cloud).run_operation('server', server.id, 'b1', 'restore', dict(OPTS, restore_server_name='web-dr'))
    assert done.data['resource_map'][boot.id] == left.id and cloud.block_storage.calls == []


def test_recorded_flavor_gone_or_not_recorded_and_missing_backups(cloud):
    server, boot, backup = backed_up_server(cloud)
    forget(cloud, server, boot)
    cloud.compute.flavors.pop(0)
    with pytest.raises(NotFoundError, match='flavor small recorded in the backup of server .* set restore_flavor'):
        driver(cloud).run_operation('server', server.id, 'b1', 'restore', OPTS)
    del cloud.block_storage.bks[backup['id']].metadata['dataprotection_server_flavor']
    with pytest.raises(ProtectionError, match='recorded no flavor .* set restore_flavor'):
        driver(cloud).run_operation('server', server.id, 'b1', 'restore', OPTS)
    assert cloud.compute.by_id == {} and cloud.block_storage.vols == {}
    with pytest.raises(NotFoundError, match='has no Freezer nova backup named b2 .*nor a Cinder backup'):
        driver(cloud).run_operation('server', server.id, 'b2', 'restore', OPTS)
    with pytest.raises(NotFoundError, match='restore_backup_id nope is no Freezer backup b1'):
        driver(cloud).run_operation('server', server.id, 'b1', 'restore', dict(OPTS, restore_backup_id='nope'))


def test_restore_from_date_and_recorded_networks(cloud):
    cloud.network = Obj(find_network=lambda name, ignore_missing=True: Obj(id='net-' + name) if name == 'private'
                        else None)
    server, boot, old = backed_up_server(cloud, networks=['private'])
    newer = cloud.block_storage.backup(boot.id, 'b1', created_at='2026-12-02T02:00:00.000000',
                                       metadata=dict(cloud.block_storage.bks[old['id']].metadata))
    forget(cloud, server, boot)
    done = driver(cloud).run_operation('server', server.id, 'b1', 'restore',
                                       dict(OPTS, restore_from_date='2026-12-01T12:00:00'))
    [new] = cloud.compute.by_id.values()
    assert new.metadata['dataprotection_restored_from'] == old['id'] != newer.id
    assert cloud.compute.calls[-1][3] == [{'uuid': 'net-private'}]
    assert done.data['resource']['networks'] == ['private']
    cloud.block_storage.bks[newer.id].metadata[SERVER_ID_KEY.replace('id', 'networks')] = '["gone"]'
    with pytest.raises(NotFoundError, match='network gone recorded in the backup'):
        driver(cloud).run_operation('server', server.id, 'b1', 'restore', OPTS)


def test_server_marks_fit_cinder_metadata():
    marks = server_marks('s1', 'n' * 300, 'f', ['net-%03d-%s' % (i, 'x' * 20) for i in range(30)])
    assert all(len(v) <= 255 for v in marks.values()) and marks['dataprotection_server_name'] == 'n' * 255
    assert recorded_server(Obj(metadata=marks))['networks'][0].startswith('net-000')
    assert recorded_server(Obj(metadata={SERVER_ID_KEY: 's1'}))['networks'] is None


def test_restore_boot_backup_for_a_project_restore(cloud):
    server, boot, backup = backed_up_server(cloud)
    plain = cloud.block_storage.backup(cloud.block_storage.add('data').id, 'b1')
    ops = driver(cloud)
    assert ops.restore_boot_backup(plain.id, 'b1', OPTS, False) is None
    done = ops.restore_boot_backup(backup['id'], 'b1', OPTS, False, name_prefix='dr-')
    new_id = done.data['resource_map'][server.id]
    assert cloud.compute.by_id[new_id].name == 'dr-web' and done.data['resource']['source_exists'] is True
    assert set(done.data['resource_map']) == {server.id, boot.id}


def test_project_restore_recreates_a_volume_booted_server_not_only_its_volume(cloud):
    server, boot, backup = backed_up_server(cloud)
    forget(cloud, server, boot)
    def project_restore():
        ops = driver(cloud)
        ops._manifests = ProjectManifests(None, unavailable='no object storage here')  # every backup of the name
        return ops.run_operation('project', PROJECT, 'b1', 'restore', dict(OPTS, restore_prefix='dr-'))

    done = project_restore()
    [new] = cloud.compute.by_id.values()
    [volume] = cloud.block_storage.vols.values()
    assert done.changed is True and done.data['resource_map'] == {server.id: new.id, boot.id: volume.id}
    assert new.name == 'dr-web' and volume.is_bootable
    again = project_restore()
    assert again.changed is False and again.data['resource_map'] == done.data['resource_map']
    assert len(cloud.compute.by_id) == 1 and len(cloud.block_storage.vols) == 1

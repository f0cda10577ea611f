"""Freezer nova mode (image-booted servers) against in-memory freezer-api, Nova, Glance and Swift.

The real services run in tests/integration/modules/test_freezer_job.py; these cover the branches a real cloud
hardly reaches (a success without a record, a failed replacement boot, what cleanup keeps of others).
"""
import copy
import itertools
import json
import time
import uuid

import pytest
from openstack import exceptions as sdk_exceptions

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.operations import (
    FreezerOperations,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.servers import (
    _object_stamp,
    iso_utc,
)
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj

PROJECT = 'p' * 32
STAMP = 1796000000


class Api:
    """freezer-api: jobs, actions, backup records; ``scheduler`` plays the scheduler on each GET of a job."""

    def __init__(self):
        self.project_id = PROJECT
        self.jobs, self.actions, self.backups = {}, {}, {}
        self.scheduler = None
        self.ids = itertools.count()

    def list_jobs(self):
        return [copy.deepcopy(j) for j in self.jobs.values()]

    def get_job(self, job_id):
        job = self.jobs.get(job_id)
        if job is not None and self.scheduler:
            self.scheduler(job)
        return copy.deepcopy(job)

    def create_job(self, doc):
        job_id = 'job%d' % next(self.ids)
        job = copy.deepcopy(doc)
        job.update(job_id=job_id)
        job['job_schedule'].update(time_started=-1)
        for entry in job['job_actions']:
            entry['action_id'] = 'act%d' % next(self.ids)
            self.actions[entry['action_id']] = entry
        self.jobs[job_id] = job
        return job_id

    def delete_job(self, job_id):
        self.jobs.pop(job_id, None)

    def delete_action(self, action_id):
        self.actions.pop(action_id, None)

    def job_event(self, job_id, event):
        self.jobs[job_id]['job_schedule']['event'] = event

    def get_client(self, client_id):
        return dict(client_id=client_id, is_central=False)

    def list_backups(self):
        return list(self.backups.values())

    def delete_backup(self, backup_id):
        self.backups.pop(backup_id, None)

    def record(self, server_id, name, stamp=STAMP, job_id='old'):
        backup_id = uuid.uuid4().hex
        self.backups[backup_id] = dict(backup_id=backup_id, status='available', backup_metadata=dict(
            mode='nova', nova_inst_id=server_id, backup_name=name, time_stamp=stamp, hostname='vm',
            container='freezer_' + name, storage='swift', job_id=job_id))
        return backup_id


class Compute:
    def __init__(self):
        self.by_id = {}
        self.flavors = dict(tiny=Obj(id='f1', name='tiny'), big=Obj(id='f2', name='big'))
        self.boot_status = 'ACTIVE'

    def get_endpoint(self):
        return 'http://nova'

    def add(self, name, image_id='img-0', status='ACTIVE', flavor='tiny', metadata=None):
        server = Obj(id=str(uuid.uuid4()), name=name, status=status, image={'id': image_id},
                     flavor={'original_name': flavor}, addresses={}, metadata=dict(metadata or {}),
                     root_device_name='/dev/vda', fault={'message': 'No valid host was found.'})
        self.by_id[server.id] = server
        return server

    def find_server(self, name_or_id, ignore_missing=True):
        return next((s for s in self.by_id.values() if name_or_id in (s.id, s.name)), None)

    def servers(self, details=True, name=None):
        return [s for s in self.by_id.values() if name is None or s.name == name.strip('^$')]

    def get_server(self, server_id):
        if server_id not in self.by_id:
            raise sdk_exceptions.NotFoundException(message='no server')
        return self.by_id[server_id]

    def delete_server(self, server_id, ignore_missing=True):
        self.by_id.pop(server_id, None)

    def update_server(self, server, name):
        self.by_id[server.id].name = name

    def set_server_metadata(self, server, **metadata):
        self.by_id[server.id].metadata.update(metadata)

    def find_flavor(self, name_or_id, ignore_missing=True):
        return next((f for f in self.flavors.values() if name_or_id in (f.id, f.name)), None)

    def create_server(self, name, image_id, flavor_id, networks):
        flavor = next(f.name for f in self.flavors.values() if f.id == flavor_id)
        return self.add(name, image_id=image_id, status=self.boot_status, flavor=flavor)


class Image:
    def __init__(self):
        self.by_id, self.patches = {}, []

    def add(self, name, created=None):
        image = Obj(id=str(uuid.uuid4()), name=name, owner=PROJECT,
                    created_at=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(created or time.time())))
        self.by_id[image.id] = image
        return image

    def images(self, owner=None):
        return list(self.by_id.values())

    def delete_image(self, image_id, ignore_missing=True):
        self.by_id.pop(image_id, None)

    def patch(self, path, json=None, raise_exc=False, headers=None):
        self.patches.append((path, json))
        return Obj(status_code=200, text='')


class Swift:
    def __init__(self):
        self.containers = {}

    def get_container_metadata(self, container):
        if container not in self.containers:
            raise sdk_exceptions.NotFoundException(message='no container')
        return Obj(name=container)

    def objects(self, container, prefix=''):
        return [Obj(name=n) for n in self.containers.get(container, {}) if n.startswith(prefix or '')]

    def download_object(self, name, container):
        return self.containers[container][name]

    def delete_object(self, name, container, ignore_missing=True):
        self.containers.get(container, {}).pop(getattr(name, 'name', name), None)

    def delete_container(self, container, ignore_missing=True):
        self.containers.pop(container, None)


@pytest.fixture
def cloud():
    return Obj(compute=Compute(), image=Image(), object_store=Swift(), network=None,
               block_storage=Obj(backups=lambda details=True: []),  # no Cinder backup: no volume-booted server
               current_project_id=PROJECT, identity=None)


def driver(cloud, api):
    return FreezerOperations(cloud, api=api, timeout=5, poll_interval=0.001)


def agent(cloud, api, result='success', restore_status='ACTIVE', backup_record=True, leave=False):
    """Plays freezer-agent on the job's second GET: nova backups write Swift objects and a record, restores upload
    an image and boot ``<name>~<time>`` (in ``restore_status``)."""
    seen = {}

    def tick(job):
        seen[job['job_id']] = seen.get(job['job_id'], 0) + 1
        sched = job['job_schedule']
        if sched.get('event') != 'start' or seen[job['job_id']] < 2 or sched.get('result'):
            return
        for entry in job['job_actions']:
            action = entry['freezer_action']
            server_id = action['nova_inst_id']
            if action['action'] == 'backup':
                now = int(time.time())
                prefix = 'vm_%s/%s/%d/0_%d/' % (action['backup_name'], server_id, now, now)
                cloud.object_store.containers.setdefault(action['container'], {}).update(
                    {'data/nova/' + prefix + 'data': b'x', 'metadata/nova/' + prefix + 'metadata': b'{}'})
                if leave:
                    cloud.image.add('freezer_backup_' + server_id)
                if backup_record and result == 'success':
                    api.record(server_id, action['backup_name'], stamp=now, job_id=job['job_id'])
            else:
                image = cloud.image.add('freezer_restore_web')
                stamp = int(action['restore_from_date'][:0] or 0) or STAMP
                cloud.compute.add('web~%d' % stamp, image_id=image.id, status=restore_status)
        sched.update(status='completed', result=result, event='', time_started=2)
    return tick


def recorded(cloud, name, server_id, flavor='tiny'):
    path = 'metadata/nova/vm_%s/%s/%d/0_%d/metadata' % (name, server_id, STAMP, STAMP)
    cloud.object_store.containers.setdefault('freezer_' + name, {})[path] = json.dumps(dict(server=dict(
        name='web', flavor=dict(original_name=flavor), image=dict(id='img-0'), addresses={'private': []})))


OPTS = dict(client_id='c1')


# -- restore -----------------------------------------------------------------------------
def test_restore_boots_a_new_server_waits_names_marks_and_is_idempotent(cloud):
    api = Api()
    web = cloud.compute.add('web')
    backup_id = api.record(web.id, 'b1')
    recorded(cloud, 'b1', web.id)
    api.scheduler = agent(cloud, api)
    ops = driver(cloud, api)
    options = dict(OPTS, restore_server_name='web-restored')
    planned = ops.run_operation('server', web.id, 'b1', 'restore', options, dry_run=True)
    assert planned.changed is True and api.jobs == {} and len(cloud.compute.by_id) == 1
    assert planned.data['restored'][0]['flavor'] == 'tiny' and planned.data['resource']['networks'] == ['private']
    result = driver(cloud, api).run_operation('server', web.id, 'b1', 'restore', options)
    [new] = [s for s in cloud.compute.by_id.values() if s.id != web.id]
    assert result.changed is True and result.data['resource_map'] == {web.id: new.id}
    assert new.name == 'web-restored' and new.metadata['dataprotection_restored_from'] == backup_id
    [action] = [a['freezer_action'] for a in result.data['job']['job_actions']]
    assert action['restore_from_date'] == iso_utc(STAMP) and action['mode'] == 'nova'
    assert cloud.image.patches and api.jobs == {} and api.actions == {}
    again = driver(cloud, api).run_operation('server', web.id, 'b1', 'restore', options)
    assert again.changed is False and again.data['resource_map'] == {web.id: new.id}
    assert driver(cloud, api).run_operation('server', web.id, 'b1', 'restore', options, dry_run=True).changed is False


def test_restore_server_in_error_is_removed_with_its_image(cloud):
    api = Api()
    web = cloud.compute.add('web')
    api.record(web.id, 'b1')
    api.scheduler = agent(cloud, api, restore_status='ERROR')
    with pytest.raises(ProtectionError) as info:
        driver(cloud, api).run_operation('server', web.id, 'b1', 'restore', OPTS)
    assert 'ERROR' in info.value.msg and 'No valid host' in info.value.msg and 'was removed' in info.value.msg
    assert list(cloud.compute.by_id) == [web.id] and cloud.image.by_id == {} and api.jobs == {}


def test_restore_flavor_override_replaces_the_agents_server(cloud):
    api = Api()
    web = cloud.compute.add('web')
    api.record(web.id, 'b1')
    api.scheduler = agent(cloud, api)
    result = driver(cloud, api).run_operation('server', web.id, 'b1', 'restore',
                                              dict(OPTS, restore_flavor='big', restore_server_name='web2'))
    [new] = [s for s in cloud.compute.by_id.values() if s.id != web.id]
    assert new.flavor == {'original_name': 'big'} and new.name == 'web2'
    assert result.data['resource_map'] == {web.id: new.id}


def test_failed_replacement_boot_removes_both_servers_and_the_image(cloud):
    api = Api()
    web = cloud.compute.add('web')
    api.record(web.id, 'b1')
    api.scheduler = agent(cloud, api)
    cloud.compute.boot_status = 'ERROR'
    with pytest.raises(ProtectionError) as info:
        driver(cloud, api).run_operation('server', web.id, 'b1', 'restore', dict(OPTS, restore_flavor='big'))
    assert info.value.msg.count('was removed') == 3, info.value.msg
    assert list(cloud.compute.by_id) == [web.id] and cloud.image.by_id == {}


def test_restore_of_a_deleted_server_needs_its_id_and_a_backup(cloud):
    api = Api()
    gone = str(uuid.uuid4())
    with pytest.raises(NotFoundError, match='give its id'):
        driver(cloud, api).run_operation('server', 'web', 'b1', 'restore', OPTS)
    with pytest.raises(NotFoundError, match='has no Freezer nova backup named b1'):
        driver(cloud, api).run_operation('server', gone, 'b1', 'restore', OPTS)
    api.record(gone, 'b1')
    api.scheduler = agent(cloud, api)
    result = driver(cloud, api).run_operation('server', gone, 'b1', 'restore', OPTS)
    assert result.data['resource']['source_exists'] is False and list(result.data['resource_map']) == [gone]


def test_restore_from_date_picks_an_older_backup(cloud):
    api = Api()
    web = cloud.compute.add('web')
    old = api.record(web.id, 'b1', stamp=STAMP)
    api.record(web.id, 'b1', stamp=STAMP + 3600)
    picked = driver(cloud, api).pick_nova_backup(web.id, 'b1', dict(restore_from_date=iso_utc(STAMP + 60)))
    assert picked['backup_id'] == old


# -- backup ------------------------------------------------------------------------------
def test_nova_backup_success_needs_a_record_of_its_job(cloud):
    api = Api()
    web = cloud.compute.add('web')
    api.scheduler = agent(cloud, api)
    result = driver(cloud, api).run_operation('server', web.id, 'b1', 'backup', OPTS)
    assert result.changed is True and [b['backup_metadata']['nova_inst_id'] for b in result.data['backups']] == [
        web.id]
    api.scheduler = agent(cloud, api, backup_record=False)
    with pytest.raises(ProtectionError, match='freezer-api has no nova backup b2'):
        driver(cloud, api).run_operation('server', web.id, 'b2', 'backup', OPTS)
    assert 'freezer_b2' not in cloud.object_store.containers and api.jobs == {}


def test_failed_nova_backup_removes_its_image_objects_and_container_only(cloud):
    api = Api()
    web = cloud.compute.add('web')
    cloud.image.add('freezer_backup_' + web.id, created=time.time() - 3600)  # an older run's: not ours to remove
    cloud.object_store.containers['freezer_shared'] = {'data/nova/vm_x/%s/1000/0_1000/data' % web.id: b'old'}
    api.scheduler = agent(cloud, api, result='fail', leave=True)
    with pytest.raises(ProtectionError) as info:
        driver(cloud, api).run_operation('server', web.id, 'b1', 'backup', dict(OPTS, container='freezer_shared'))
    assert 'Swift objects' in info.value.msg and 'Glance image freezer_backup_' in info.value.msg
    assert list(cloud.object_store.containers['freezer_shared']) == ['data/nova/vm_x/%s/1000/0_1000/data' % web.id]
    assert len(cloud.image.by_id) == 1 and api.jobs == {}
    api.scheduler = agent(cloud, api, result='fail')
    with pytest.raises(ProtectionError, match='Swift container freezer_b2 was removed'):
        driver(cloud, api).run_operation('server', web.id, 'b2', 'backup', OPTS)
    assert 'freezer_b2' not in cloud.object_store.containers


def test_object_stamp():
    assert _object_stamp('data/nova/vm_b/srv/123/0_123/data', 'srv') == 123
    assert _object_stamp('data/nova/vm_b/other/123/0_123/data', 'srv') == 0


# -- project -----------------------------------------------------------------------------
class NoVolumes:
    def backups(self, details=True, volume_id=None):
        return []


def test_project_restore_recreates_every_server_with_the_prefix_once(cloud):
    api = Api()
    cloud.block_storage = NoVolumes()
    web = cloud.compute.add('web')
    api.record(web.id, 'tenant')
    api.scheduler = agent(cloud, api)
    planned = driver(cloud, api).run_operation('project', None, 'tenant', 'restore', dict(OPTS, restore_prefix='dr-'),
                                               dry_run=True)
    assert planned.changed is True and list(planned.data['resource_map']) == [web.id] and len(cloud.compute.by_id) == 1
    result = driver(cloud, api).run_operation('project', None, 'tenant', 'restore', dict(OPTS, restore_prefix='dr-'))
    [new] = [s for s in cloud.compute.by_id.values() if s.id != web.id]
    assert new.name == 'dr-web' and result.changed is True and result.data['resource_map'] == {web.id: new.id}
    again = driver(cloud, api).run_operation('project', None, 'tenant', 'restore', dict(OPTS, restore_prefix='dr-'))
    assert again.changed is False and again.data['resource_map'] == {web.id: new.id}


def test_project_restore_failure_undoes_what_it_restored(cloud):
    api = Api()
    cloud.block_storage = NoVolumes()
    first, second = cloud.compute.add('a'), cloud.compute.add('b')
    api.record(first.id, 'tenant')
    api.record(second.id, 'tenant')
    calls = []

    def tick(job):
        if job['job_schedule'].get('event') == 'start' and not job['job_schedule'].get('result'):
            calls.append(job['job_id'])
            image = cloud.image.add('freezer_restore_x')
            status = 'ACTIVE' if len(calls) == 1 else 'ERROR'
            cloud.compute.add('x~%d' % STAMP, image_id=image.id, status=status)
            job['job_schedule'].update(status='completed', result='success', event='', time_started=2)
    api.scheduler = tick
    with pytest.raises(ProtectionError) as info:
        driver(cloud, api).run_operation('project', None, 'tenant', 'restore', OPTS)
    assert 'restore of project' in info.value.msg and info.value.msg.count('was removed') == 4, info.value.msg
    assert sorted(cloud.compute.by_id) == sorted([first.id, second.id]) and cloud.image.by_id == {}


def test_project_without_backups_of_the_protection(cloud):
    cloud.block_storage = NoVolumes()
    with pytest.raises(NotFoundError, match='has no Freezer backup named tenant'):
        driver(cloud, Api()).run_operation('project', None, 'tenant', 'restore', OPTS)


# -- module options ------------------------------------------------------------------------
@pytest.mark.parametrize('args, message', [
    (dict(resource_type='volume', operation='restore', restore_server_name='x'),
     'restore_server_name apply to operation=restore of a server only'),
    (dict(resource_type='server', operation='backup', restore_flavor='m1'),
     'restore_flavor apply to operation=restore of a server only'),
    (dict(resource_type='server', operation='restore', restore_prefix='dr-'),
     'restore_prefix applies to operation=restore of a project only'),
])
def test_module_refuses_restore_options_out_of_place(args, message, capsys):
    from ansible_collections.dataprotection.openstack.plugins.modules.freezer_job import FreezerJobModule
    from ansible_collections.dataprotection.openstack.tests.unit.fakes import run_module
    result = run_module(FreezerJobModule, dict(args, resource_id='r1', protection='p', client_id='c1',
                                               cloud='nowhere'), capsys)
    assert result['rc'] == 1 and result['msg'] == message, result

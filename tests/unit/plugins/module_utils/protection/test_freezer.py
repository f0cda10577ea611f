"""Freezer job driver against an in-memory freezer-api, Cinder and Nova (the real services are in tests/integration).

Covers the planning for every resource type (Nova servers and projects also run against the real local cloud in
tests/integration; servers without Nova in the catalog and the cinder volume mode only here) and the central-client
trust check. Nova-mode restores: test_freezer_nova.py.
"""
import copy
import itertools
import uuid

import pytest
from openstack import exceptions as sdk_exceptions

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    NotFoundError,
    ProtectionError,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.api import (
    FreezerAPI,
    FreezerAPIError,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.operations import (
    FreezerOperations,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.views import (
    job_view,
    schedule_doc,
)
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj

PROJECT = 'p' * 32


class FakeFreezer:
    """The subset of freezer-api the driver uses; a ``scheduler`` callback plays the scheduler on each GET."""

    def __init__(self, central=False):
        self.project_id = PROJECT
        self.jobs, self.actions, self.backups = {}, {}, {}
        self.clients = {'c1': dict(client_id='c1', is_central=central)}
        self.central = central
        self.calls = []
        self.scheduler = None
        self._ids = itertools.count()

    def list_jobs(self):
        return [copy.deepcopy(j) for j in self.jobs.values()]

    def get_job(self, job_id):
        job = self.jobs.get(job_id)
        if job is not None and self.scheduler:
            self.scheduler(job)
        return copy.deepcopy(job)

    def create_job(self, doc):
        assert 'job_id' not in doc
        self.calls.append(('create', doc['description']))
        job_id = 'job%d' % next(self._ids)
        job = copy.deepcopy(doc)
        job.update(job_id=job_id, project_id=PROJECT)
        job['job_schedule'].update(time_created=1, time_started=-1, time_ended=-1)
        for entry in job['job_actions']:
            entry['action_id'] = 'act%d' % next(self._ids)
            self.actions[entry['action_id']] = entry
        if self.central:
            job['user_credentials'] = dict(trust_id='secret-trust', trustor_user_id='u')
        self.jobs[job_id] = job
        return job_id

    def update_job(self, job_id, patch):
        self.calls.append(('update', sorted(patch)))
        job = self.jobs[job_id]
        patch = copy.deepcopy(patch)
        for entry in patch.get('job_actions') or []:
            entry['action_id'] = 'act%d' % next(self._ids)
            self.actions[entry['action_id']] = entry
        job.update(patch)

    def delete_job(self, job_id):
        self.calls.append(('delete_job', job_id))
        self.jobs.pop(job_id, None)

    def delete_action(self, action_id):
        self.calls.append(('delete_action', action_id))
        self.actions.pop(action_id, None)

    def job_event(self, job_id, event):
        self.calls.append(('event', event))
        self.jobs[job_id]['job_schedule']['event'] = event

    def get_client(self, client_id):
        return self.clients.get(client_id)

    def list_backups(self):
        return list(self.backups.values())

    def delete_backup(self, backup_id):
        self.backups.pop(backup_id, None)


class FakeCinder:
    def __init__(self):
        self.vols, self.bks = {}, {}
        self.backup_outcome = 'available'

    def add_volume(self, name, **kwargs):
        vid = str(uuid.uuid4())
        fields = dict(id=vid, name=name, status='available', size=1, availability_zone='nova', is_bootable=False,
                      attachments=[])
        fields.update(kwargs)
        self.vols[vid] = Obj(**fields)
        return self.vols[vid]

    def get_volume(self, vid):
        if vid not in self.vols:
            raise sdk_exceptions.NotFoundException(message='no volume')
        return self.vols[vid]

    def volumes(self, details=True, name=None):
        return [v for v in self.vols.values() if name is None or v.name == name]

    def backups(self, details=True, volume_id=None):
        return [b for b in self.bks.values() if volume_id is None or b.volume_id == volume_id]

    def get_backup(self, bid):
        backup = self.bks.get(bid)
        if backup is None:
            raise sdk_exceptions.NotFoundException(message='no backup')
        if backup.status == 'creating':
            backup.status = self.backup_outcome
            return Obj(**dict(backup.__dict__, status='creating'))
        return backup

    def delete_backup(self, bid, ignore_missing=True):
        self.bks.pop(bid, None)

    def agent_backup(self, volume_id, name):
        bid = str(uuid.uuid4())
        self.bks[bid] = Obj(id=bid, name=name, status='creating', volume_id=volume_id, size=1, created_at='2026',
                            is_incremental=False, metadata={'created_by': 'freezer'}, fail_reason='disk on fire',
                            availability_zone='nova')
        return bid


class FakeCompute:
    def __init__(self, servers=None, enabled=True):
        self.servers_by_id = dict((s.id, s) for s in servers or [])
        self.enabled = enabled

    def get_endpoint(self):
        if not self.enabled:
            raise sdk_exceptions.ServiceDisabledException('compute is not present in the service catalog')
        return 'http://nova'

    def find_server(self, name_or_id, ignore_missing=True):
        for server in self.servers_by_id.values():
            if name_or_id in (server.id, server.name):
                return server
        return None

    def servers(self, details=True):
        return list(self.servers_by_id.values())


def server(name, image_id=None, networks=('private',)):
    return Obj(id=str(uuid.uuid4()), name=name, image={'id': image_id} if image_id else '',
               addresses=dict((n, []) for n in networks), root_device_name='/dev/vda')


@pytest.fixture
def cloud():
    return Obj(block_storage=FakeCinder(), compute=FakeCompute(enabled=False), current_project_id=PROJECT,
               identity=None)


def driver_for(cloud, api, **kwargs):
    kwargs.setdefault('timeout', 5)
    kwargs.setdefault('poll_interval', 0.001)
    return FreezerOperations(cloud, api=api, **kwargs)


OPTS = dict(client_id='c1')


def finishing_scheduler(cloud, result='success', backups=True):
    """Runs the job on the second GET: cindernative backups appear in Cinder, result is set."""
    seen = {}

    def tick(job):
        seen[job['job_id']] = seen.get(job['job_id'], 0) + 1
        if job['job_schedule'].get('event') == 'start' and seen[job['job_id']] >= 2 and \
                not job['job_schedule'].get('result'):
            for entry in job['job_actions']:
                action = entry['freezer_action']
                if backups and action['action'] == 'backup' and action.get('mode') == 'cindernative':
                    cloud.block_storage.agent_backup(action['cindernative_vol_id'], action['backup_name'])
            job['job_schedule'].update(status='completed', result=result, event='', time_started=2)
    return tick


# -- planning -----------------------------------------------------------------------
def test_volume_plan_cindernative_and_cinder_modes(cloud):
    volume = cloud.block_storage.add_volume('data')
    driver = driver_for(cloud, FakeFreezer())
    resource, [action] = driver.plan('volume', 'data', 'backup', 'nightly', {})
    assert action == dict(action='backup', backup_name='nightly', mode='cindernative', cindernative_vol_id=volume.id)
    assert resource['id'] == volume.id
    glance_options = dict(volume_mode='cinder', storage='local', container='/srv/b', engine_name='tar')
    _r, [glance] = driver.plan('volume', volume.id, 'backup', 'nightly', glance_options)
    assert glance == dict(action='backup', backup_name='nightly', mode='cinder', cinder_vol_id=volume.id,
                          storage='local', container='/srv/b', engine_name='tar')
    _r, [admin] = driver.plan('volume', volume.id, 'admin', 'nightly', {})
    assert admin['remove_older_than'] == 0
    _r, [rot] = driver.plan('volume', volume.id, 'admin', 'nightly', dict(fullbackup_rotation=2))
    assert rot['fullbackup_rotation'] == 2 and 'remove_older_than' not in rot


def test_image_booted_server_uses_nova_mode_and_records_image_and_network(cloud):
    srv = server('web', image_id='img-1', networks=('private', 'public'))
    cloud.compute = FakeCompute([srv])
    driver = driver_for(cloud, FakeFreezer())
    resource, [action] = driver.plan('server', 'web', 'backup', 'b1', {})
    assert action == dict(action='backup', backup_name='b1', mode='nova', engine_name='nova', nova_inst_id=srv.id,
                          storage='swift', container='freezer_b1')
    assert resource['boot'] == 'image' and resource['image_id'] == 'img-1'
    assert resource['networks'] == ['private', 'public'] and resource['source'] == 'nova'
    _r, [restore] = driver.plan('server', srv.id, 'restore', 'b1', dict(restore_network='net-9',
                                                                        restore_from_date='2026-01-01T00:00:00'))
    assert restore['nova_restore_network'] == 'net-9' and restore['restore_from_date'] == '2026-01-01T00:00:00'


def test_volume_booted_server_with_nova_backs_up_its_system_volume(cloud):
    srv = server('db')
    cloud.compute = FakeCompute([srv])
    cloud.block_storage.add_volume('other', attachments=[dict(server_id=srv.id, device='/dev/vdb')])
    root = cloud.block_storage.add_volume('root', is_bootable=True,
                                          attachments=[dict(server_id=srv.id, device='/dev/vda')])
    resource, [action] = driver_for(cloud, FakeFreezer()).plan('server', 'db', 'backup', 'b', {})
    assert (action['mode'], action['cindernative_vol_id']) == ('cindernative', root.id)
    assert resource['boot'] == 'volume' and resource['boot_volume']['id'] == root.id


def test_server_without_nova_needs_an_id_and_a_bootable_attachment(cloud):
    driver = driver_for(cloud, FakeFreezer())
    with pytest.raises(NotFoundError, match='servers are found by id only'):
        driver.plan('server', 'web', 'backup', 'b', {})
    with pytest.raises(NotFoundError, match='no bootable volume'):
        driver.plan('server', str(uuid.uuid4()), 'backup', 'b', {})


def test_project_plan_covers_servers_and_volumes_once(cloud):
    image_srv, vol_srv = server('web', image_id='img'), server('db')
    cloud.compute = FakeCompute([image_srv, vol_srv])
    root = cloud.block_storage.add_volume('root', is_bootable=True,
                                          attachments=[dict(server_id=vol_srv.id, device='/dev/vda')])
    data = cloud.block_storage.add_volume('data')
    resource, actions = driver_for(cloud, FakeFreezer()).plan('project', PROJECT, 'backup', 'tenant', {})
    assert sorted(a.get('nova_inst_id') or a.get('cindernative_vol_id') for a in actions) == sorted(
        [image_srv.id, root.id, data.id])
    assert [a['mode'] for a in actions].count('nova') == 1
    assert resource['compute'] is True and resource['volumes'] == [data.id]
    with pytest.raises(ProtectionError, match='scope the connection'):
        cloud.identity = Obj(find_project=lambda *a, **k: None)
        driver_for(cloud, FakeFreezer()).plan('project', 'other-project', 'backup', 'tenant', {})


def test_image_and_network_make_no_job(cloud):
    api = FakeFreezer()
    for kind in ('image', 'network'):
        result = driver_for(cloud, api).run_operation(kind, 'x', 'b', 'backup', OPTS)
        assert result.changed is False and 'not backed up on their own' in result.data['msg']
        assert driver_for(cloud, api).ensure_job(kind, 'x', 'b', OPTS).changed is False
    assert api.calls == []


def test_schedule_doc():
    assert schedule_doc({'interval': '1 days'}) == {'schedule_interval': '1 days'}
    assert schedule_doc({'cron': '0 2 * * 1', 'start_date': '2026-01-01T00:00:00'}) == dict(
        schedule_minute='0', schedule_hour='2', schedule_day='*', schedule_month='*', schedule_day_of_week='1',
        schedule_start_date='2026-01-01T00:00:00')
    with pytest.raises(ProtectionError, match='only one of'):
        schedule_doc({'interval': '1 days', 'cron': '* * * * *'})
    with pytest.raises(ProtectionError, match='5 fields'):
        schedule_doc({'cron': '0 2 *'})


# -- managed jobs ---------------------------------------------------------------------
def test_managed_job_create_idempotent_update_and_absent(cloud):
    volume = cloud.block_storage.add_volume('data')
    api = FakeFreezer()
    opts = dict(OPTS, schedule={'interval': '1 days'}, remove_older_than=7)
    planned = driver_for(cloud, api).ensure_job('volume', 'data', 'n', opts, dry_run=True)
    assert planned.changed is True and api.jobs == {}
    created = driver_for(cloud, api).ensure_job('volume', 'data', 'n', opts)
    assert created.changed is True and len(api.jobs) == 1
    job = list(api.jobs.values())[0]
    assert job['description'] == 'n (volume %s)' % volume.id
    assert [a['freezer_action']['action'] for a in job['job_actions']] == ['backup', 'admin']
    assert driver_for(cloud, api).ensure_job('volume', 'data', 'n', opts).changed is False
    assert driver_for(cloud, api).ensure_job('volume', 'data', 'n', opts, dry_run=True).changed is False
    old_actions = [a['action_id'] for a in job['job_actions']]
    moved = driver_for(cloud, api).ensure_job('volume', 'data', 'n', dict(opts, remove_older_than=3))
    assert moved.changed is True and moved.data['updated'] == ['job_actions']
    assert not any(a in api.actions for a in old_actions)
    started = driver_for(cloud, api).ensure_job('volume', 'data', 'n', dict(opts, remove_older_than=3),
                                                state='started')
    assert started.data['events'] == ['start'] and ('event', 'start') in api.calls
    gone = driver_for(cloud, api).remove_job('volume', 'data', 'n', {})
    assert gone.changed is True and api.jobs == {} and api.actions == {}
    assert driver_for(cloud, api).remove_job('volume', 'data', 'n', {}).changed is False


def test_central_client_job_must_come_back_with_a_trust(cloud):
    cloud.block_storage.add_volume('data')
    api = FakeFreezer(central=True)
    created = driver_for(cloud, api).ensure_job('volume', 'data', 'n', OPTS)
    assert created.data['job']['user_credentials'] == {'trust_id': '********', 'trustor_user_id': '********'}
    api2 = FakeFreezer(central=True)
    api2.central = False  # the API created no trust although the client is central
    with pytest.raises(ProtectionError, match='without user_credentials'):
        driver_for(cloud, api2).ensure_job('volume', 'data', 'n', OPTS)
    assert api2.jobs == {} and api2.actions == {}


def test_create_job_never_sends_a_job_id():
    api = FreezerAPI(Obj(session=None, current_project_id=PROJECT), endpoint='http://f')
    with pytest.raises(ValueError, match='replace path'):
        api.create_job({'job_id': 'x'})


def test_job_view_redacts_secrets():
    job = dict(job_id='j', user_credentials=dict(trust_id='t'), job_actions=[
        dict(freezer_action=dict(ssh_password='pw', secret_key='sk', backup_name='b'))])
    view = job_view(job)
    assert view['user_credentials'] == {'trust_id': '********'}
    redacted = dict(ssh_password='********', secret_key='********', backup_name='b')
    assert view['job_actions'][0]['freezer_action'] == redacted
    assert job['user_credentials']['trust_id'] == 't'


# -- one-shot operations ---------------------------------------------------------------
def test_backup_operation_success_waits_for_cinder_and_removes_job(cloud):
    volume = cloud.block_storage.add_volume('data')
    api = FakeFreezer()
    api.scheduler = finishing_scheduler(cloud)
    result = driver_for(cloud, api).run_operation('volume', 'data', 'b', 'backup', OPTS)
    assert result.changed is True
    assert [b['status'] for b in result.data['cinder_backups']] == ['available']
    assert result.data['cinder_backups'][0]['volume_id'] == volume.id
    assert api.jobs == {} and api.actions == {}


def test_operation_dry_run_touches_nothing(cloud):
    cloud.block_storage.add_volume('data')
    api = FakeFreezer()
    result = driver_for(cloud, api).run_operation('volume', 'data', 'b', 'backup', OPTS, dry_run=True)
    assert result.changed is True and api.calls == []


def test_unpicked_job_times_out_with_reason_and_is_removed(cloud):
    cloud.block_storage.add_volume('data')
    api = FakeFreezer()
    with pytest.raises(ProtectionError) as err:
        driver_for(cloud, api, timeout=0.05).run_operation('volume', 'data', 'b', 'backup', OPTS)
    assert 'no freezer-scheduler picked it up within 0.05s' in err.value.msg and 'client_id c1' in err.value.msg
    assert 'the job and its actions were removed' in err.value.msg
    assert api.jobs == {} and api.actions == {}


def test_fail_result_fails_and_cleans_up(cloud):
    cloud.block_storage.add_volume('data')
    api = FakeFreezer()
    api.scheduler = finishing_scheduler(cloud, result='fail', backups=False)
    with pytest.raises(ProtectionError, match='ended with status=completed result=fail'):
        driver_for(cloud, api).run_operation('volume', 'data', 'b', 'backup', OPTS)
    assert api.jobs == {} and api.actions == {}


def test_cinder_backup_error_after_freezer_success_is_removed(cloud):
    volume = cloud.block_storage.add_volume('data')
    cloud.block_storage.backup_outcome = 'error'
    api = FakeFreezer()
    api.scheduler = finishing_scheduler(cloud)
    with pytest.raises(ProtectionError) as err:
        driver_for(cloud, api).run_operation('volume', 'data', 'b', 'backup', OPTS)
    assert 'reached status error' in err.value.msg and 'Cinder: disk on fire' in err.value.msg
    assert 'was removed' in err.value.msg
    assert cloud.block_storage.backups(volume_id=volume.id) == [] and api.jobs == {}


def test_restore_picks_the_newest_backup_of_the_protection(cloud):
    volume = cloud.block_storage.add_volume('data')
    bs = cloud.block_storage
    for name, created in (('b', '2026-01-01'), ('b', '2026-02-01'), ('other', '2026-03-01')):
        bid = bs.agent_backup(volume.id, name)
        bs.bks[bid].status, bs.bks[bid].created_at = 'available', created
    volume_found, backup, restore_to = driver_for(cloud, FakeFreezer())._restore_target('data', 'b', OPTS)
    assert volume_found is volume and restore_to == 'existing' and backup.created_at == '2026-02-01'
    with pytest.raises(NotFoundError, match='no available Cinder backup named zzz'):
        driver_for(cloud, FakeFreezer())._restore_target('data', 'zzz', OPTS)


def test_unregistered_client(cloud):
    cloud.block_storage.add_volume('data')
    with pytest.raises(NotFoundError, match='client nobody is not registered'):
        driver_for(cloud, FakeFreezer()).run_operation('volume', 'data', 'b', 'backup', dict(client_id='nobody'))


def test_api_error_names_freezer_reason():
    class Response:
        status_code, content, text = 422, b'x', ''

        @staticmethod
        def json():
            return {'title': 'Unprocessable Entity', 'description': 'Client not found with ID c9'}

    session = Obj(request=lambda *a, **k: Response(), get_endpoint=lambda **k: 'http://f')
    api = FreezerAPI(Obj(session=session, current_project_id=PROJECT))
    with pytest.raises(FreezerAPIError, match='HTTP 422: Unprocessable Entity: Client not found with ID c9'):
        api.create_job({'client_id': 'c9'})


# -- per-step timings ---------------------------------------------------------------------------------------------
def timed_steps(driver):
    assert all(isinstance(t['seconds'], float) and t['seconds'] >= 0 for t in driver.timings.as_list())
    return [t['step'] for t in driver.timings.as_list()]


def test_operation_records_its_steps(cloud):
    cloud.block_storage.add_volume('data')
    api = FakeFreezer()
    api.scheduler = finishing_scheduler(cloud)
    ticks = itertools.count()
    driver = driver_for(cloud, api, clock=lambda: float(next(ticks)))
    driver.run_operation('volume', 'data', 'b', 'backup', OPTS)
    assert timed_steps(driver) == ['create job', 'start job', 'wait for scheduler pickup', 'wait for job result',
                                   'verify in Cinder', 'remove job']


def test_unpicked_job_records_the_pickup_wait_and_the_cleanup(cloud):
    cloud.block_storage.add_volume('data')
    api = FakeFreezer()
    driver = driver_for(cloud, api, timeout=0.05)
    with pytest.raises(ProtectionError):
        driver.run_operation('volume', 'data', 'b', 'backup', OPTS)
    assert timed_steps(driver) == ['create job', 'start job', 'wait for scheduler pickup', 'clean up']
    assert driver.timings.as_list()[2]['seconds'] >= 0.05


def test_dry_run_records_nothing(cloud):
    cloud.block_storage.add_volume('data')
    driver = driver_for(cloud, FakeFreezer())
    driver.run_operation('volume', 'data', 'b', 'backup', OPTS, dry_run=True)
    assert timed_steps(driver) == []


# -- issue 14: timeout 0, admin of one protection, restore into a new volume ---------------------------------------
def test_one_shot_with_timeout_0_fails_before_creating_anything(cloud):
    cloud.block_storage.add_volume('data')
    api = FakeFreezer()
    for dry_run in (True, False):
        with pytest.raises(ProtectionError, match='a one-shot operation needs timeout > 0'):
            driver_for(cloud, api, timeout=0).run_operation('volume', 'data', 'b', 'backup', OPTS, dry_run=dry_run)
    assert api.calls == [] and api.jobs == {}


def add_backups(cloud, volume, *specs):
    """(name, created_at, incremental, by_freezer) -> backup ids, available."""
    ids = []
    for name, created, incremental, by_freezer in specs:
        bid = cloud.block_storage.agent_backup(volume.id, name)
        backup = cloud.block_storage.bks[bid]
        backup.status, backup.created_at, backup.is_incremental = 'available', created, incremental
        backup.metadata = {'created_by': 'freezer', 'freezer_backup_id': 'rec-' + bid} if by_freezer else {}
        ids.append(bid)
    return ids


def test_admin_with_backup_name_removes_only_that_protections_backups(cloud):
    volume = cloud.block_storage.add_volume('data')
    mine_full, mine_incr, other, foreign = add_backups(
        cloud, volume, ('b', '2026-01-01T00:00:00', False, True), ('b', '2026-01-02T00:00:00', True, True),
        ('other', '2026-01-03T00:00:00', False, True), ('b', '2026-01-04T00:00:00', False, False))
    api = FakeFreezer()
    api.backups = dict((r, dict(backup_id=r, backup_metadata=dict(backup_name=n, cindernative_vol_id=volume.id)))
                       for r, n in (('rec-' + mine_full, 'b'), ('rec-' + other, 'other')))
    check = driver_for(cloud, api).run_operation('volume', 'data', 'b', 'admin', OPTS, dry_run=True)
    assert check.changed is True and check.data['deleted_backups'] == [mine_incr, mine_full]
    assert len(cloud.block_storage.bks) == 4
    done = driver_for(cloud, api).run_operation('volume', 'data', 'b', 'admin', OPTS)
    assert done.changed is True and done.data['deleted_backups'] == [mine_incr, mine_full]
    assert sorted(cloud.block_storage.bks) == sorted([other, foreign])  # another protection's, and not Freezer's
    assert list(api.backups) == ['rec-' + other] and api.jobs == {} and api.calls == []
    again = driver_for(cloud, api).run_operation('volume', 'data', 'b', 'admin', OPTS)
    assert again.changed is False and again.data['deleted_backups'] == []


def test_admin_rotation_keeps_the_newest_full_backups_of_the_protection(cloud):
    volume = cloud.block_storage.add_volume('data')
    old_full, old_incr, new_full = add_backups(
        cloud, volume, ('b', '2026-01-01T00:00:00', False, True), ('b', '2026-01-02T00:00:00', True, True),
        ('b', '2026-01-03T00:00:00', False, True))
    result = driver_for(cloud, FakeFreezer()).run_operation('volume', 'data', 'b', 'admin',
                                                            dict(OPTS, fullbackup_rotation=1))
    assert result.data['deleted_backups'] == [old_incr, old_full] and list(cloud.block_storage.bks) == [new_full]


def test_admin_without_backup_name_is_the_volume_wide_freezer_job(cloud):
    volume = cloud.block_storage.add_volume('data')
    add_backups(cloud, volume, ('b', '2026-01-01T00:00:00', False, True))
    api = FakeFreezer()
    result = driver_for(cloud, api).run_operation('volume', 'data', None, 'admin', OPTS, dry_run=True)
    action = result.data['job']['job_actions'][0]['freezer_action']
    assert action == dict(action='admin', mode='cindernative', cindernative_vol_id=volume.id, remove_older_than=0)
    assert result.data['job']['description'] == 'volume-wide admin of volume %s' % volume.id


class RestoringCinder(FakeCinder):
    """Adds create/delete volume and Cinder's backup restore; ``restore_outcome`` is the restored volume's status."""

    restore_outcome = 'available'

    def create_volume(self, **kwargs):
        kwargs.pop('size', None)
        volume = self.add_volume(kwargs.pop('name'), size=1, metadata=kwargs.pop('metadata', {}), **kwargs)
        return volume

    def restore_backup(self, backup_id, volume=None):
        self.vols[volume].status = self.restore_outcome

    def delete_volume(self, volume_id, ignore_missing=True):
        self.vols.pop(volume_id, None)

    def volumes(self, details=True, name=None):
        return [v for v in self.vols.values() if name is None or v.name == name]


@pytest.fixture
def dr_cloud():
    return Obj(block_storage=RestoringCinder(), compute=FakeCompute(enabled=False), current_project_id=PROJECT,
               identity=None)


def test_restore_after_the_source_was_deleted_creates_a_new_volume_once(dr_cloud):
    source = dr_cloud.block_storage.add_volume('data')
    (bid,) = add_backups(dr_cloud, source, ('b', '2026-01-01T00:00:00', False, True))
    del dr_cloud.block_storage.vols[source.id]
    api = FakeFreezer()
    options = dict(OPTS, restore_volume_name='data-dr', restore_availability_zone='nova')
    check = driver_for(dr_cloud, api).run_operation('volume', source.id, 'b', 'restore', options, dry_run=True)
    assert check.changed is True and dr_cloud.block_storage.vols == {}
    done = driver_for(dr_cloud, api).run_operation('volume', source.id, 'b', 'restore', options)
    (new_id,) = list(dr_cloud.block_storage.vols)
    assert done.changed is True and done.data['resource_map'] == {source.id: new_id}
    assert done.data['restored'][0]['name'] == 'data-dr' and api.calls == []
    assert dr_cloud.block_storage.vols[new_id].metadata['dataprotection_restored_from'] == bid
    again = driver_for(dr_cloud, api).run_operation('volume', source.id, 'b', 'restore', options)
    assert again.changed is False and again.data['resource_map'] == {source.id: new_id}
    with pytest.raises(NotFoundError, match='restore_to: new'):
        driver_for(dr_cloud, api).run_operation('volume', source.id, 'b', 'restore', dict(options, restore_to='existing'))


def test_failed_restore_into_a_new_volume_leaves_nothing(dr_cloud):
    source = dr_cloud.block_storage.add_volume('data')
    add_backups(dr_cloud, source, ('b', '2026-01-01T00:00:00', False, True))
    dr_cloud.block_storage.restore_outcome = 'error_restoring'
    with pytest.raises(ProtectionError, match='restore of backup .* failed: .*error_restoring.*was removed'):
        driver_for(dr_cloud, FakeFreezer()).run_operation('volume', 'data', 'b', 'restore',
                                                          dict(OPTS, restore_to='new'))
    assert list(dr_cloud.block_storage.vols) == [source.id]

"""Freezer ``cinder`` volume mode (through Glance) against in-memory freezer-api, Cinder, Glance and Swift.

The real services run in tests/integration/modules/test_freezer_cinder_mode.py; these cover the branches a real cloud
hardly reaches (an agent stuck on a refused upload, a success without a record, what cleanup keeps of others).
"""
import time
import uuid

import pytest
from openstack import exceptions as sdk_exceptions

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.cinder_mode import (
    _doomed,
    record_stamp,
    stored_backups,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.operations import (
    FreezerOperations,
)
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj
from ansible_collections.dataprotection.openstack.tests.unit.plugins.module_utils.protection.test_freezer_nova import (
    PROJECT,
    Api,
    Image,
    Swift,
)

OPTS = dict(client_id='c1', volume_mode='cinder')


def _iso(stamp=None):
    return time.strftime('%Y-%m-%dT%H:%M:%S.000000', time.gmtime(stamp or time.time()))


class Cinder:
    """Volumes, snapshots and user messages."""

    def __init__(self):
        self.vols, self.snaps, self.messages = {}, {}, {}

    def add_volume(self, name, status='available', metadata=None, created=None, vid=None):
        volume = Obj(id=vid or str(uuid.uuid4()), name=name, status=status, size=1, availability_zone='nova',
                     volume_type='default', snapshot_id=None, description=None, metadata=dict(metadata or {}),
                     attachments=[], is_bootable=False, project_id=PROJECT, created_at=_iso(created))
        self.vols[volume.id] = volume
        return volume

    def add_snapshot(self, volume_id, name, status='available', created=None):
        snap = Obj(id=str(uuid.uuid4()), name=name, status=status, volume_id=volume_id, created_at=_iso(created))
        self.snaps[snap.id] = snap
        return snap

    def volumes(self, details=True, name=None):
        return [v for v in self.vols.values() if name is None or v.name == name]

    def get_volume(self, volume_id):
        if volume_id not in self.vols:
            raise sdk_exceptions.NotFoundException(message='no volume')
        return self.vols[volume_id]

    def delete_volume(self, volume_id, ignore_missing=True):
        self.vols.pop(getattr(volume_id, 'id', volume_id), None)

    def snapshots(self, details=True, volume_id=None):
        return [s for s in self.snaps.values() if volume_id in (None, s.volume_id)]

    def get_snapshot(self, snapshot_id):
        if snapshot_id not in self.snaps:
            raise sdk_exceptions.NotFoundException(message='no snapshot')
        return self.snaps[snapshot_id]

    def delete_snapshot(self, snapshot_id, ignore_missing=True):
        self.snaps.pop(snapshot_id, None)

    def update_volume(self, volume, name):
        self.vols[volume.id].name = name

    def set_volume_metadata(self, volume, **metadata):
        self.vols[volume.id].metadata.update(metadata)

    def backups(self, details=True, volume_id=None):
        return []

    def get(self, path, microversion=None, raise_exc=False):
        # like the local cloud's Cinder: every message of the project, whatever the resource_uuid filter says
        return Obj(status_code=200, json=lambda: dict(messages=[dict(user_message=m, created_at='1', resource_uuid=r)
                                                                for r, ms in self.messages.items() for m in ms]))


@pytest.fixture
def cloud():
    return Obj(compute=None, image=Image(), object_store=Swift(), network=None, block_storage=Cinder(),
               current_project_id=PROJECT, identity=None)


def driver(cloud, api):
    return FreezerOperations(cloud, api=api, timeout=5, poll_interval=0.001)


def agent(cloud, api, result='success', upload_refused=False, restore_status='available', record=True):
    """Plays freezer-agent on the job's GETs: a backup makes its temporaries, stores the image in Swift, records it
    and deletes the temporaries; with ``upload_refused`` Cinder refuses the upload and the agent never ends (as Freezer
    19's does). A restore makes ``<name>~<time>`` from an image and deletes the image."""
    seen = {}

    def tick(job):
        seen[job['job_id']] = seen.get(job['job_id'], 0) + 1
        sched = job['job_schedule']
        if sched.get('event') == 'abort':
            sched.update(status='completed', result='aborted', event='')
            return
        if sched.get('event') != 'start' or seen[job['job_id']] < 2 or sched.get('result'):
            return
        sched.update(status='running', time_started=2)
        for entry in job['job_actions']:
            action = entry['freezer_action']
            vol_id = action['cinder_vol_id']
            container = action['container']
            if action['action'] == 'backup':
                if seen[job['job_id']] == 2:
                    snap = cloud.block_storage.add_snapshot(vol_id, 'freezer_backup_' + vol_id)
                    temp = cloud.block_storage.add_volume('freezer_backup_' + vol_id)
                    temp.snapshot_id = snap.id
                    cloud.image.add('freezer_backup_' + temp.id)
                    if upload_refused:
                        cloud.block_storage.messages[temp.id] = ['upload failed: Glance refused the image']
                        return
                if upload_refused:
                    return  # the agent waits for the image Cinder deleted, forever
                now = int(time.time())
                prefix = '%s_segments/%s/%d/' % (container, vol_id, now)
                cloud.object_store.containers.setdefault(container, {}).update(
                    {prefix + 'segments/00000000': b'x', prefix + str(now): b''})
                for snap in [s for s in cloud.block_storage.snaps.values() if s.name == 'freezer_backup_' + vol_id]:
                    cloud.block_storage.delete_snapshot(snap.id)
                for temp in cloud.block_storage.volumes(name='freezer_backup_' + vol_id):
                    cloud.block_storage.delete_volume(temp.id)
                    for image in [i for i in cloud.image.images() if i.name == 'freezer_backup_' + temp.id]:
                        cloud.image.delete_image(image.id)
                if record and result == 'success':
                    backup_id = uuid.uuid4().hex
                    api.backups[backup_id] = dict(backup_id=backup_id, status='available', backup_metadata=dict(
                        mode='cinder', cinder_vol_id=vol_id, backup_name=action['backup_name'], time_stamp=now - 1,
                        container=container, storage='swift', job_id=job['job_id']))
            elif action['action'] == 'restore' and seen[job['job_id']] == 2:
                stamp = action['restore_from_date']
                epoch = int(time.mktime(time.strptime(stamp, '%Y-%m-%dT%H:%M:%SZ'))) - time.timezone
                cloud.block_storage.add_volume('data~%d' % epoch, status=restore_status)
            if action['action'] == 'restore' and restore_status == 'error':
                return  # the agent loops forever on a volume in error
        sched.update(status='completed', result=result, event='')
    return tick


def backed_up(cloud, api, volume, name='b1'):
    """One stored backup of ``volume`` (Swift objects + its Freezer record); its time."""
    api.scheduler = agent(cloud, api)
    driver(cloud, api).run_operation('volume', volume.id, name, 'backup', OPTS)
    [stamp] = stored_backups([n for n in cloud.object_store.containers['freezer_' + name]], 'freezer_' + name,
                             volume.id)
    return stamp


# -- backup ----------------------------------------------------------------------------------
def test_backup_verifies_the_record_and_leaves_only_swift(cloud):
    api = Api()
    data = cloud.block_storage.add_volume('data')
    cloud.block_storage.messages['another-volume'] = ['create snapshot: Snapshot failed to create.']
    api.scheduler = agent(cloud, api)
    result = driver(cloud, api).run_operation('volume', data.id, 'b1', 'backup', OPTS)
    assert result.changed is True and [r['backup_metadata']['mode'] for r in result.data['backups']] == ['cinder']
    assert list(cloud.block_storage.vols) == [data.id] and cloud.block_storage.snaps == {}
    assert cloud.image.by_id == {} and api.jobs == {} and list(cloud.object_store.containers) == ['freezer_b1']


def test_refused_upload_fails_early_with_cinders_reason_and_removes_everything(cloud):
    api = Api()
    data = cloud.block_storage.add_volume('data')
    other = cloud.block_storage.add_snapshot(data.id, 'freezer_backup_' + data.id, created=1000)  # not this job's
    cloud.object_store.containers['freezer_b1'] = {}
    api.scheduler = agent(cloud, api, upload_refused=True)
    ops = FreezerOperations(cloud, api=api, timeout=60, poll_interval=0.001)
    with pytest.raises(ProtectionError) as info:
        ops.run_operation('volume', data.id, 'b1', 'backup', OPTS)
    msg = info.value.msg
    assert 'Glance refused the image' in msg and 'freezer_backup_%s' % data.id in msg, msg
    assert 'left behind' not in msg and 'aborted' not in msg
    assert list(cloud.block_storage.vols) == [data.id] and list(cloud.block_storage.snaps) == [other.id]
    assert cloud.image.by_id == {} and api.jobs == {} and api.actions == {}
    assert cloud.object_store.containers == {'freezer_b1': {}}  # it existed before: kept


def test_success_without_a_record_fails_and_removes_the_stored_backup_and_new_container(cloud):
    api = Api()
    data = cloud.block_storage.add_volume('data')
    api.scheduler = agent(cloud, api, record=False)
    with pytest.raises(ProtectionError) as info:
        driver(cloud, api).run_operation('volume', data.id, 'b1', 'backup', OPTS)
    assert 'no cinder backup b1' in info.value.msg and 'Swift container freezer_b1 was removed' in info.value.msg
    assert cloud.object_store.containers == {} and api.jobs == {}


# -- restore ---------------------------------------------------------------------------------
def test_restore_makes_a_new_volume_named_marked_and_found_again(cloud):
    api = Api()
    data = cloud.block_storage.add_volume('data')
    stamp = backed_up(cloud, api, data)
    [record] = api.backups.values()
    ops = driver(cloud, api)
    options = dict(OPTS, restore_volume_name='data-back')
    planned = ops.run_operation('volume', data.id, 'b1', 'restore', options, dry_run=True)
    assert planned.changed is True and planned.data['resource_map'] == {data.id: '(would be created)'}
    assert api.jobs == {} and list(cloud.block_storage.vols) == [data.id]
    result = driver(cloud, api).run_operation('volume', data.id, 'b1', 'restore', options)
    [new] = [v for v in cloud.block_storage.vols.values() if v.id != data.id]
    assert result.changed is True and result.data['resource_map'] == {data.id: new.id}
    assert new.name == 'data-back' and new.metadata['dataprotection_restored_from'] == record['backup_id']
    [action] = [a['freezer_action'] for a in result.data['job']['job_actions']]
    assert action['mode'] == 'cinder' and action['restore_from_date'] == time.strftime(
        '%Y-%m-%dT%H:%M:%SZ', time.gmtime(stamp))
    again = driver(cloud, api).run_operation('volume', data.id, 'b1', 'restore', options)
    assert again.changed is False and again.data['resource_map'] == {data.id: new.id}
    assert driver(cloud, api).run_operation('volume', data.id, 'b1', 'restore', options, dry_run=True).changed is False


def test_restore_refuses_existing_and_needs_a_stored_backup(cloud):
    api = Api()
    data = cloud.block_storage.add_volume('data')
    with pytest.raises(ProtectionError) as info:
        driver(cloud, api).run_operation('volume', data.id, 'b1', 'restore', dict(OPTS, restore_to='existing'))
    assert 'new volume only' in info.value.msg
    with pytest.raises(NotFoundError) as info:
        driver(cloud, api).run_operation('volume', data.id, 'b1', 'restore', OPTS)
    assert 'no Freezer cinder-mode backup b1 in Swift container freezer_b1' in info.value.msg


def test_restore_volume_in_error_fails_early_and_is_removed(cloud):
    api = Api()
    data = cloud.block_storage.add_volume('data')
    backed_up(cloud, api, data)
    api.scheduler = agent(cloud, api, restore_status='error')
    ops = FreezerOperations(cloud, api=api, timeout=60, poll_interval=0.001)
    with pytest.raises(ProtectionError) as info:
        ops.run_operation('volume', data.id, 'b1', 'restore', OPTS)
    assert 'is in error' in info.value.msg and 'was removed' in info.value.msg, info.value.msg
    assert list(cloud.block_storage.vols) == [data.id] and api.jobs == {}


# -- admin -----------------------------------------------------------------------------------
def test_admin_removes_this_protections_backups_then_reports_nothing_to_do(cloud):
    api = Api()
    data = cloud.block_storage.add_volume('data')
    backed_up(cloud, api, data)
    cloud.object_store.containers['freezer_b1']['elsewhere/keep'] = b'x'  # not a backup of this volume
    planned = driver(cloud, api).run_operation('volume', data.id, 'b1', 'admin', OPTS, dry_run=True)
    assert planned.changed is True and len(planned.data['deleted_backups']) == 2 and len(api.backups) == 1
    result = driver(cloud, api).run_operation('volume', data.id, 'b1', 'admin', OPTS)
    assert result.changed is True and api.backups == {} and api.jobs == {}
    assert cloud.object_store.containers == {'freezer_b1': {'elsewhere/keep': b'x'}}
    assert driver(cloud, api).run_operation('volume', data.id, 'b1', 'admin', OPTS).changed is False


def test_retention_helpers():
    names = ['c_segments/v/100/segments/00000000', 'c_segments/v/100/100', 'c_segments/v/200/200',
             'c_segments/w/300/300', 'other']
    stored = stored_backups(names, 'c', 'v')
    assert sorted(stored) == [100, 200] and len(stored[100]) == 2
    assert sorted(_doomed(stored, dict(fullbackup_rotation=1))) == [100]
    assert sorted(_doomed(stored, {})) == [100, 200]
    assert _doomed(stored, dict(remove_older_than=1)) == {100: stored[100], 200: stored[200]}
    assert record_stamp(dict(backup_metadata=dict(time_stamp=150)), stored) == 200
    assert record_stamp(dict(backup_metadata=dict(time_stamp=250)), stored) is None

"""Fixtures for module tests: SDK connections to the local cloud, volumes that clean up after themselves."""
import time
import uuid

import openstack
import pytest


@pytest.fixture(scope='session')
def clouds_yaml_path(clouds_yaml):
    return clouds_yaml


@pytest.fixture(scope='session')
def admin_conn(lc_admin):
    return lc_admin


@pytest.fixture(scope='session')
def demo_conn(lc_demo):
    return lc_demo


@pytest.fixture
def cloud_env(clouds_yaml_path):
    """Environment for ansible-playbook: the local cloud's clouds.yaml."""
    return {'OS_CLIENT_CONFIG_FILE': clouds_yaml_path}


@pytest.fixture
def unique():
    return 'it-%s' % uuid.uuid4().hex[:8]


def wait_status(fetch, wanted, timeout=120):
    """Poll ``fetch()`` (None = 'gone'; SDK resources or raw dicts) until its status is in ``wanted``."""
    deadline = time.monotonic() + timeout
    while True:
        obj = fetch()
        if obj is None:
            status = 'gone'
        else:
            status = obj.get('status') if isinstance(obj, dict) else getattr(obj, 'status', None)
        if status in wanted:
            return obj
        if time.monotonic() > deadline:
            raise AssertionError('still %s after %ss' % (status, timeout))
        time.sleep(0.5)


def get_or_none(getter, rid):
    try:
        return getter(rid)
    except openstack.exceptions.NotFoundException:
        return None


@pytest.fixture
def make_volume(admin_conn, demo_conn):
    """Create a volume (as demo by default); at teardown remove its snapshots, restored volumes and itself."""
    created = []

    def make(name, conn=None, metadata=None, size=1, **kwargs):
        conn = conn or demo_conn
        volume = conn.block_storage.create_volume(name=name, size=size, metadata=metadata or {}, **kwargs)
        volume = wait_status(lambda: get_or_none(conn.block_storage.get_volume, volume.id), {'available', 'error'})
        assert volume.status == 'available', 'fixture volume %s is %s' % (name, volume.status)
        created.append(volume.id)
        return volume

    yield make
    bs = admin_conn.block_storage
    for volume_id in created:
        restored = [v for v in bs.volumes(details=True, all_projects=True)
                    if (v.metadata or {}).get('dataprotection_restored_from')
                    and v.snapshot_id in {s.id for s in bs.snapshots(details=True, all_projects=True,
                                                                     volume_id=volume_id)}]
        for volume in restored:
            bs.delete_volume(volume.id, ignore_missing=True)
            wait_status(lambda v=volume: get_or_none(bs.get_volume, v.id), {'gone'})
        for snapshot in bs.snapshots(details=True, all_projects=True, volume_id=volume_id):
            if snapshot.status not in ('available', 'error'):
                bs.reset_snapshot_status(snapshot, 'available')
            bs.delete_snapshot(snapshot.id, ignore_missing=True)
        for snapshot in bs.snapshots(details=True, all_projects=True, volume_id=volume_id):
            wait_status(lambda s=snapshot: get_or_none(bs.get_snapshot, s.id), {'gone'})
        volume = get_or_none(bs.get_volume, volume_id)
        if volume is not None and volume.status not in ('available', 'error'):
            bs.reset_volume_status(volume, status='available', attach_status='detached', migration_status=None)
        bs.delete_volume(volume_id, ignore_missing=True)


def snapshots_of(conn, volume_id):
    return list(conn.block_storage.snapshots(details=True, volume_id=volume_id))


def no_traceback(run):
    assert 'Traceback' not in run.stdout, run.stdout[-2000:]
    # ansible-core >= 2.19 adds this placeholder to every failed result unless tracebacks are enabled
    assert run.result.get('exception') in (None, '(traceback unavailable)'), run.result.get('exception')


MV = '2.73'  # Manila snapshot metadata


class Manila:
    """Raw reads through the demo (or admin) connection, independent of the module under test."""

    def __init__(self, conn):
        self.sfs = conn.shared_file_system

    def snapshots(self, share_id):
        # all_tenants: the admin connection cleans up the demo project's snapshots
        body = self.sfs.get('/snapshots/detail?share_id=%s&all_tenants=1' % share_id, microversion=MV).json()
        return body['snapshots']

    def snapshot(self, snapshot_id):
        response = self.sfs.get('/snapshots/%s' % snapshot_id, microversion=MV)
        return None if response.status_code == 404 else response.json()['snapshot']

    def share(self, share_id):
        return get_or_none(self.sfs.get_share, share_id)

    def shares_named(self, name):
        return [s for s in self.sfs.shares(details=True, name=name) if s.name == name]


@pytest.fixture(scope='module')
def manila(os_conn_factory):
    return Manila(os_conn_factory('localcloud-demo', shared_file_system_default_microversion='2.65'))


@pytest.fixture(scope='module')
def manila_admin(os_conn_factory):
    return Manila(os_conn_factory('localcloud-admin', shared_file_system_default_microversion='2.65'))


@pytest.fixture
def make_share(manila, manila_admin):
    """Create a share (demo project); at teardown remove shares restored from its snapshots, them, and it."""
    created = []

    def make(name, metadata=None, size=1, expect='available', **kwargs):
        share = manila.sfs.create_share(name=name, size=size, share_protocol='NFS', metadata=metadata or {},
                                        **kwargs)
        created.append(share.id)
        share = wait_status(lambda: manila.share(share.id), {'available', 'error'}, timeout=90)
        assert share.status == expect, 'fixture share %s is %s' % (name, share.status)
        return share

    yield make
    sfs = manila_admin.sfs
    for share_id in reversed(created):
        snapshot_ids = [s['id'] for s in manila_admin.snapshots(share_id)]
        for child in sfs.shares(details=True, all_projects=True):
            if child.snapshot_id in snapshot_ids:
                wait_status(lambda c=child: manila_admin.share(c.id), {'available', 'error', 'gone'}, timeout=90)
                sfs.delete_share(child.id, ignore_missing=True)
                wait_status(lambda c=child: manila_admin.share(c.id), {'gone'}, timeout=90)
        for snapshot_id in snapshot_ids:
            wait_status(lambda s=snapshot_id: manila_admin.snapshot(s), {'available', 'error', 'gone'}, timeout=90)
            sfs.delete_share_snapshot(snapshot_id, ignore_missing=True)
        for snapshot_id in snapshot_ids:
            wait_status(lambda s=snapshot_id: manila_admin.snapshot(s), {'gone'}, timeout=90)
        share = manila_admin.share(share_id)
        if share is not None and share.status not in ('available', 'error'):
            sfs.reset_share_status(share_id, 'available')
        sfs.delete_share(share_id, ignore_missing=True)
        wait_status(lambda s=share_id: manila_admin.share(s), {'gone'}, timeout=90)

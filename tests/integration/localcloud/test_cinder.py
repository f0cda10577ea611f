"""Cinder on the local cloud: real status transitions, backups, AZs, faults."""

import time
import uuid

import pytest


def _name(prefix):
    return "lc-%s-%s" % (prefix, uuid.uuid4().hex[:6])


@pytest.fixture
def volumes(lc_demo, wait_status):
    """Create volumes as demo; delete them (and their snapshots/backups) afterwards."""
    bs = lc_demo.block_storage
    made = []

    def make(wanted=("available",), **kwargs):
        kwargs.setdefault("size", 1)
        kwargs.setdefault("name", _name("vol"))
        vol = bs.create_volume(**kwargs)
        made.append(vol.id)
        return wait_status(lambda: bs.get_volume(vol.id), set(wanted) | {"error"}, 60)

    yield make
    for backup in bs.backups(details=True):
        if backup.volume_id in made:
            wait_status(lambda b=backup: bs.get_backup(b.id),
                        {"available", "error"}, 60)
            bs.delete_backup(backup.id, ignore_missing=True)
            wait_status(lambda b=backup: bs.get_backup(b.id), {"gone"}, 60)
    for snap in bs.snapshots(details=True):
        if snap.volume_id in made:
            wait_status(lambda s=snap: bs.get_snapshot(s.id), {"available", "error"}, 60)
            bs.delete_snapshot(snap.id, ignore_missing=True)
    for snap in bs.snapshots(details=True):
        if snap.volume_id in made:
            wait_status(lambda s=snap: bs.get_snapshot(s.id), {"gone"}, 60)
    for vid in reversed(made):
        bs.delete_volume(vid, ignore_missing=True)
    for vid in made:
        wait_status(lambda v=vid: bs.get_volume(v), {"gone"}, 60)


def test_types_and_zones(lc_admin):
    bs = lc_admin.block_storage
    names = {t.name for t in bs.types()}
    assert {"default", "fast"} <= names
    zones = {z.name for z in bs.availability_zones()}
    assert {"nova", "nova2"} <= zones


def test_volume_snapshot_restore_cycle(lc_demo, volumes, wait_status):
    bs = lc_demo.block_storage
    vol = volumes()
    assert vol.status == "available"
    assert vol.volume_type == "default" and vol.availability_zone == "nova"
    snap = bs.create_snapshot(volume_id=vol.id, name=_name("snap"), description="d")
    snap = wait_status(lambda: bs.get_snapshot(snap.id), {"available", "error"})
    assert snap.status == "available"
    restored = volumes(snapshot_id=snap.id, name=_name("restored"))
    assert restored.status == "available"
    assert restored.snapshot_id == snap.id
    # restore into the other AZ and type
    other = volumes(snapshot_id=snap.id, availability_zone="nova2", volume_type="fast")
    assert other.status == "available"
    assert other.availability_zone == "nova2" and other.volume_type == "fast"


def test_backup_create_and_restore(lc_demo, volumes, wait_status):
    bs = lc_demo.block_storage
    vol = volumes()
    backup = bs.create_backup(volume_id=vol.id, name=_name("bkp"))
    backup = wait_status(lambda: bs.get_backup(backup.id), {"available", "error"}, 120)
    assert backup.status == "available", backup
    target = volumes()
    bs.restore_backup(backup.id, volume_id=target.id)
    target = wait_status(lambda: bs.get_volume(target.id),
                         {"available", "error", "error_restoring"}, 120)
    assert target.status == "available"
    # localcloud_fail: restore on the TARGET volume
    broken = volumes(metadata={"localcloud_fail": "restore"})
    bs.restore_backup(backup.id, volume_id=broken.id)
    broken = wait_status(lambda: bs.get_volume(broken.id),
                         {"available", "error", "error_restoring"}, 120)
    assert broken.status == "error_restoring"


def test_fault_create(volumes):
    vol = volumes(metadata={"localcloud_fail": "create"})
    assert vol.status == "error"


def test_fault_snapshot(lc_demo, volumes, wait_status):
    bs = lc_demo.block_storage
    vol = volumes(metadata={"localcloud_fail": "snapshot"})
    assert vol.status == "available"
    snap = bs.create_snapshot(volume_id=vol.id, name=_name("snap"))
    snap = wait_status(lambda: bs.get_snapshot(snap.id), {"available", "error"})
    assert snap.status == "error"


def test_fault_delay_snapshot_does_not_block_others(lc_demo, volumes, wait_status):
    bs = lc_demo.block_storage
    slow = volumes(metadata={"localcloud_delay_snapshot": "12"})
    t0 = time.monotonic()
    snap = bs.create_snapshot(volume_id=slow.id, name=_name("slow"))
    time.sleep(1)
    assert bs.get_snapshot(snap.id).status == "creating"
    # meanwhile the same backend still serves other requests; state, not wall time (the tests run in parallel on
    # a busy machine): the delayed snapshot is still creating when the other volume is ready
    fast = volumes()
    assert fast.status == "available"
    assert bs.get_snapshot(snap.id).status == "creating"
    snap = wait_status(lambda: bs.get_snapshot(snap.id), {"available", "error"}, 60)
    assert snap.status == "available"
    assert time.monotonic() - t0 >= 11.5


def test_fault_backup(lc_demo, volumes, wait_status):
    bs = lc_demo.block_storage
    vol = volumes(metadata={"localcloud_fail": "backup"})
    backup = bs.create_backup(volume_id=vol.id, name=_name("bkp"))
    backup = wait_status(lambda: bs.get_backup(backup.id), {"available", "error"}, 120)
    assert backup.status == "error"
    assert wait_status(lambda: bs.get_volume(vol.id), {"available"}, 60)

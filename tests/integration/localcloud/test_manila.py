"""Manila on the local cloud: shares, snapshots, share from snapshot, revert, faults."""

import time
import uuid

import pytest

MV = "2.65"  # the API assumes 2.0 when no microversion is sent


def _name(prefix):
    return "lc-%s-%s" % (prefix, uuid.uuid4().hex[:6])


@pytest.fixture(scope="module")
def sfs(os_conn_factory):
    """demo connection whose Manila calls default to microversion 2.65."""
    conn = os_conn_factory("localcloud-demo", shared_file_system_default_microversion=MV)
    return conn.shared_file_system


@pytest.fixture
def shares(sfs, wait_status):
    made = []

    def make(wanted=("available",), **kwargs):
        kwargs.setdefault("name", _name("share"))
        kwargs.setdefault("size", 1)
        kwargs.setdefault("share_protocol", "NFS")
        share = sfs.create_share(**kwargs)
        made.append(share.id)
        return wait_status(lambda: sfs.get_share(share.id), set(wanted) | {"error"}, 60)

    yield make
    for sid in reversed(made):
        # openstacksdk drops the share_id filter: select this share's snapshots here, never others'
        for snap in [x for x in sfs.share_snapshots(details=True) if x.share_id == sid]:
            wait_status(lambda s=snap: sfs.get_share_snapshot(s.id),
                        {"available", "error"}, 60)
            sfs.delete_share_snapshot(snap.id, ignore_missing=True)
            wait_status(lambda s=snap: sfs.get_share_snapshot(s.id), {"gone"}, 60)
        wait_status(lambda s=sid: sfs.get_share(s), {"available", "error", "gone"}, 60)
        sfs.delete_share(sid, ignore_missing=True)
    for sid in made:
        wait_status(lambda s=sid: sfs.get_share(s), {"gone"}, 60)


def test_share_type_default(os_conn_factory):
    admin = os_conn_factory("localcloud-admin", shared_file_system_default_microversion=MV)
    types = {t.name: t for t in admin.shared_file_system.share_types()}
    assert "default" in types
    specs = types["default"].extra_specs
    assert specs["driver_handles_share_servers"] in ("False", "false", False)
    for key in ("snapshot_support", "create_share_from_snapshot_support",
                "revert_to_snapshot_support"):
        assert str(specs[key]).lower() == "true"


def test_share_snapshot_from_snapshot_revert(sfs, shares, wait_status):
    share = shares()
    assert share.status == "available"
    snap = sfs.create_share_snapshot(share_id=share.id, name=_name("snap"))
    snap = wait_status(lambda: sfs.get_share_snapshot(snap.id), {"available", "error"})
    assert snap.status == "available"
    child = shares(snapshot_id=snap.id, name=_name("from-snap"))
    assert child.status == "available"
    sfs.revert_share_to_snapshot(share.id, snap.id)
    share = wait_status(lambda: sfs.get_share(share.id),
                        {"available", "reverting_error", "error"}, 60)
    assert share.status == "available"


def test_fault_snapshot(sfs, shares, wait_status):
    share = shares(metadata={"localcloud_fail": "snapshot"})
    snap = sfs.create_share_snapshot(share_id=share.id, name=_name("snap"))
    snap = wait_status(lambda: sfs.get_share_snapshot(snap.id), {"available", "error"})
    assert snap.status == "error"


def test_fault_delay_snapshot(sfs, shares, wait_status):
    share = shares(metadata={"localcloud_delay_snapshot": "12"})
    t0 = time.monotonic()
    snap = sfs.create_share_snapshot(share_id=share.id, name=_name("snap"))
    time.sleep(1)
    assert sfs.get_share_snapshot(snap.id).status == "creating"
    other = shares()  # the share service keeps serving meanwhile
    # state, not wall time (the tests run in parallel on a busy machine): the delayed snapshot is still creating
    assert other.status == "available" and sfs.get_share_snapshot(snap.id).status == "creating"
    snap = wait_status(lambda: sfs.get_share_snapshot(snap.id), {"available", "error"}, 60)
    assert snap.status == "available" and time.monotonic() - t0 >= 11.5


def test_fault_create(shares):
    share = shares(metadata={"localcloud_fail": "create"})
    assert share.status == "error"

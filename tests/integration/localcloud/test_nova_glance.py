"""Nova (fake virt driver subclass), Placement and Glance on the local cloud.

Servers boot without Neutron (``networks: none``, compute microversion >= 2.37) from the seeded
image ``dp-tiny`` and flavor ``dp.tiny``; snapshots carry real bytes; volume-booted servers and
volume attach go through Cinder (os-brick's local connector).
"""

import json
import uuid

import pytest

MICROVERSION = "2.90"
TINY_IMAGE_SIZE = 4096
TINY_IMAGE_HEAD = b"localcloud dp-tiny raw image\n"


def _name(prefix):
    return "lc-%s-%s" % (prefix, uuid.uuid4().hex[:6])


@pytest.fixture(scope="module")
def nova(os_conn_factory):
    return os_conn_factory("localcloud-demo", compute_api_version=MICROVERSION)


@pytest.fixture
def made(nova, wait_status):
    """Records what a test creates; everything is deleted at teardown (servers first)."""
    things = {"servers": [], "images": [], "volumes": [], "snapshots": []}
    yield things
    for sid in things["servers"]:
        nova.compute.delete_server(sid, ignore_missing=True)
    for sid in things["servers"]:
        wait_status(lambda: nova.compute.find_server(sid, ignore_missing=True), {"gone"}, timeout=120)
    for iid in things["images"]:
        nova.image.delete_image(iid, ignore_missing=True)
    for sid in things["snapshots"]:
        nova.block_storage.delete_snapshot(sid, ignore_missing=True)
    for sid in things["snapshots"]:
        wait_status(lambda: nova.block_storage.find_snapshot(sid, ignore_missing=True), {"gone"})
    for vid in things["volumes"]:
        wait_status(lambda: nova.block_storage.get_volume(vid), {"available", "error", "gone"})
        nova.block_storage.delete_volume(vid, ignore_missing=True)


def _boot(nova, made, wait_status, name, **kwargs):
    flavor = nova.compute.find_flavor("dp.tiny", ignore_missing=False)
    server = nova.compute.create_server(name=name, flavor_id=flavor.id, networks="none", **kwargs)
    made["servers"].append(server.id)
    server = wait_status(lambda: nova.compute.get_server(server.id), {"ACTIVE", "ERROR"}, timeout=180)
    assert server.status == "ACTIVE", server.fault
    return server


def test_catalog_has_compute_image_placement_and_network_stub(lc_admin):
    types = {s.type for s in lc_admin.identity.services()}
    assert {"compute", "image", "placement", "network"} <= types
    # no Neutron: the network service is localcloud's stub - no networks, creating one is refused
    assert list(lc_admin.network.networks()) == []
    import openstack.exceptions
    with pytest.raises(openstack.exceptions.HttpException) as err:
        lc_admin.network.create_network(name=_name("net"))
    assert err.value.status_code == 501 and "no Neutron" in str(err.value)


def test_seeded_image_and_flavor(nova):
    image = nova.image.find_image("dp-tiny", ignore_missing=False)
    assert image.status == "active" and image.disk_format == "raw" and image.visibility == "public"
    assert image.size == TINY_IMAGE_SIZE
    data = nova.image.download_image(image).content
    assert len(data) == TINY_IMAGE_SIZE and data.startswith(TINY_IMAGE_HEAD)
    flavor = nova.compute.find_flavor("dp.tiny", ignore_missing=False)
    assert (flavor.vcpus, flavor.ram, flavor.disk) == (1, 64, 1)


def test_compute_services_and_placement(lc_admin):
    admin = lc_admin
    services = {(s.binary, s.state, s.status) for s in admin.compute.services()}
    for binary in ("nova-conductor", "nova-scheduler", "nova-compute"):
        assert (binary, "up", "enabled") in services, services
    providers = admin.placement.get("/resource_providers").json()["resource_providers"]
    assert providers, "nova-compute reported no resource provider to Placement"
    inventory = admin.placement.get("/resource_providers/%s/inventories" % providers[0]["uuid"]).json()
    assert {"VCPU", "MEMORY_MB", "DISK_GB"} <= set(inventory["inventories"])


def test_boot_snapshot_with_real_bytes_and_delete(nova, made, wait_status):
    image = nova.image.find_image("dp-tiny", ignore_missing=False)
    server = _boot(nova, made, wait_status, _name("srv"), image_id=image.id)
    assert server.image["id"] == image.id and server.addresses == {}

    snap_name = _name("snap")
    snap = nova.compute.create_server_image(server, snap_name, wait=False)
    made["images"].append(snap.id)
    snap = wait_status(lambda: nova.image.get_image(snap.id), {"active", "killed", "deleted"}, timeout=120)
    assert snap.status == "active" and snap.size == TINY_IMAGE_SIZE and snap.disk_format == "raw"
    assert snap.properties.get("image_type") == "snapshot"
    assert snap.instance_uuid == server.id
    # the snapshot holds the server's disk: the bytes of the image it booted from
    assert nova.image.download_image(snap).content == nova.image.download_image(image).content

    # a server booted from the snapshot works too
    second = _boot(nova, made, wait_status, _name("srv2"), image_id=snap.id)
    assert second.image["id"] == snap.id

    nova.compute.delete_server(server)
    assert wait_status(lambda: nova.compute.find_server(server.id, ignore_missing=True), {"gone"},
                       timeout=120) == "gone"


def test_network_calls_are_refused_clearly(nova, made, wait_status):
    """Without Neutron, asking for a network fails at the API, not later on the compute host."""
    flavor = nova.compute.find_flavor("dp.tiny", ignore_missing=False)
    image = nova.image.find_image("dp-tiny", ignore_missing=False)
    import openstack.exceptions
    with pytest.raises(openstack.exceptions.HttpException) as err:
        server = nova.compute.create_server(name=_name("net"), flavor_id=flavor.id, image_id=image.id,
                                            networks=[{"uuid": str(uuid.uuid4())}])
        made["servers"].append(server.id)
    assert err.value.status_code in (400, 404), err.value


def test_volume_booted_server_attach_detach_and_snapshot(nova, made, wait_status):
    bs = nova.block_storage
    root = bs.create_volume(name=_name("root"), size=1, availability_zone="nova")
    made["volumes"].append(root.id)
    root = wait_status(lambda: bs.get_volume(root.id), {"available", "error"})
    assert root.status == "available"
    bs.set_volume_bootable_status(root, True)
    server = _boot(nova, made, wait_status, _name("bfv"), block_device_mapping=[{
        "boot_index": 0, "uuid": root.id, "source_type": "volume", "destination_type": "volume",
        "delete_on_termination": False}])
    root = bs.get_volume(root.id)
    assert root.status == "in-use" and root.attachments[0]["server_id"] == server.id

    data = bs.create_volume(name=_name("data"), size=1, availability_zone="nova")
    made["volumes"].append(data.id)
    assert wait_status(lambda: bs.get_volume(data.id), {"available", "error"}).status == "available"
    nova.compute.create_volume_attachment(server, volume_id=data.id)
    data = wait_status(lambda: bs.get_volume(data.id), {"in-use", "error", "available"}, timeout=120)
    assert data.status == "in-use" and data.attachments[0]["server_id"] == server.id

    # snapshot of a volume-backed server: Nova snapshots the volume and records it in the image
    snap = nova.compute.create_server_image(server, _name("bfvsnap"), wait=False)
    made["images"].append(snap.id)
    snap = wait_status(lambda: nova.image.get_image(snap.id), {"active", "killed", "deleted"}, timeout=120)
    assert snap.status == "active"
    bdm = json.loads(snap.properties["block_device_mapping"])
    snapshot_ids = [b["snapshot_id"] for b in bdm if b.get("snapshot_id")]
    made["snapshots"].extend(snapshot_ids)
    assert snapshot_ids and bs.get_snapshot(snapshot_ids[0]).volume_id == root.id

    nova.compute.delete_volume_attachment(data.id, server)
    assert wait_status(lambda: bs.get_volume(data.id), {"available", "error"}, timeout=120).status == "available"
    nova.compute.delete_server(server)
    wait_status(lambda: nova.compute.find_server(server.id, ignore_missing=True), {"gone"}, timeout=120)
    # delete_on_termination false: the root volume survives, detached
    assert wait_status(lambda: bs.get_volume(root.id), {"available"}, timeout=120).status == "available"

"""The local cloud's central freezer-scheduler (service mode, trusts) runs a project's one-shot job.

The job is POSTed by the demo user for client ``localcloud-central``: freezer-api makes a trust
(demo -> freezer) and the scheduler, authenticated as ``freezer``, runs freezer-agent through it.
"""

import time
import uuid

import openstack
import openstack.exceptions
import pytest

from localcloud.services import freezer_scheduler
from localcloud.settings import PASSWORDS

FREEZER = "http://127.0.0.1:9090"
CLIENT_ID = freezer_scheduler.CLIENT_ID


class Freezer:
    def __init__(self, conn):
        self.conn = conn
        self.base = "%s/v2/%s" % (FREEZER, conn.current_project_id)

    def call(self, method, path, **kwargs):
        response = self.conn.session.request(self.base + path, method, raise_exc=False, **kwargs)
        return response.status_code, (response.json() if response.content else {})


@pytest.fixture(scope="module")
def svc(localcloud):
    conn = openstack.connect(load_yaml_config=False, load_envvars=False, region_name="RegionOne",
                             auth=dict(auth_url="http://127.0.0.1:5000/v3", username="freezer",
                                       password=PASSWORDS["service"], project_name="service",
                                       user_domain_name="Default", project_domain_name="Default"))
    return Freezer(conn)


@pytest.fixture(scope="module")
def demo(lc_demo):
    return Freezer(lc_demo)


def test_central_client_registered_and_restricted(svc):
    status, body = svc.call("GET", "/clients/" + CLIENT_ID)
    assert status == 200, body
    client = body["client"]
    assert client["is_central"] is True
    assert sorted(client["supported_modes"]) == ["cindernative", "nova"]
    assert sorted(client["supported_actions"]) == sorted(
        freezer_scheduler.CAPABILITIES["supported_actions"].split(","))


def test_fs_job_refused_for_central_client(demo):
    status, body = demo.call("POST", "/jobs", json=dict(
        client_id=CLIENT_ID, description="lc-fs-refused", job_schedule={},
        job_actions=[dict(freezer_action=dict(action="backup", mode="fs", backup_name="x",
                                              path_to_backup="/etc", storage="local",
                                              container="/tmp/x"))]))
    assert status == 422 and "does not support mode: fs" in body["description"], body


def remove_jobs_and_records(demo, jobs, name):
    """Teardown: the test's freezer-api jobs (with their actions) and the backup records named ``name``."""
    for job_id in jobs:
        status, job = demo.call("GET", "/jobs/" + job_id)
        demo.call("DELETE", "/jobs/" + job_id)
        for entry in (job.get("job_actions") or []) if status == 200 else []:
            demo.call("DELETE", "/actions/" + entry["action_id"])
    _, records = demo.call("GET", "/backups", params={"limit": 1000})
    for rec in records.get("backups") or []:
        if (rec.get("backup_metadata") or {}).get("backup_name") == name:
            demo.call("DELETE", "/backups/" + rec["backup_id"])


@pytest.fixture
def volume(lc_demo, lc_admin, demo, wait_status):
    bs = lc_demo.block_storage
    name = "lc-central-%s" % uuid.uuid4().hex[:6]
    vol = bs.create_volume(name=name, size=1, availability_zone="nova")
    vol = wait_status(lambda: bs.get_volume(vol.id), {"available", "error"})
    assert vol.status == "available"
    jobs = []
    yield vol, jobs
    remove_jobs_and_records(demo, jobs, name)
    for backup in lc_admin.block_storage.backups(details=True, all_projects=True, volume_id=vol.id):
        wait_status(lambda: lc_admin.block_storage.get_backup(backup.id), {"available", "error", "gone"},
                    timeout=120)
        lc_admin.block_storage.delete_backup(backup.id, ignore_missing=True)
    for backup in lc_admin.block_storage.backups(details=True, all_projects=True, volume_id=vol.id):
        wait_status(lambda: lc_admin.block_storage.get_backup(backup.id), {"gone"}, timeout=120)
    wait_status(lambda: bs.get_volume(vol.id), {"available", "error", "gone"}, timeout=120)
    bs.delete_volume(vol.id, ignore_missing=True)


def run_one_shot(demo, jobs, project_id, name, action):
    """POST a job for the central client, start it, wait until completed; return the job."""
    status, body = demo.call("POST", "/jobs", json=dict(
        client_id=CLIENT_ID, description=name, job_schedule={},
        job_actions=[dict(max_retries=1, max_retries_interval=1, freezer_action=action)]))
    assert status == 201, body
    job_id = body["job_id"]
    jobs.append(job_id)
    status, job = demo.call("GET", "/jobs/" + job_id)
    assert job["user_credentials"]["trust_id"], "freezer-api made no trust for the central client"
    assert job["project_id"] == project_id

    status, body = demo.call("POST", "/jobs/%s/event" % job_id, json={"start": None})
    assert status == 202, body
    deadline = time.monotonic() + 300
    while True:
        _, job = demo.call("GET", "/jobs/" + job_id)
        schedule = job.get("job_schedule") or {}
        if schedule.get("status") == "completed":
            return job
        assert time.monotonic() < deadline, "central scheduler did not finish the job: %s" % schedule
        time.sleep(1)


def test_one_shot_cindernative_backup_through_trust(lc_demo, demo, volume, wait_status):
    vol, jobs = volume
    job = run_one_shot(demo, jobs, lc_demo.current_project_id, vol.name, dict(
        action="backup", mode="cindernative", cindernative_vol_id=vol.id, backup_name=vol.name))
    assert job["job_schedule"].get("result") == "success", job

    backups = list(lc_demo.block_storage.backups(details=True, volume_id=vol.id))
    assert len(backups) == 1, backups
    backup = wait_status(lambda: lc_demo.block_storage.get_backup(backups[0].id), {"available", "error"},
                         timeout=120)
    assert backup.status == "available" and backup.volume_id == vol.id


@pytest.fixture
def nova_made(os_conn_factory, demo, wait_status):
    conn = os_conn_factory("localcloud-demo", compute_api_version="2.90")
    name = "lc-central-srv-%s" % uuid.uuid4().hex[:6]
    jobs = []
    yield conn, name, jobs
    remove_jobs_and_records(demo, jobs, name)
    servers = [s for s in conn.compute.servers() if s.name.startswith(name)]
    for server in servers:
        conn.compute.delete_server(server.id, ignore_missing=True)
    for server in servers:
        wait_status(lambda: conn.compute.find_server(server.id, ignore_missing=True), {"gone"}, timeout=120)
    for image in conn.image.images(owner=conn.current_project_id):
        if image.name and name in image.name:  # snapshots and freezer_restore_<name> images
            conn.image.delete_image(image.id, ignore_missing=True)
    try:
        objects = list(conn.object_store.objects(name))
    except openstack.exceptions.NotFoundException:
        return
    for obj in objects:
        conn.object_store.delete_object(obj, container=name, ignore_missing=True)
    conn.object_store.delete_container(name, ignore_missing=True)


def test_one_shot_nova_backup_and_restore_through_trust(lc_demo, demo, nova_made, wait_status):
    """nova mode: the server's snapshot (real bytes, Glance) goes to Swift; restore boots a new server."""
    conn, name, jobs = nova_made
    image = conn.image.find_image("dp-tiny", ignore_missing=False)
    flavor = conn.compute.find_flavor("dp.tiny", ignore_missing=False)
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id, networks="none")
    server = wait_status(lambda: conn.compute.get_server(server.id), {"ACTIVE", "ERROR"}, timeout=180)
    assert server.status == "ACTIVE"
    common = dict(mode="nova", engine_name="nova", nova_inst_id=server.id, storage="swift",
                  container=name, backup_name=name)

    job = run_one_shot(demo, jobs, lc_demo.current_project_id, name, dict(action="backup", **common))
    assert job["job_schedule"].get("result") == "success", job
    objects = [o.name for o in conn.object_store.objects(name)]
    assert any(o.startswith("data/nova/") and server.id in o for o in objects), objects

    job = run_one_shot(demo, jobs, lc_demo.current_project_id, name, dict(action="restore", **common))
    assert job["job_schedule"].get("result") == "success", job
    restored = [s for s in conn.compute.servers() if s.name.startswith(name + "~")]
    assert len(restored) == 1, restored
    restored = wait_status(lambda: conn.compute.get_server(restored[0].id), {"ACTIVE", "ERROR"}, timeout=180)
    assert restored.status == "ACTIVE" and restored.id != server.id
    # the restored server boots from an image holding the original server's disk bytes
    assert conn.image.download_image(restored.image["id"]).content == conn.image.download_image(image).content

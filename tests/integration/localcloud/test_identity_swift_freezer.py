"""Keystone trusts, Swift objects and freezer-api jobs on the local cloud."""

import uuid

import openstack
import pytest
import yaml


def _name(prefix):
    return "lc-%s-%s" % (prefix, uuid.uuid4().hex[:6])


def test_catalog_and_roles(lc_admin):
    types = {s.type for s in lc_admin.identity.services()}
    assert {"identity", "volumev3", "block-storage", "sharev2", "object-store",
            "backup"} <= types
    roles = {r.name for r in lc_admin.identity.roles()}
    assert {"admin", "member", "reader", "service"} <= roles
    projects = {p.name for p in lc_admin.identity.projects()}
    assert {"admin", "service", "demo", "demo2"} <= projects
    sharev2 = [e.url for e in lc_admin.identity.endpoints()
               if e.url.startswith("http://127.0.0.1:8786/")]
    assert sharev2 and all(u.endswith("/v2/%(project_id)s") for u in sharev2)


def test_trust_and_trust_scoped_token(clouds_yaml, lc_demo, lc_demo2):
    with open(clouds_yaml) as fh:
        clouds = yaml.safe_load(fh)["clouds"]
    demo2_auth = clouds["localcloud-demo2"]["auth"]
    trust = lc_demo.identity.create_trust(
        trustor_user_id=lc_demo.current_user_id,
        trustee_user_id=lc_demo2.current_user_id,
        project_id=lc_demo.current_project_id,
        roles=[{"name": "member"}], impersonation=True)
    try:
        # no yaml/env: a cloud's project would clash with the trust scope
        tconn = openstack.connect(
            auth_url=demo2_auth["auth_url"], username=demo2_auth["username"],
            password=demo2_auth["password"], user_domain_name="Default",
            trust_id=trust.id, region_name="RegionOne",
            load_yaml_config=False, load_envvars=False)
        token = tconn.session.get_token()
        assert token
        assert tconn.session.get_project_id() == lc_demo.current_project_id
        # Cinder accepts trust-scoped tokens
        list(tconn.block_storage.volumes())
    finally:
        lc_demo.identity.delete_trust(trust.id, ignore_missing=True)


def test_swift_object_roundtrip(lc_demo):
    store = lc_demo.object_store
    container = _name("ctr")
    store.create_container(name=container)
    try:
        store.upload_object(container=container, name="hello.txt", data=b"hello localcloud")
        assert store.download_object("hello.txt", container=container) == b"hello localcloud"
        assert [o.name for o in store.objects(container)] == ["hello.txt"]
    finally:
        store.delete_object("hello.txt", container=container, ignore_missing=True)
        store.delete_container(container, ignore_missing=True)


@pytest.fixture
def freezer_client(lc_demo):
    from freezerclient.v2 import client as freezer_v2

    return freezer_v2.Client(session=lc_demo.session,
                             project_id=lc_demo.current_project_id)


def test_freezer_job_create_and_list(freezer_client):
    name = _name("job")
    job_doc = {
        "description": name,
        "client_id": "localcloud-test-client",
        "job_schedule": {},
        "job_actions": [{
            "freezer_action": {"action": "backup", "mode": "fs", "backup_name": name,
                               "path_to_backup": "/tmp", "storage": "local",
                               "container": "/tmp/localcloud-freezer-test"},
            "max_retries": 1, "max_retries_interval": 1}],
    }
    client_doc = {"client_id": "localcloud-test-client", "hostname": "localcloud-test",
                  "description": "localcloud integration test client"}
    try:
        freezer_client.clients.create(client_doc)
    except Exception as exc:  # noqa: BLE001 - 409: registered by an earlier run
        assert "409" in str(exc) or "already" in str(exc).lower(), exc
    job_id = freezer_client.jobs.create(job_doc)
    try:
        jobs = freezer_client.jobs.list_all(limit=100)
        assert job_id in [j["job_id"] for j in jobs]
        job = freezer_client.jobs.get(job_id)
        assert job["description"] == name
    finally:
        freezer_client.jobs.delete(job_id)
    assert job_id not in [j["job_id"] for j in freezer_client.jobs.list_all(limit=100)]


def test_freezer_commands_in_services_venv(localcloud):
    import os

    for cmd in ("freezer-agent", "freezer-scheduler", "freezer-api", "freezer-manage"):
        assert os.access(os.path.join(localcloud["venv"], "bin", cmd), os.X_OK), cmd

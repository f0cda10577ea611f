"""Session fixtures for integration tests: the local cloud (localcloud/).

``localcloud`` starts the cloud once per session (installing what is missing)
and stops it at the end only if this session started it, unless
``LOCALCLOUD_KEEP=1``.
"""

import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from localcloud import api as localcloud_api  # noqa: E402

CLOUDS = ("localcloud-admin", "localcloud-demo", "localcloud-demo2")

# Seconds each file's tests took in one `make test` (4 workers on a loaded 2-core machine; the k8s files before
# their API calls got cheaper). `make test` runs the files longest first (xdist --dist loadfile
# --no-loadscope-reorder keeps the collection order): a long file that starts last runs alone at the end. A file
# not listed counts as FILE_COST_DEFAULT. Only the order depends on these numbers, never a result.
FILE_COST = {
    "test_freezer_job.py": 1964, "test_k8s_pod_protect.py": 1747, "test_bad_input.py": 1224,
    "test_manila_share_protect.py": 1123, "test_data_safety.py": 1095, "test_cinder_snapshot_protect.py": 1051,
    "test_k8s_app_protect.py": 865, "test_freezer_cinder_mode.py": 617, "test_freezer_central_scheduler.py": 552,
    "test_protection_report.py": 439, "test_freezer_job_project.py": 374, "test_inventory.py": 353,
    "test_restore_point.py": 292, "test_freezer_project_sessions.py": 275, "test_secrets_and_timeouts.py": 263,
    "test_cinder.py": 137, "test_central_scheduler.py": 125, "test_protect_fleet.py": 116,
    "test_freezer_server_volume_boot.py": 70, "test_nova_glance.py": 64, "test_manila.py": 55,
    "test_failures.py": 47, "test_freezer_playbook.py": 43, "test_identity_swift_freezer.py": 5,
}
FILE_COST_DEFAULT = 300


def pytest_collection_modifyitems(config, items):
    """Longest files first (a stable sort: the tests of a file keep their order)."""
    items.sort(key=lambda item: -FILE_COST.get(os.path.basename(str(item.fspath)), FILE_COST_DEFAULT))


@pytest.fixture(scope="session")
def localcloud():
    # lease first: a concurrent session that started the cloud will not stop
    # it under us at its end
    localcloud_api.acquire_lease()
    try:
        info = localcloud_api.ensure_started()
    except localcloud_api.LocalCloudError as exc:
        localcloud_api.release_lease()
        pytest.fail(str(exc), pytrace=False)
    yield info
    stop = info["started_by_us"] and os.environ.get("LOCALCLOUD_KEEP") != "1"
    localcloud_api.release_lease(stop_if_last=stop)


@pytest.fixture(scope="session")
def clouds_yaml(localcloud):
    return localcloud["clouds_yaml"]


@pytest.fixture(scope="session")
def os_conn_factory(clouds_yaml):
    """``factory(cloud='localcloud-demo', **overrides)`` -> openstack.connection.Connection.

    Reads only the local cloud's clouds.yaml (no OS_* environment).
    """
    import openstack.config
    import openstack.connection

    def factory(cloud="localcloud-demo", **overrides):
        cfg = openstack.config.OpenStackConfig(config_files=[clouds_yaml],
                                               load_envvars=False)
        return openstack.connection.Connection(config=cfg.get_one(cloud=cloud, **overrides))

    return factory


@pytest.fixture(scope="session")
def lc_admin(os_conn_factory):
    return os_conn_factory("localcloud-admin")


@pytest.fixture(scope="session")
def lc_demo(os_conn_factory):
    return os_conn_factory("localcloud-demo")


@pytest.fixture(scope="session")
def lc_demo2(os_conn_factory):
    return os_conn_factory("localcloud-demo2")


def _wait(fetch, wanted, timeout=60, interval=0.5):
    """Poll ``fetch()`` until its ``status`` is in ``wanted``; 'gone' on NotFound."""
    import time

    import openstack.exceptions

    deadline = time.monotonic() + timeout
    while True:
        try:
            obj = fetch()
            status = obj.status if obj is not None else "gone"
        except openstack.exceptions.NotFoundException:
            obj, status = None, "gone"
        if status in wanted:
            return obj if obj is not None else status
        if time.monotonic() > deadline:
            raise AssertionError("status still %r after %ss (wanted %s)"
                                 % (status, timeout, sorted(wanted)))
        time.sleep(interval)


@pytest.fixture(scope="session")
def wait_status():
    """``wait_status(fetch, {'available'}, timeout=60)``; 'gone' when NotFound."""
    return _wait

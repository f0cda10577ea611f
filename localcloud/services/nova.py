"""Nova: api (uWSGI), conductor, scheduler, one compute (fake virt driver subclass).

No Neutron: servers boot with ``networks: none`` (compute API microversion >= 2.37).
Cells v2 with cell0 + cell1 on MariaDB; the scheduler maps the compute host on its own
(``discover_hosts_in_cells_interval``), so nothing waits for nova-compute at start.
"""

import os
import shutil
import sys

from localcloud.identity import Rest, wait_for
from localcloud.procs import http_status, run
from localcloud.services import db_cache
from localcloud.services.common import (Service, ini, keystone_authtoken,
                                        service_env, uwsgi_argv, write_config)
from localcloud.settings import LOCALCLOUD_DIR, PASSWORDS, REGION, Settings

MICROVERSION = "2.90"
DATABASES = ("nova_api", "nova", "nova_cell0")
# The seeded flavor: (name, vcpus, ram MB, disk GB)
TINY_FLAVOR = ("dp.tiny", 1, 64, 1)


def conf_dir(st):
    return os.path.join(st.etc, "nova")


def conf_path(st):
    return os.path.join(conf_dir(st), "nova.conf")


def _service_auth(st, user="nova"):
    return {"auth_type": "password", "auth_url": st.auth_url, "username": user,
            "password": PASSWORDS["service"], "project_name": "service",
            "user_domain_name": "Default", "project_domain_name": "Default",
            "region_name": REGION}


def prepare(st: Settings):
    ndir = st.path("nova")
    for sub in ("instances", "locks"):
        os.makedirs(os.path.join(ndir, sub), exist_ok=True)
    sections = {
        "DEFAULT": {
            "use_stderr": True, "debug": False,
            "transport_url": st.transport_url,
            "host": "localcloud",
            "my_ip": "127.0.0.1",
            "state_path": ndir,
            "instances_path": os.path.join(ndir, "instances"),
            # nova.virt.localcloud_fake = localcloud/drivers/nova_fake.py (see nova_compute.py)
            "compute_driver": "localcloud_fake.LocalCloudFakeDriver",
            "enabled_apis": "osapi_compute",
            "osapi_compute_workers": 1,
            "allow_resize_to_same_host": True,
            "graceful_shutdown_timeout": 3,
            "report_interval": 5,
            "service_down_time": 30,
            "heal_instance_info_cache_interval": -1,
            "instance_build_timeout": 300,
            "rootwrap_config": os.path.join(st.venv, "etc", "nova", "rootwrap.conf"),
        },
        "api": {"auth_strategy": "keystone"},
        "api_database": {"connection": st.db_url("nova_api"), "max_pool_size": 10},
        "database": {"connection": st.db_url("nova"), "max_pool_size": 10},
        "keystone_authtoken": keystone_authtoken(st, "nova"),
        "placement": _service_auth(st),
        "cinder": dict(_service_auth(st), os_region_name=REGION, catalog_info=
                       "volumev3::publicURL"),
        "glance": {"region_name": REGION, "valid_interfaces": "public"},
        # no Neutron: localcloud/neutron_stub.py answers Nova's network reads with empty lists
        "neutron": dict(_service_auth(st), endpoint_override=st.url("neutron-stub"),
                        http_retries=0),
        # Cinder refuses volume detach/delete of attached volumes without a service token
        "service_user": dict(_service_auth(st), send_service_user_token=True),
        "scheduler": {"discover_hosts_in_cells_interval": 2, "workers": 1},
        "conductor": {"workers": 1},
        "filter_scheduler": {"enabled_filters": "ComputeFilter,ImagePropertiesFilter"},
        # a test cloud: no quotas (tests and benchmarks boot many servers)
        "quota": {"instances": -1, "cores": -1, "ram": -1, "key_pairs": -1,
                  "server_groups": -1, "server_group_members": -1},
        "vnc": {"enabled": False},
        "spice": {"enabled": False},
        "serial_console": {"enabled": False},
        "oslo_concurrency": {"lock_path": os.path.join(ndir, "locks")},
        "oslo_messaging_notifications": {"driver": "noop"},
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 0},
        "oslo_policy": {"enforce_scope": False, "enforce_new_defaults": False},
        "privsep_osbrick": {"helper_command": "%s --config-file %s" % (
            st.bin("privsep-helper"), conf_path(st))},
        "os_brick": {"lock_path": os.path.join(ndir, "locks")},
        "compute": {"max_concurrent_builds": 4},
        "workarounds": {"disable_compute_service_check_for_ffu": True},
    }
    write_config(conf_path(st), ini(sections))
    paste = os.path.join(conf_dir(st), "api-paste.ini")
    shutil.copyfile(os.path.join(st.venv, "etc", "nova", "api-paste.ini"), paste)
    db_cache.ensure(st, "nova", "nova", DATABASES, lambda: sync_db(st), st.log("nova-api"),
                    data_tables={"nova_api": ["cell_mappings"]})


def sync_db(st: Settings):
    nm = [st.bin("nova-manage"), "--config-file", conf_path(st)]
    env, log = service_env(st), st.log("nova-api")
    run(nm + ["api_db", "sync"], log, env=env, name="nova-api")
    run(nm + ["cell_v2", "map_cell0", "--database_connection", st.db_url("nova_cell0")],
        log, env=env, name="nova-api")
    cells = _run_out(nm + ["cell_v2", "list_cells"], env)
    if " cell1 " not in cells:
        run(nm + ["cell_v2", "create_cell", "--name", "cell1"], log, env=env, name="nova-api")
    run(nm + ["db", "sync"], log, env=env, name="nova-api")


def _run_out(argv, env):
    import subprocess
    res = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    return res.stdout


def services(st: Settings):
    port = st.port("nova-api")
    env = service_env(st, {"OS_NOVA_CONFIG_DIR": conf_dir(st)})
    cf = ["--config-file", conf_path(st)]
    argv = uwsgi_argv(st, "nova-api", "nova.wsgi.osapi_compute:application", port, cf,
                      processes=1, threads=4)
    stub = [sys.executable, os.path.join(LOCALCLOUD_DIR, "neutron_stub.py"),
            "--port", str(st.port("neutron-stub"))]
    out = [Service("neutron-stub", stub, ports=["neutron-stub"], display_port=st.port("neutron-stub"),
                   env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                   health=lambda: http_status(st.url("neutron-stub", "/")) == 200)]
    out += [Service("nova-api", argv, ports=["nova-api"], env=env, display_port=port,
                   health=lambda: http_status(st.url("nova-api", "/")) == 200)]
    for name in ("nova-conductor", "nova-scheduler"):
        out.append(Service(name, [st.bin(name)] + cf, env=env, stop_timeout=20))
    out.append(Service("nova-compute", [st.python, "-m", "localcloud.drivers.nova_compute"] + cf,
                       env=env, stop_timeout=20))
    return out


def setup(st: Settings, timeout=120):
    """Seed the tiny flavor; wait until the compute host is mapped and up."""
    api = Rest(st)
    base = st.url("nova-api", "/v2.1")
    mv = {"OpenStack-API-Version": "compute %s" % MICROVERSION}
    name, vcpus, ram, disk = TINY_FLAVOR
    flavors = api.call("GET", base + "/flavors", headers=mv)["flavors"]
    if name not in {f["name"] for f in flavors}:
        api.call("POST", base + "/flavors", {"flavor": {
            "name": name, "vcpus": vcpus, "ram": ram, "disk": disk,
            "os-flavor-access:is_public": True,
            "description": "localcloud tiny flavor"}}, headers=mv)

    def compute_up():
        svcs = api.call("GET", base + "/os-services", headers=mv)["services"]
        up = {s["binary"] for s in svcs if s["state"] == "up" and s["status"] == "enabled"}
        if not {"nova-conductor", "nova-scheduler", "nova-compute"} <= up:
            return False
        hyps = api.call("GET", base + "/os-hypervisors", headers=mv)["hypervisors"]
        return any(h.get("state") == "up" for h in hyps)

    wait_for(compute_up, timeout, "nova services (conductor, scheduler, compute) up and "
             "the compute host mapped")

"""Manila: api (uWSGI), scheduler, share (DummyDriver subclass, DHSS=False)."""

import os

from localcloud.identity import Rest, wait_for
from localcloud.procs import http_status, run
from localcloud.services.common import (Service, has_marker, ini, keystone_authtoken,
                                        service_env, set_marker, uwsgi_argv, write_config)
from localcloud.settings import Settings

MICROVERSION = "2.65"
SHARE_TYPE_SPECS = {
    "driver_handles_share_servers": "False",
    "snapshot_support": "True",
    "create_share_from_snapshot_support": "True",
    "revert_to_snapshot_support": "True",
    "mount_snapshot_support": "True",
}


def conf_path(st):
    return os.path.join(st.etc, "manila", "manila.conf")


def prepare(st: Settings):
    mdir = st.path("manila")
    os.makedirs(os.path.join(mdir, "locks"), exist_ok=True)
    venv_etc = os.path.join(st.venv, "etc", "manila")
    write_config(conf_path(st), ini({
        # a test cloud: no quotas (tests and benchmarks create many shares)
        "quota": {"shares": -1, "snapshots": -1, "gigabytes": -1, "snapshot_gigabytes": -1,
                  "share_networks": -1, "share_groups": -1},
        "DEFAULT": {
            "use_stderr": True, "debug": False,
            "transport_url": st.transport_url,
            "auth_strategy": "keystone",
            "state_path": mdir,
            "host": "localcloud",
            "my_ip": "127.0.0.1",
            "enabled_share_backends": "dummy1",
            "enabled_share_protocols": "NFS,CIFS",
            "default_share_type": "default",
            "storage_availability_zone": "nova",
            "api_paste_config": os.path.join(venv_etc, "api-paste.ini"),
            "rootwrap_config": os.path.join(venv_etc, "rootwrap.conf"),
            "periodic_interval": 10,
            "report_interval": 5,
            "service_down_time": 30,
            "graceful_shutdown_timeout": 3,
            "osapi_share_workers": 1,
        },
        "database": {"connection": st.db_url("manila"), "max_pool_size": 10},
        "keystone_authtoken": keystone_authtoken(st, "manila"),
        "oslo_concurrency": {"lock_path": os.path.join(mdir, "locks")},
        "oslo_messaging_notifications": {"driver": "noop"},
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 0},
        "dummy1": {
            "share_driver": "localcloud.drivers.manila_fault.FaultDummyDriver",
            "share_backend_name": "dummy1",
            "driver_handles_share_servers": False,
            "dummy_driver_default_driver_method_delay": 0,
            "dummy_driver_driver_methods_delays": "",
        },
    }))
    if not has_marker(st, "manila-db"):
        run([st.bin("manila-manage"), "--config-file", conf_path(st), "db", "sync"],
            st.log("manila-api"), env=service_env(st), name="manila-api")
        set_marker(st, "manila-db")


def services(st: Settings):
    env = service_env(st)
    cf = ["--config-file", conf_path(st)]
    port = st.port("manila-api")
    out = [Service("manila-api", uwsgi_argv(st, "manila-api", "manila.wsgi.api:application",
                                            port, cf, processes=1, threads=4),
                   ports=["manila-api"], env=env, display_port=port,
                   health=lambda: http_status(st.url("manila-api", "/")) in (200, 300))]
    for name in ("manila-scheduler", "manila-share"):
        out.append(Service(name, [st.bin(name)] + cf, env=env, stop_timeout=20))
    return out


def setup(st: Settings, timeout=120):
    api = Rest(st)
    base = st.url("manila-api", "/v2/%s" % api.project_id)
    mv = {"X-OpenStack-Manila-API-Version": MICROVERSION}
    if not has_marker(st, "manila-types"):
        types = api.call("GET", base + "/types", headers=mv)["share_types"]
        if "default" not in {t["name"] for t in types}:
            api.call("POST", base + "/types", {"share_type": {
                "name": "default", "share_type_access:is_public": True,
                "description": "localcloud default share type",
                "extra_specs": SHARE_TYPE_SPECS}}, headers=mv)
        set_marker(st, "manila-types")

    def up():
        svcs = api.call("GET", base + "/services", headers=mv)["services"]
        up = {s["binary"] for s in svcs if s["state"] == "up" and s["status"] == "enabled"}
        if not {"manila-scheduler", "manila-share"} <= up:
            return False
        pools = api.call("GET", base + "/scheduler-stats/pools", headers=mv)["pools"]
        return len(pools) >= 1

    wait_for(up, timeout, "manila services (share, scheduler) up")

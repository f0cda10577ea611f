"""Cinder: api (uWSGI), scheduler, volume (2 file backends, AZs nova/nova2), backup."""

import os

from localcloud.identity import Rest, wait_for
from localcloud.procs import http_status, run
from localcloud.services.common import (Service, has_marker, ini, keystone_authtoken,
                                        service_env, set_marker, uwsgi_argv, write_config)
from localcloud.settings import Settings

BACKENDS = (("local1", "nova"), ("local2", "nova2"))
# Both backends report the same volume_backend_name and both types carry it:
# Cinder then treats the types as retype-compatible (restore a snapshot into
# the other type) and either backend (AZ) can serve either type.
BACKEND_NAME = "localcloud"
VOLUME_TYPES = (("default", {"volume_backend_name": BACKEND_NAME},
                 "Default volume type (AZ nova or nova2)"),
                ("fast", {"volume_backend_name": BACKEND_NAME, "localcloud:tier": "fast"},
                 "Second type, same backends"))


def conf_path(st):
    return os.path.join(st.etc, "cinder", "cinder.conf")


def prepare(st: Settings):
    cdir = st.path("cinder")
    for sub in ("locks", "backups", "volumes"):
        os.makedirs(os.path.join(cdir, sub), exist_ok=True)
    venv_etc = os.path.join(st.venv, "etc", "cinder")
    privsep = "%s --config-file %s" % (st.bin("privsep-helper"), conf_path(st))
    sections = {
        "DEFAULT": {
            "use_stderr": True, "debug": False,
            "transport_url": st.transport_url,
            "auth_strategy": "keystone",
            "state_path": cdir,
            "host": "localcloud",
            "my_ip": "127.0.0.1",
            "enabled_backends": ",".join(b for b, _ in BACKENDS),
            "default_volume_type": "default",
            "storage_availability_zone": "nova",
            "default_availability_zone": "nova",
            "allow_availability_zone_fallback": False,
            "scheduler_max_attempts": 1,
            # allow "restore a snapshot into another AZ" (two backends, one per AZ)
            "snapshot_same_host": False,
            "cloned_volume_same_az": False,
            "api_paste_config": os.path.join(venv_etc, "api-paste.ini"),
            # as devstack does: without it Cinder rejects ?name= filters (400)
            "resource_query_filters_file": os.path.join(venv_etc, "resource_filters.json"),
            "rootwrap_config": os.path.join(venv_etc, "rootwrap.conf"),
            "backup_driver":
                "localcloud.drivers.cinder_backup_fault.FaultPosixBackupDriver",
            "backup_posix_path": os.path.join(cdir, "backups"),
            "backup_compression_algorithm": "zstd",
            "backup_workers": 1,
            "backup_file_size": 67108864,
            "backup_sha_block_size_bytes": 1048576,
            "backup_enable_progress_timer": False,
            "graceful_shutdown_timeout": 3,
            # a test cloud: no quotas (tests, benchmarks with 100 volumes, several sessions at once)
            "quota_volumes": -1, "quota_snapshots": -1, "quota_gigabytes": -1,
            "quota_backups": -1, "quota_backup_gigabytes": -1,
            # else the DB's "default" quota class (10 volumes) overrides the options above
            "use_default_quota_class": False,
            "periodic_interval": 10,
            "report_interval": 5,
            "service_down_time": 30,
            "osapi_volume_workers": 1,
        },
        "database": {"connection": st.db_url("cinder"), "max_pool_size": 10},
        "keystone_authtoken": keystone_authtoken(st, "cinder"),
        "oslo_concurrency": {"lock_path": os.path.join(cdir, "locks")},
        "oslo_messaging_notifications": {"driver": "noop"},
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 0},
        "coordination": {"backend_url": "file://" + os.path.join(cdir, "locks")},
        "privsep": {"helper_command": privsep},
        "privsep_osbrick": {"helper_command": privsep},
        # image <-> volume (format inspection, qemu-img) runs in this privsep context
        "cinder_sys_admin": {"helper_command": privsep},
        "os_brick": {"lock_path": os.path.join(cdir, "locks")},
    }
    for backend, az in BACKENDS:
        sections[backend] = {
            "volume_driver": "localcloud.drivers.cinder_fault.LocalFileVolumeDriver",
            "volume_backend_name": BACKEND_NAME,
            "backend_availability_zone": az,
        }
    write_config(conf_path(st), ini(sections))
    if not has_marker(st, "cinder-db"):
        run([st.bin("cinder-manage"), "--config-file", conf_path(st), "db", "sync"],
            st.log("cinder-api"), env=service_env(st), name="cinder-api")
        set_marker(st, "cinder-db")


def services(st: Settings):
    env = service_env(st)
    cf = ["--config-file", conf_path(st)]
    port = st.port("cinder-api")
    out = [Service("cinder-api", uwsgi_argv(st, "cinder-api", "cinder.wsgi.api:application",
                                            port, cf, processes=1, threads=4),
                   ports=["cinder-api"], env=env, display_port=port,
                   health=lambda: http_status(st.url("cinder-api", "/")) in (200, 300))]
    for name in ("cinder-scheduler", "cinder-volume", "cinder-backup"):
        out.append(Service(name, [st.bin(name)] + cf, env=env, stop_timeout=20))
    return out


def setup(st: Settings, timeout=120):
    api = Rest(st)
    base = st.url("cinder-api", "/v3/%s" % api.project_id)
    mv = {"OpenStack-API-Version": "volume 3.62"}

    existing = {t["name"]: t for t in api.call("GET", base + "/types")["volume_types"]}
    for name, specs, desc in VOLUME_TYPES:
        if name not in existing:
            api.call("POST", base + "/types", {"volume_type": {
                "name": name, "description": desc, "extra_specs": specs,
                "os-volume-type-access:is_public": True}}, headers=mv)
        elif any(existing[name].get("extra_specs", {}).get(k) != v
                 for k, v in specs.items()):
            api.call("POST", base + "/types/%s/extra_specs" % existing[name]["id"],
                     {"extra_specs": specs}, headers=mv)

    want = {("cinder-scheduler", "localcloud"), ("cinder-backup", "localcloud")}
    want |= {("cinder-volume", "localcloud@%s" % b) for b, _ in BACKENDS}

    def services_up():
        svcs = api.call("GET", base + "/os-services")["services"]
        up = {(s["binary"], s["host"]) for s in svcs if s["state"] == "up"
              and s["status"] == "enabled"}
        if not want <= up:
            return False
        pools = api.call("GET", base + "/scheduler-stats/get_pools")["pools"]
        return len(pools) >= len(BACKENDS)

    wait_for(services_up, timeout, "cinder services (volume x2, scheduler, backup) up")

"""A central freezer-scheduler (service mode, trusts) running freezer-agent for every project.

It authenticates as freezer-api's own keystone_authtoken user (``freezer``): freezer-api makes
the trust of a job POSTed for a central client with that user as trustee.  It registers itself
as client ``localcloud-central`` (hostname: the machine's) restricted to what this cloud serves.
Tests that need a private scheduler still start their own with another client_id.
"""

import os

from localcloud.identity import Rest, wait_for
from localcloud.procs import LocalCloudError
from localcloud.services.common import Service, ini, service_env, write_config
from localcloud.settings import PASSWORDS, REGION, Settings

CLIENT_ID = "localcloud-central"
# What this cloud serves: cindernative (Cinder backups) and nova (image-booted servers: snapshot
# to Glance, data to Swift; restore boots a new server). Both tried end to end through
# freezer-agent here; fs/mysql/... need a host, glance/cinder modes are not verified.
CAPABILITIES = {
    "supported_actions": "backup,restore,admin,info",
    "supported_modes": "cindernative,nova",
    "supported_storages": "swift,local",
    "supported_engines": "tar,nova",
}


def conf_path(st):
    return os.path.join(st.etc, "freezer-scheduler", "scheduler.conf")


def home(st):
    return st.path("freezer-scheduler")


def prepare(st: Settings):
    for sub in ("jobs", "tmp"):
        os.makedirs(os.path.join(home(st), sub), mode=0o700, exist_ok=True)
        os.chmod(os.path.join(home(st), sub), 0o700)
    write_config(conf_path(st), ini({
        "DEFAULT": {"use_stderr": True, "debug": False},
        "scheduler": {"centralized_scheduler": True, "client_id": CLIENT_ID,
                      "jobs_dir": os.path.join(home(st), "jobs"), "interval": 2,
                      "concurrent_jobs": 2, "no_daemon": True, "disable_exec": True,
                      "insecure": False},
        "capabilities": CAPABILITIES,
        "service_auth": {"os_auth_url": st.auth_url, "os_username": "freezer",
                         "os_password": PASSWORDS["service"].replace("$", "$$"),
                         "os_project_name": "service", "os_user_domain_name": "Default",
                         "os_project_domain_name": "Default", "os_region_name": REGION,
                         "os_endpoint_type": "public"},
    }))


def _differs(client):
    if client.get("is_central") is not True:
        return True
    return any(sorted(client.get(key) or []) != sorted(val.split(","))
               for key, val in CAPABILITIES.items())


def _client_url(st, api):
    return st.url("freezer-api", "/v2/%s/clients/%s" % (api.project_id, CLIENT_ID))


def drop_stale_registration(st: Settings):
    """Before (re)starting the scheduler: remove a registration with other capabilities.

    freezer-api answers 409 to a re-registration and keeps the old row, so a scheduler
    started with new capabilities would run under the old ones.
    """
    api = Rest(st, user="freezer", password=PASSWORDS["service"], project="service")
    status, _, data = api.raw("GET", _client_url(st, api))
    if status == 200 and _differs(data.get("client") or {}):
        api.call("DELETE", _client_url(st, api), ok=(200, 204, 404))


def services(st: Settings):
    env = service_env(st, {"TMPDIR": os.path.join(home(st), "tmp")})
    argv = [st.bin("freezer-scheduler"), "--config-file", conf_path(st), "start"]
    return [Service("freezer-scheduler", argv, env=env, stop_timeout=10)]


def registered(st: Settings, api: Rest):
    status, _, data = api.raw("GET", _client_url(st, api))
    return status == 200 and (data.get("client") or {}).get("is_central") is True


def setup(st: Settings, timeout=90):
    api = Rest(st, user="freezer", password=PASSWORDS["service"], project="service")
    wait_for(lambda: registered(st, api), timeout,
             "freezer-scheduler to register client %s (central)" % CLIENT_ID)
    client = api.call("GET", _client_url(st, api))["client"]
    if _differs(client):
        raise LocalCloudError(
            "localcloud: freezer client %s is registered with other capabilities than %s: "
            "python3 localcloud/run.py stop freezer-scheduler; python3 localcloud/run.py start "
            "re-registers it" % (CLIENT_ID, CAPABILITIES))

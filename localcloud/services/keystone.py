"""Keystone under uWSGI: fernet tokens, in-memory cache, bootstrap + users."""

import os

from localcloud import identity
from localcloud.procs import http_status, run
from localcloud.services.common import (Service, has_marker, ini, service_env,
                                        set_marker, uwsgi_argv, write_config)
from localcloud.settings import PASSWORDS, REGION, Settings


def conf_path(st):
    return os.path.join(st.etc, "keystone", "keystone.conf")


def prepare(st: Settings):
    kdir = st.path("keystone")
    write_config(conf_path(st), ini({
        "DEFAULT": {"use_stderr": True, "debug": False},
        "database": {"connection": st.db_url("keystone"), "max_pool_size": 10},
        "token": {"provider": "fernet", "expiration": 86400},
        "fernet_tokens": {"key_repository": os.path.join(kdir, "fernet-keys")},
        "fernet_receipts": {"key_repository": os.path.join(kdir, "fernet-keys")},
        "credential": {"key_repository": os.path.join(kdir, "credential-keys")},
        "cache": {"enabled": True, "backend": "dogpile.cache.memory"},
        # cheap password hashing: this cloud's passwords are public anyway
        "identity": {"password_hash_rounds": 4},
        "oslo_messaging_notifications": {"driver": "noop"},
    }))
    if has_marker(st, "keystone-bootstrap"):
        return
    env = service_env(st)
    km = st.bin("keystone-manage")
    cf = ["--config-file", conf_path(st)]
    log = st.log("keystone")
    run([km] + cf + ["db_sync"], log, env=env, name="keystone")
    for what in ("fernet_setup", "credential_setup"):
        run([km] + cf + [what, "--keystone-user", "root", "--keystone-group", "root"],
            log, env=env, name="keystone")
    run([km] + cf + ["bootstrap",
                     "--bootstrap-password", PASSWORDS["admin"],
                     "--bootstrap-username", "admin",
                     "--bootstrap-project-name", "admin",
                     "--bootstrap-role-name", "admin",
                     "--bootstrap-service-name", "keystone",
                     "--bootstrap-region-id", REGION,
                     "--bootstrap-admin-url", st.auth_url,
                     "--bootstrap-internal-url", st.auth_url,
                     "--bootstrap-public-url", st.auth_url],
        log, env=env, name="keystone")
    set_marker(st, "keystone-bootstrap")


def services(st: Settings):
    port = st.port("keystone")
    env = service_env(st, {"OS_KEYSTONE_CONFIG_FILES": conf_path(st)})
    argv = uwsgi_argv(st, "keystone", "keystone.wsgi.api:application", port,
                      ["--config-file", conf_path(st)], processes=1, threads=8)
    return [Service("keystone", argv, ports=["keystone"], env=env,
                    health=lambda: http_status(st.url("keystone", "/v3")) == 200,
                    display_port=port)]


def setup(st: Settings):
    # users, roles and catalog are created once per content (a new service adds its user
    # and endpoints on the next start); a start on a running cloud then needs no REST round trips
    done = "keystone-identity-" + identity.digest(st)
    if has_marker(st, done):
        return
    identity.ensure_identity(st)
    set_marker(st, done)

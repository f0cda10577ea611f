"""Placement under uWSGI (MariaDB database ``placement``)."""

import os

from localcloud.procs import http_status, run
from localcloud.services import db_cache
from localcloud.services.common import (Service, ini, keystone_authtoken,
                                        service_env, uwsgi_argv, write_config)
from localcloud.settings import Settings


def conf_dir(st):
    return os.path.join(st.etc, "placement")


def conf_path(st):
    return os.path.join(conf_dir(st), "placement.conf")


def prepare(st: Settings):
    write_config(conf_path(st), ini({
        "DEFAULT": {"use_stderr": True, "debug": False},
        "api": {"auth_strategy": "keystone"},
        "placement_database": {"connection": st.db_url("placement"), "max_pool_size": 10},
        "keystone_authtoken": keystone_authtoken(st, "placement"),
        "oslo_policy": {"enforce_scope": False, "enforce_new_defaults": False},
    }))
    db_cache.ensure(st, "placement", "openstack-placement", ("placement",),
                    lambda: run([st.bin("placement-manage"), "--config-file", conf_path(st), "db", "sync"],
                                st.log("placement-api"), env=service_env(st), name="placement-api"),
                    st.log("placement-api"))


def services(st: Settings):
    port = st.port("placement-api")
    argv = uwsgi_argv(st, "placement-api", "placement.wsgi.api:application", port, [],
                      processes=1, threads=4)
    env = service_env(st, {"OS_PLACEMENT_CONFIG_DIR": conf_dir(st)})
    return [Service("placement-api", argv, ports=["placement-api"], env=env, display_port=port,
                    health=lambda: http_status(st.url("placement-api", "/")) == 200)]


def setup(st: Settings):
    pass

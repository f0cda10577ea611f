"""freezer-api under uWSGI: sqlalchemy backend, centralized scheduler enabled."""

import os

from localcloud.procs import http_status, run
from localcloud.services.common import (Service, has_marker, ini, keystone_authtoken,
                                        service_env, set_marker, uwsgi_argv, write_config)
from localcloud.settings import Settings


def conf_path(st):
    return os.path.join(st.etc, "freezer", "freezer-api.conf")


def prepare(st: Settings):
    fdir = st.path("freezer")
    os.makedirs(fdir, exist_ok=True)
    write_config(conf_path(st), ini({
        "DEFAULT": {"use_stderr": True, "debug": False,
                    "bind_host": "127.0.0.1", "bind_port": st.port("freezer-api")},
        "database": {"connection": st.db_url("freezer"), "max_pool_size": 10},
        "storage": {"driver": "sqlalchemy"},
        "keystone_authtoken": keystone_authtoken(st, "freezer"),
        "centralized_scheduler": {"enabled": True, "auth_section": "keystone_authtoken",
                                  "trusts_delegated_roles": "member"},
        "paste_deploy": {"config_file": os.path.join(st.venv, "etc", "freezer",
                                                     "freezer-paste.ini")},
        "oslo_policy": {"enforce_scope": False, "enforce_new_defaults": False},
    }))
    if not has_marker(st, "freezer-db"):
        run([st.bin("freezer-manage"), "--config-file", conf_path(st), "db", "sync"],
            st.log("freezer-api"), env=service_env(st), name="freezer-api")
        set_marker(st, "freezer-db")


def services(st: Settings):
    port = st.port("freezer-api")
    argv = uwsgi_argv(st, "freezer-api", "freezer_api.wsgi:application", port,
                      ["--config-file", conf_path(st)], processes=1, threads=4)
    return [Service("freezer-api", argv, ports=["freezer-api"], env=service_env(st),
                    display_port=port,
                    health=lambda: http_status(st.url("freezer-api", "/")) in (200, 300))]


def setup(st: Settings):
    pass

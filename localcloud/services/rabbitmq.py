"""RabbitMQ (Debian package) on 127.0.0.1, with our own epmd.

RabbitMQ's scripts read unprefixed variables such as LOGS/BASE, so it runs with
a clean environment.  We start epmd ourselves (tracked like any service) so
that stopping it never hits an epmd somebody else runs.
"""

import os
import shutil

from localcloud.procs import port_open
from localcloud.services.common import CONFIG_FILE_MODE, Service, write
from localcloud.settings import Settings

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def _env(st: Settings):
    base = st.path("rabbitmq")
    return {
        "HOME": os.path.join(base, "home"),
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "RABBITMQ_NODENAME": "localcloud%d@localhost" % st.port_offset,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(st.port("rabbitmq")),
        "RABBITMQ_DIST_PORT": str(st.port("rabbitmq_dist")),
        "RABBITMQ_MNESIA_BASE": os.path.join(base, "mnesia"),
        "RABBITMQ_LOG_BASE": os.path.join(base, "log"),
        "RABBITMQ_LOGS": "-",
        "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(base, "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": os.path.join(base, "rabbitmq"),
        "RABBITMQ_PID_FILE": os.path.join(base, "rabbitmq.pid"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "ERL_EPMD_PORT": str(st.port("epmd")),
    }


def prepare(st: Settings):
    base = st.path("rabbitmq")
    for sub in ("home", "mnesia", "log"):
        os.makedirs(os.path.join(base, sub), exist_ok=True)
    write(os.path.join(base, "enabled_plugins"), "[].\n")
    write(os.path.join(base, "rabbitmq.conf"),
          "loopback_users = none\nlisteners.tcp.default = 127.0.0.1:%d\n"
          "vm_memory_high_watermark.absolute = 512MiB\n"
          "disk_free_limit.absolute = 50MB\n" % st.port("rabbitmq"), CONFIG_FILE_MODE)


def services(st: Settings):
    env = _env(st)
    epmd = shutil.which("epmd", path=env["PATH"]) or "/usr/bin/epmd"
    return [
        Service("epmd", [epmd, "-address", "127.0.0.1", "-port", str(st.port("epmd"))],
                ports=["epmd"], env=env, health=lambda: port_open(st.port("epmd")),
                display_port=st.port("epmd")),
        Service("rabbitmq", [SERVER], ports=["rabbitmq", "rabbitmq_dist"], env=env,
                health=lambda: port_open(st.port("rabbitmq")),
                display_port=st.port("rabbitmq"), stop_timeout=40, start_timeout=90),
    ]


def setup(st: Settings):
    pass

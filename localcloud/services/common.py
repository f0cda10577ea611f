"""Shared pieces for the service modules (stdlib only)."""

import os
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from localcloud.settings import PASSWORDS, REPO_ROOT, Settings


@dataclass
class Service:
    name: str
    argv: List[str]
    ports: List[str] = field(default_factory=list)   # BASE_PORTS keys to check free
    health: Optional[Callable[[], bool]] = None      # None: alive is enough
    env: Optional[dict] = None
    stop_timeout: float = 15.0
    start_timeout: float = 120.0
    display_port: Optional[int] = None
    log_name: Optional[str] = None                   # default: name


# Service configs hold passwords (database, keystone_authtoken): root only (services run as root).
CONFIG_FILE_MODE = 0o600
CONFIG_DIR_MODE = 0o700


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    # created with the final mode: a secret is never readable by others, not even for a moment
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)  # also when a stale tmp file had another mode (and despite the umask)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_config(path, text):
    """A service configuration file: 0600 in a 0700 directory."""
    os.makedirs(os.path.dirname(path), mode=CONFIG_DIR_MODE, exist_ok=True)
    os.chmod(os.path.dirname(path), CONFIG_DIR_MODE)
    write(path, text, CONFIG_FILE_MODE)


def secure_configs(st: Settings):
    """Enforce the modes on the whole config tree (st.etc): directories 0700, files 0600.

    Called on every start, also when the cloud is already up: it fixes trees written by older
    versions (0644) without restarting anything.
    """
    os.makedirs(st.etc, mode=CONFIG_DIR_MODE, exist_ok=True)
    for top, _dirs, files in os.walk(st.etc):
        os.chmod(top, CONFIG_DIR_MODE)
        for name in files:
            path = os.path.join(top, name)
            if not os.path.islink(path):
                os.chmod(path, CONFIG_FILE_MODE)


def ini(sections):
    """Render {section: {key: value}} as an ini file."""
    out = []
    for sec, values in sections.items():
        out.append("[%s]" % sec)
        for key, val in values.items():
            if isinstance(val, bool):
                val = "true" if val else "false"
            out.append("%s = %s" % (key, val))
        out.append("")
    return "\n".join(out)


def service_env(st: Settings, extra=None):
    """Environment for OpenStack processes: venv first on PATH, our drivers importable."""
    env = {
        "PATH": "%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                % os.path.join(st.venv, "bin"),
        "HOME": st.path("home"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": REPO_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONWARNINGS": "ignore",
        "VIRTUAL_ENV": st.venv,
    }
    os.makedirs(env["HOME"], exist_ok=True)
    if extra:
        env.update(extra)
    return env


def keystone_authtoken(st: Settings, user):
    return {
        "www_authenticate_uri": st.auth_url,
        "auth_url": st.auth_url,
        "auth_type": "password",
        "username": user,
        "password": PASSWORDS["service"],
        "project_name": "service",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "region_name": "RegionOne",
        "service_token_roles_required": True,
        "memcached_servers": "",
    }


def marker(st: Settings, name):
    return st.path("markers", name)


def has_marker(st, name):
    return os.path.exists(marker(st, name))


def set_marker(st, name):
    write(marker(st, name), "done\n")


def uwsgi_argv(st: Settings, name, module, port, config_args, processes=1, threads=4):
    """uWSGI (pyuwsgi wheel) serving ``module`` on 127.0.0.1:port.

    Apps parse sys.argv with oslo.config, so their args go via --pyargv.
    ``Connection: close`` avoids 'connection reset by peer' on reuse.
    """
    return [
        st.bin("uwsgi"),
        "--http-socket", "127.0.0.1:%d" % port,
        "--module", module,
        "--pyargv", " ".join(config_args),
        "--master", "--die-on-term", "--need-app", "--lazy-apps",
        "--processes", str(processes), "--threads", str(threads),
        "--enable-threads", "--thunder-lock",
        "--add-header", "Connection: close",
        "--buffer-size", "65535",
        "--worker-reload-mercy", "3", "--reload-mercy", "3",
        "--disable-logging",
        "--procname-prefix", "localcloud-%s " % name,
    ]

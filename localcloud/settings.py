"""Where things live and which ports they use (stdlib only).

One ``Settings`` object describes one local cloud instance: its state
directory, the services virtualenv it runs from and its ports.  The default
instance lives in ``<repo>/.localcloud``; tests can build an isolated one
(other state dir, ports shifted by ``port_offset``) to exercise failure paths
without touching the shared running cloud.
"""

import glob
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCALCLOUD_DIR = os.path.join(REPO_ROOT, "localcloud")

# Base ports (before port_offset).  The OpenStack API ports are the usual ones.
BASE_PORTS = {
    "mariadb": 13306,
    "epmd": 4369,
    "rabbitmq": 5672,
    "rabbitmq_dist": 25672,
    "keystone": 5000,
    "swift-object": 6200,
    "swift-container": 6201,
    "swift-account": 6202,
    "swift-proxy": 8080,
    "cinder-api": 8776,
    "manila-api": 8786,
    "freezer-api": 9090,
    "glance-api": 9292,
    "placement-api": 8778,
    "nova-api": 8774,
    "neutron-stub": 9696,
    "kubernetes": 6443,
}

# Fixed credentials: this cloud only ever listens on 127.0.0.1.
PASSWORDS = {
    "admin": "localcloud-admin",
    "demo": "localcloud-demo",
    "demo2": "localcloud-demo2",
    "service": "localcloud-service",
    "db": "localcloud-db",
}
SERVICE_USERS = ("cinder", "manila", "swift", "freezer", "glance", "placement", "nova")
REGION = "RegionOne"
HOST = "127.0.0.1"

# qemu-utils: Cinder's image <-> volume copies (volume from image, upload to image) run qemu-img
DEB_PACKAGES = ("mariadb-server", "mariadb-client", "rabbitmq-server", "qemu-utils")


def find_python312():
    """Return a working python3.12 interpreter path or None."""
    candidates = []
    which = shutil.which("python3.12")
    if which:
        candidates.append(which)
    candidates += sorted(glob.glob("/root/.pyenv/versions/3.12.*/bin/python3.12"),
                         reverse=True)
    candidates += sorted(glob.glob(os.path.expanduser(
        "~/.pyenv/versions/3.12.*/bin/python3.12")), reverse=True)
    candidates += ["/usr/bin/python3.12", "/usr/local/bin/python3.12"]
    seen = set()
    for cand in candidates:
        if cand in seen or not os.path.exists(cand):
            continue
        seen.add(cand)
        try:
            out = subprocess.run(
                [cand, "-c", "import sys;print(sys.executable)"],
                capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.strip():
            # pyenv shims resolve to the real interpreter here
            return out.stdout.strip()
    return None


@dataclass
class Settings:
    state_dir: str = field(default_factory=lambda: os.environ.get(
        "LOCALCLOUD_STATE_DIR", os.path.join(REPO_ROOT, ".localcloud")))
    venv: str = ""
    port_offset: int = 0

    def __post_init__(self):
        self.state_dir = os.path.abspath(self.state_dir)
        if not self.venv:
            self.venv = os.environ.get("LOCALCLOUD_VENV") or os.path.join(
                REPO_ROOT, ".localcloud", "venv")
        self.venv = os.path.abspath(self.venv)
        if not self.port_offset:
            self.port_offset = int(os.environ.get("LOCALCLOUD_PORT_OFFSET", "0"))

    # --- paths -----------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.state_dir, *parts)

    @property
    def logs(self):
        return self.path("logs")

    def log(self, name):
        return os.path.join(self.logs, name + ".log")

    @property
    def run_dir(self):
        return self.path("run")

    @property
    def etc(self):
        return self.path("etc")

    def bin(self, name):
        return os.path.join(self.venv, "bin", name)

    @property
    def python(self):
        return self.bin("python")

    @property
    def clouds_yaml(self):
        return self.path("clouds.yaml")

    @property
    def kubeconfig(self):
        return self.path("kubeconfig")

    # --- network ---------------------------------------------------------
    def port(self, name):
        return BASE_PORTS[name] + self.port_offset

    def url(self, name, suffix=""):
        return "http://%s:%d%s" % (HOST, self.port(name), suffix)

    @property
    def auth_url(self):
        return self.url("keystone", "/v3")

    @property
    def transport_url(self):
        return "rabbit://guest:guest@%s:%d/" % (HOST, self.port("rabbitmq"))

    def db_url(self, dbname):
        return "mysql+pymysql://localcloud:%s@%s:%d/%s?charset=utf8" % (
            PASSWORDS["db"], HOST, self.port("mariadb"), dbname)

    # --- persistence -----------------------------------------------------
    def save(self):
        os.makedirs(self.state_dir, exist_ok=True)
        with open(self.path("settings.json"), "w") as fh:
            json.dump({"venv": self.venv, "port_offset": self.port_offset}, fh)

    @classmethod
    def load(cls, state_dir=None, venv=None, port_offset=None):
        """Settings for ``state_dir``, preferring what a previous start saved."""
        st = cls(state_dir=state_dir) if state_dir else cls()
        saved = {}
        try:
            with open(st.path("settings.json")) as fh:
                saved = json.load(fh)
        except (OSError, ValueError):
            pass
        if venv:
            st.venv = os.path.abspath(venv)
        elif saved.get("venv") and not os.environ.get("LOCALCLOUD_VENV"):
            st.venv = saved["venv"]
        if port_offset is not None:
            st.port_offset = int(port_offset)
        elif "port_offset" in saved and not os.environ.get("LOCALCLOUD_PORT_OFFSET"):
            st.port_offset = int(saved["port_offset"])
        return st

"""Kubernetes API emulator (tests/k8s_emulator/server.py), only if it exists."""

import os
import sys

from localcloud.procs import port_open
from localcloud.services.common import Service
from localcloud.settings import REPO_ROOT, Settings

SERVER = os.path.join(REPO_ROOT, "tests", "k8s_emulator", "server.py")


def available():
    return os.path.exists(SERVER)


def prepare(st: Settings):
    pass


def services(st: Settings):
    if not available():
        return []
    port = st.port("kubernetes")
    argv = [sys.executable, SERVER, "--host", "127.0.0.1", "--port", str(port),
            "--kubeconfig", st.kubeconfig]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1"}
    return [Service("kubernetes", argv, ports=["kubernetes"], env=env, display_port=port,
                    health=lambda: port_open(port) and os.path.exists(st.kubeconfig),
                    start_timeout=30)]


def setup(st: Settings):
    pass

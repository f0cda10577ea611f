"""Kubernetes API emulator (tests/k8s_emulator/server.py), only if it exists."""

import json
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
    # Cinder volumes of scheduled pods are attached/detached in the local Cinder (as the admin), as on a real cluster.
    argv = [sys.executable, SERVER, "--host", "127.0.0.1", "--port", str(port),
            "--kubeconfig", st.kubeconfig, "--clouds-yaml", st.clouds_yaml, "--cinder-cloud", "localcloud-admin"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1"}
    try:  # a restarted emulator keeps the token of the kubeconfig clients already hold
        with open(st.kubeconfig, encoding="utf-8") as handle:
            env["K8S_EMULATOR_TOKEN"] = json.load(handle)["users"][0]["user"]["token"]
    except (OSError, ValueError, KeyError, IndexError):
        pass
    return [Service("kubernetes", argv, ports=["kubernetes"], env=env, display_port=port,
                    health=lambda: port_open(port) and os.path.exists(st.kubeconfig),
                    start_timeout=30)]


def setup(st: Settings):
    pass

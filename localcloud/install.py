"""Install what the local cloud needs: Debian packages and the services venv."""

import glob
import hashlib
import os
import shutil
import subprocess
import time

from localcloud.procs import LocalCloudError, tail
from localcloud.settings import DEB_PACKAGES, LOCALCLOUD_DIR, Settings, find_python312

REQUIREMENTS = os.path.join(LOCALCLOUD_DIR, "requirements.txt")
UV_REQUIREMENT = "uv==0.13.9"


def wanted_packages():
    extra = os.environ.get("LOCALCLOUD_EXTRA_DEB_PACKAGES", "").split()
    return list(DEB_PACKAGES) + extra


def missing_packages(packages):
    missing = []
    for pkg in packages:
        try:
            res = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            missing.append(pkg)
            continue
        if res.returncode != 0 or "install ok installed" not in res.stdout:
            missing.append(pkg)
    return missing


def _apt_knows(pkg):
    try:
        res = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return True  # let apt-get itself report
    return res.returncode == 0 and "Package:" in res.stdout


def ensure_packages(st: Settings, packages=None, log=print):
    packages = wanted_packages() if packages is None else packages
    missing = missing_packages(packages)
    if not missing:
        return False
    if not shutil.which("apt-get"):
        raise LocalCloudError("localcloud: missing Debian packages %s and no apt-get"
                              % " ".join(missing))
    logfile = st.log("apt")
    os.makedirs(st.logs, exist_ok=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log("localcloud: installing Debian packages: %s" % " ".join(missing))
    if not glob.glob("/var/lib/apt/lists/*_Packages*"):  # never updated
        with open(logfile, "ab") as out:
            subprocess.run(["apt-get", "update"], stdout=out, stderr=subprocess.STDOUT,
                           env=env)
    unknown = [p for p in missing if not _apt_knows(p)]
    if unknown:
        raise LocalCloudError(
            "localcloud: Debian package(s) %s not found in the package lists (needed by "
            "the local cloud); check the name or run 'apt-get update'" % " ".join(unknown))
    cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + missing
    for attempt in (1, 2):
        with open(logfile, "ab") as out:
            out.write(("\n==== %s\n" % " ".join(cmd)).encode())
            out.flush()
            res = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        if res.returncode == 0:
            break
        if attempt == 1:  # stale package lists: update once and retry
            with open(logfile, "ab") as out:
                subprocess.run(["apt-get", "update"], stdout=out, stderr=subprocess.STDOUT,
                               env=env)
    still = missing_packages(missing)
    if still:
        raise LocalCloudError(
            "localcloud: could not install Debian package(s) %s (needed by the local "
            "cloud)\n--- last 20 lines of %s ---\n%s\n---"
            % (" ".join(still), logfile, tail(logfile, 20)))
    return True


def _req_hash():
    with open(REQUIREMENTS, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def venv_ok(st: Settings):
    stamp = os.path.join(st.venv, ".localcloud-requirements.sha256")
    try:
        with open(stamp) as fh:
            return fh.read().strip() == _req_hash() and os.path.exists(st.python)
    except OSError:
        return False


def ensure_venv(st: Settings, log=print):
    if venv_ok(st):
        return False
    logfile = st.log("venv")
    os.makedirs(st.logs, exist_ok=True)
    py = find_python312()
    if not py:
        raise LocalCloudError("localcloud: no working python3.12 found (PATH or "
                              "/root/.pyenv/versions/3.12.*); the services need it")
    t0 = time.monotonic()
    log("localcloud: creating services venv %s with %s" % (st.venv, py))

    def step(cmd):
        with open(logfile, "ab") as out:
            out.write(("\n==== %s\n" % " ".join(cmd)).encode())
            out.flush()
            res = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                                 env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
        if res.returncode != 0:
            raise LocalCloudError(
                "localcloud: services venv step failed: %s\n--- last 20 lines of %s ---"
                "\n%s\n---" % (" ".join(cmd), logfile, tail(logfile, 20)))

    if not os.path.exists(os.path.join(st.venv, "bin", "python")):
        step([py, "-m", "venv", st.venv])
    uv = os.path.join(st.venv, "bin", "uv")
    if not os.path.exists(uv):
        step([os.path.join(st.venv, "bin", "pip"), "install", "-q", UV_REQUIREMENT])
    step([uv, "pip", "install", "--python", st.python, "--compile-bytecode",
          "-r", REQUIREMENTS])
    with open(os.path.join(st.venv, ".localcloud-requirements.sha256"), "w") as fh:
        fh.write(_req_hash())
    log("localcloud: services venv ready in %.1fs" % (time.monotonic() - t0))
    return True


def install(st: Settings, log=print):
    ensure_packages(st, log=log)
    ensure_venv(st, log=log)

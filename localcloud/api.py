"""Importable API for test fixtures (stdlib only).

    from localcloud.api import ensure_started, stop
    info = ensure_started()   # {'clouds_yaml', 'state_dir', 'kubeconfig', 'started_by_us', ...}
    ...
    if info['started_by_us']:
        stop()
"""

import json
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from localcloud import cloud  # noqa: E402
from localcloud.procs import LocalCloudError, proc_start_time  # noqa: E402,F401
from localcloud.settings import Settings  # noqa: E402

__all__ = ["LocalCloudError", "ensure_started", "stop", "status", "info", "settings",
           "acquire_lease", "release_lease", "other_users"]


def settings(state_dir=None, venv=None, port_offset=None):
    return Settings.load(state_dir=state_dir, venv=venv, port_offset=port_offset)


def ensure_started(state_dir=None, venv=None, port_offset=None, log=None):
    """Start (and install) whatever is missing; return the info dict.

    ``started_by_us`` is True when this call had to start any process.
    Raises LocalCloudError with a readable message (service + log tail).
    """
    st = settings(state_dir, venv, port_offset)
    return cloud.start(st, log=log or (lambda msg: print(msg, file=sys.stderr)))


def stop(state_dir=None):
    """Stop every process this local cloud instance started; return their names."""
    return cloud.stop(settings(state_dir), log=lambda msg: None)


def status(state_dir=None):
    return cloud.status(settings(state_dir))


def info(state_dir=None):
    return cloud.info_dict(settings(state_dir))


# --- leases: several test sessions may share one cloud -----------------------

def _lease_dir(st):
    return st.path("leases")


def acquire_lease(state_dir=None, pid=None):
    """Record that process ``pid`` (default: this one) uses the cloud."""
    st = settings(state_dir)
    pid = pid or os.getpid()
    os.makedirs(_lease_dir(st), exist_ok=True)
    with open(os.path.join(_lease_dir(st), "%d.json" % pid), "w") as fh:
        json.dump({"pid": pid, "start_time": proc_start_time(pid)}, fh)


def other_users(state_dir=None, pid=None):
    """pids of other live processes holding a lease (stale leases are dropped)."""
    st = settings(state_dir)
    pid = pid or os.getpid()
    users = []
    try:
        names = os.listdir(_lease_dir(st))
    except OSError:
        return users
    for name in names:
        path = os.path.join(_lease_dir(st), name)
        try:
            with open(path) as fh:
                rec = json.load(fh)
        except (OSError, ValueError):
            continue
        if rec.get("pid") == pid:
            continue
        alive = proc_start_time(rec["pid"])
        if alive is not None and alive == rec.get("start_time"):
            users.append(rec["pid"])
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
    return users


def release_lease(state_dir=None, stop_if_last=False, pid=None):
    """Drop this process's lease; stop the cloud if asked and nobody else uses it.

    Returns the names of stopped services ([] if it stayed up).
    """
    st = settings(state_dir)
    pid = pid or os.getpid()
    try:
        os.unlink(os.path.join(_lease_dir(st), "%d.json" % pid))
    except OSError:
        pass
    if stop_if_last and not other_users(state_dir, pid):
        return stop(state_dir)
    return []

"""Start, track, check and stop the processes of the local cloud (stdlib only).

Every process we start gets a record ``<state>/run/<name>.json`` with its pid
and its kernel start time (field 22 of /proc/<pid>/stat).  A process is only
ever signalled when both still match, so a reused pid is never killed.  Each
process is started in its own session, so its whole process group (workers,
children) is stopped with it.
"""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


class LocalCloudError(Exception):
    """A failure with a message meant for humans (no traceback needed)."""


# --- /proc helpers ---------------------------------------------------------

def proc_start_time(pid):
    """Kernel start time of ``pid`` in clock ticks, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            data = fh.read()
    except OSError:
        return None
    # comm may contain spaces/parens: split after the last ')'
    rest = data.rsplit(")", 1)[1].split()
    if rest[0] == "Z":  # zombie: as good as dead
        return None
    return int(rest[19])


def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def group_pids(pgid):
    """All live pids whose process group is ``pgid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as fh:
                rest = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if rest[0] != "Z" and int(rest[2]) == pgid:
            pids.append(int(entry))
    return pids


def tail(path, lines=20):
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return "(no log at %s)" % path
    return "\n".join(data.splitlines()[-lines:])


def failure(name, reason, log=None, lines=20):
    msg = "localcloud: service '%s' %s" % (name, reason)
    if log:
        msg += "\n--- last %d lines of %s ---\n%s\n---" % (lines, log, tail(log, lines))
    return LocalCloudError(msg)


# --- ports -----------------------------------------------------------------

def port_open(port, host="127.0.0.1", timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_free(port, host="127.0.0.1"):
    """True if nothing listens on ``port`` (bind test, TIME_WAIT tolerated)."""
    if port_open(port, host):
        return False
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def port_owner(port):
    """Best-effort description of who listens on ``port`` (via ss)."""
    try:
        out = subprocess.run(["ss", "-Hltnp", "sport = :%d" % port],
                             capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return " ".join(out.split()[-1:]) if out.strip() else ""


def http_status(url, timeout=3.0):
    """HTTP status code of GET ``url`` (also for 4xx/5xx), None if no answer."""
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


# --- tracked processes -----------------------------------------------------

class Tracker:
    """pid records of one local cloud instance."""

    def __init__(self, run_dir):
        self.run_dir = run_dir

    def _file(self, name):
        return os.path.join(self.run_dir, name + ".json")

    def record(self, name):
        try:
            with open(self._file(name)) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return None

    def names(self):
        try:
            return sorted(f[:-5] for f in os.listdir(self.run_dir) if f.endswith(".json"))
        except OSError:
            return []

    def alive(self, name):
        """pid of the tracked process ``name`` if it is still ours, else None."""
        rec = self.record(name)
        if not rec:
            return None
        if proc_start_time(rec["pid"]) != rec["start_time"]:
            return None
        return rec["pid"]

    def start(self, name, argv, log, env=None, cwd=None, extra=None):
        os.makedirs(self.run_dir, exist_ok=True)
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "ab") as out:
            out.write(("\n==== localcloud: starting %s at %s: %s\n" % (
                name, time.strftime("%Y-%m-%d %H:%M:%S"), " ".join(argv))).encode())
            out.flush()
            try:
                proc = subprocess.Popen(
                    argv, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                    start_new_session=True, close_fds=True)
            except OSError as exc:
                raise failure(name, "could not be executed: %s" % exc, log)
        start_time = None
        for _ in range(50):
            start_time = proc_start_time(proc.pid)
            if start_time is not None:
                break
            time.sleep(0.01)
        rec = {"pid": proc.pid, "start_time": start_time, "argv": argv,
               "log": log, "started": time.time()}
        rec.update(extra or {})
        # atomic: other threads read records while this one writes
        tmp = self._file(name) + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(rec, fh)
        os.replace(tmp, self._file(name))
        # we never wait() on it; the child is reaped by init after we exit.
        proc._child_created = False  # keep Popen.__del__ quiet
        return proc

    def stop(self, name, timeout=15.0):
        """Stop the tracked process group ``name``; True if something was stopped."""
        rec = self.record(name)
        if not rec:
            return False
        pid = rec["pid"]
        stopped = False
        if proc_start_time(pid) == rec["start_time"]:
            stopped = True
            pgid = pid  # started with start_new_session: pgid == pid
            sig = signal.SIGTERM
            deadline = time.monotonic() + timeout
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
            while time.monotonic() < deadline:
                _reap()
                if not group_pids(pgid):
                    break
                time.sleep(0.1)
            else:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                for _ in range(50):
                    _reap()
                    if not group_pids(pgid):
                        break
                    time.sleep(0.1)
        try:
            os.unlink(self._file(name))
        except OSError:
            pass
        return stopped

    def rss_kb(self, name):
        pid = self.alive(name)
        if not pid:
            return 0
        return sum(proc_rss_kb(p) for p in group_pids(pid))


def _reap():
    """Reap children of this process (when we started them in this run)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run(argv, log, env=None, cwd=None, name=None, timeout=600):
    """Run a setup command to completion, appending to ``log``; raise on error."""
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "ab") as out:
        out.write(("\n==== localcloud: running %s\n" % " ".join(argv)).encode())
        out.flush()
        try:
            res = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                 timeout=timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            raise failure(name or argv[0], "setup step %r failed: %s" % (
                os.path.basename(argv[0]), exc), log)
    if res.returncode != 0:
        raise failure(name or argv[0], "setup step %r exited with %d" % (
            " ".join(os.path.basename(a) for a in argv[:3]), res.returncode), log)

"""Orchestration: start (idempotent), stop, status of one local cloud instance."""

import fcntl
import os
import sys
import threading
import time
from contextlib import contextmanager

from localcloud import clouds_yaml, install
from localcloud.procs import (LocalCloudError, Tracker, failure, port_free, port_owner)
from localcloud.services import (cinder, freezer, freezer_scheduler, glance, keystone,
                                 kubernetes, manila, mariadb, nova, placement, rabbitmq, swift)
from localcloud.services.common import secure_configs
from localcloud.settings import Settings

GROUPS = (mariadb, rabbitmq, keystone, swift, cinder, manila, freezer, glance, placement, nova,
          freezer_scheduler, kubernetes)
# prepared (config, db schema) and launched group by group, in parallel
OPENSTACK_GROUPS = (keystone, swift, cinder, manila, freezer, glance, placement, nova)
# after every process answers: types, seeds, "all services up" checks (in parallel)
SETUPS = (cinder.setup, manila.setup, glance.setup, nova.setup, freezer_scheduler.setup)
START_TIMEOUT = float(os.environ.get("LOCALCLOUD_START_TIMEOUT", "300"))


def all_services(st):
    out = []
    for group in GROUPS:
        out.extend(group.services(st))
    return out


def service_order(st):
    names = [s.name for s in all_services(st)]
    return names


@contextmanager
def locked(st):
    os.makedirs(st.state_dir, exist_ok=True)
    with open(st.path(".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Starter:
    def __init__(self, st: Settings, log=print):
        self.st = st
        self.log = log
        self.tracker = Tracker(st.run_dir)
        self.started = []      # names launched by this attempt
        self.watched = []      # services that must stay alive from now on
        self.deadline = time.monotonic() + START_TIMEOUT
        self.t0 = time.monotonic()
        self.phases = {}
        # Set once Keystone has its users and catalog (or failed): services that log in at start
        # (nova-compute reports to Placement as user nova) must not launch before their user exists.
        self.identity_settled = threading.Event()
        self.identity_ok = False

    def mark(self, phase):
        self.phases[phase] = round(time.monotonic() - self.t0, 1)

    def launch(self, svc):
        # Watched only once its record exists: groups launch in parallel threads, and another thread's
        # check_alive() must never see a service that is still being started as dead.
        if self.tracker.alive(svc.name):
            self.watched.append(svc)
            return False
        self.tracker.stop(svc.name)  # drop a stale record
        for pname in svc.ports:
            port = self.st.port(pname)
            if not port_free(port):
                owner = port_owner(port)
                raise failure(svc.name, "cannot start: port %d (%s) is already in use%s"
                              % (port, pname, " by " + owner if owner else ""),
                              self.st.log(svc.log_name or svc.name))
        argv = svc.argv
        if svc.name in os.environ.get("LOCALCLOUD_BREAK", "").split(","):
            # test hook: make this service die at start like a broken one would
            argv = [sys.executable, "-c", "import sys; print('localcloud: injected start "
                    "failure (LOCALCLOUD_BREAK) for %s'); sys.exit(3)" % svc.name]
        self.tracker.start(svc.name, argv, self.st.log(svc.log_name or svc.name),
                           env=svc.env, cwd=self.st.state_dir,
                           extra={"port": svc.display_port})
        self.started.append(svc.name)
        self.watched.append(svc)
        return True

    def wait(self, services):
        pending = list(services)
        while pending:
            self.check_alive()
            for svc in list(pending):
                try:
                    ok = svc.health is None or svc.health()
                except Exception:  # noqa: BLE001 - health probes never crash start
                    ok = False
                if ok:
                    pending.remove(svc)
            if pending and time.monotonic() > self.deadline:
                svc = pending[0]
                raise failure(svc.name, "did not become ready within %ds"
                              % START_TIMEOUT, self.st.log(svc.log_name or svc.name))
            if pending:
                time.sleep(0.25)

    def check_alive(self):
        for svc in self.watched:
            if not self.tracker.alive(svc.name):
                raise failure(svc.name, "died during start",
                              self.st.log(svc.log_name or svc.name))

    def parallel(self, funcs):
        errors = []

        def runner(fn):
            try:
                fn(self.st)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)

        threads = [threading.Thread(target=runner, args=(f,)) for f in funcs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def bring_up(self, group):
        def step(st):
            if group is keystone:
                try:
                    self.start_identity(st)
                finally:
                    self.identity_settled.set()
                return
            group.prepare(st)
            self.mark("prepared-" + group.__name__.rsplit(".", 1)[-1])
            if group is not kubernetes:
                self.identity_settled.wait(max(0.0, self.deadline - time.monotonic()))
                if not self.identity_ok:
                    return  # Keystone's own thread reports why
            for svc in group.services(st):
                self.launch(svc)
        return step

    def start_identity(self, st):
        keystone.prepare(st)
        self.mark("prepared-keystone")
        svcs = keystone.services(st)
        for svc in svcs:
            self.launch(svc)
        self.wait(svcs)
        keystone.setup(st)
        self.identity_ok = True
        self.mark("keystone")

    def run(self):
        st = self.st
        os.makedirs(st.logs, exist_ok=True)
        # 1. infrastructure: mariadb, epmd, rabbitmq (rabbit boots while we go on:
        #    oslo.messaging clients retry until it answers)
        mariadb.prepare(st)
        rabbitmq.prepare(st)
        infra = mariadb.services(st) + rabbitmq.services(st)
        for svc in infra:
            self.launch(svc)
            if svc.name == "epmd":
                self.wait([svc])
        self.wait([s for s in infra if s.name == "mariadb"])
        mariadb.setup(st)
        self.check_alive()
        self.mark("mariadb")
        # 2. per group: config + db schema, then its processes at once; the groups in parallel
        #    (a slow schema sync - Nova's - delays only its own group). Keystone's setup (users,
        #    catalog) runs as soon as it answers. Config tree root-only (0700/0600) before and
        #    after, also when everything is already up (fixes older 0644 trees in place).
        secure_configs(st)
        self.parallel([self.bring_up(g) for g in OPENSTACK_GROUPS + (kubernetes,)])
        secure_configs(st)
        self.mark("launched")
        # 3. the central freezer-scheduler registers itself once freezer-api and its user exist
        freezer_scheduler.prepare(st)
        secure_configs(st)
        self.wait([s for s in freezer.services(st)])
        if not self.tracker.alive("freezer-scheduler"):
            freezer_scheduler.drop_stale_registration(st)
        sched = freezer_scheduler.services(st)
        for svc in sched:
            self.launch(svc)
        infra = mariadb.services(st) + rabbitmq.services(st)
        self.wait(infra)
        self.mark("rabbitmq")
        svcs = []
        for group in OPENSTACK_GROUPS + (kubernetes,):
            svcs.extend(group.services(st))
        self.wait(svcs + sched)
        self.mark("processes")
        # 4. types, seeds and "all services up" checks (in parallel)
        self.parallel(list(SETUPS))
        self.mark("services-up")
        self.check_alive()
        clouds_yaml.write(st)


def start(st: Settings = None, log=print, do_install=True):
    """Start everything that is not running; return the info dict."""
    st = st or Settings.load()
    t0 = time.monotonic()
    with locked(st):
        if do_install:
            install.install(st, log=log)
        st.save()
        starter = Starter(st, log=log)
        try:
            starter.run()
        except BaseException as exc:
            for name in reversed(starter.started):
                starter.tracker.stop(name, timeout=10)
            if isinstance(exc, LocalCloudError):
                raise LocalCloudError(str(exc) + "\nlocalcloud: start failed; stopped the "
                                      "%d process(es) this attempt had started"
                                      % len(starter.started)) from None
            raise
    elapsed = time.monotonic() - t0
    info = info_dict(st, started_by_us=bool(starter.started))
    info["elapsed"] = round(elapsed, 1)
    info["started"] = starter.started
    info["phases"] = starter.phases
    return info


def prepare(st: Settings = None, log=print):
    """Install, then sync the slow database schemas (Nova's takes minutes) and cache their dumps (`make setup`).

    A later cold start loads the dumps in seconds, so `make test` and `make demo` do not pay for the
    migrations. MariaDB is started for this and stopped again unless it was already running.
    """
    st = st or Settings.load()
    t0 = time.monotonic()
    with locked(st):
        install.install(st, log=log)
        st.save()
        starter = Starter(st, log=log)
        try:
            if not starter.tracker.alive("mariadb"):
                mariadb.prepare(st)
                for svc in mariadb.services(st):
                    starter.launch(svc)
                starter.wait(mariadb.services(st))
            mariadb.setup(st)
            starter.parallel([group.prepare for group in (glance, placement, nova)])
            secure_configs(st)
        finally:
            for name in reversed(starter.started):
                starter.tracker.stop(name, timeout=45)
    return round(time.monotonic() - t0, 1)


def info_dict(st, started_by_us=False):
    kube = st.kubeconfig if os.path.exists(st.kubeconfig) and \
        Tracker(st.run_dir).alive("kubernetes") else None
    return {"clouds_yaml": st.clouds_yaml, "state_dir": st.state_dir,
            "kubeconfig": kube, "started_by_us": started_by_us,
            "auth_url": st.auth_url, "logs": st.logs, "venv": st.venv,
            "port_offset": st.port_offset}


def stop(st: Settings = None, log=print, only=None):
    st = st or Settings.load()
    tracker = Tracker(st.run_dir)
    with locked(st):
        order = service_order(st)
        names = tracker.names()
        ordered = [n for n in names if n not in order] + \
            [n for n in reversed(order) if n in names]
        if only:
            ordered = [n for n in ordered if n in only]
        stopped = []
        for name in ordered:
            timeout = 45 if name in ("rabbitmq", "mariadb") else 20
            if tracker.stop(name, timeout=timeout):
                stopped.append(name)
        return stopped


def status(st: Settings = None):
    st = st or Settings.load()
    tracker = Tracker(st.run_dir)
    rows = []
    known = {s.name: s for s in all_services(st)}
    for name in list(known) + [n for n in tracker.names() if n not in known]:
        svc = known.get(name)
        pid = tracker.alive(name)
        healthy = False
        if pid:
            try:
                healthy = svc is None or svc.health is None or bool(svc.health())
            except Exception:  # noqa: BLE001
                healthy = False
        rows.append({"service": name, "up": bool(pid) and healthy, "running": bool(pid),
                     "pid": pid, "port": svc.display_port if svc else None,
                     "log": st.log(svc.log_name or name) if svc else None,
                     "rss_kb": tracker.rss_kb(name) if pid else 0})
    return rows


def healthy(st: Settings = None):
    rows = status(st)
    return bool(rows) and all(r["up"] for r in rows)

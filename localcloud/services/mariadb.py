"""MariaDB (Debian package) started by hand on 127.0.0.1 with its own datadir."""

import os
import shutil
import subprocess

from localcloud.procs import failure, port_open, run
from localcloud.services.common import Service, has_marker, set_marker
from localcloud.settings import PASSWORDS, Settings

DATABASES = ("keystone", "cinder", "manila", "freezer", "glance", "placement", "nova_api",
             "nova", "nova_cell0")


def _paths(st: Settings):
    base = st.path("mariadb")
    return base, os.path.join(base, "data"), os.path.join(base, "mysqld.sock")


def mariadbd():
    for cand in ("/usr/sbin/mariadbd", "/usr/sbin/mysqld", shutil.which("mariadbd") or ""):
        if cand and os.path.exists(cand):
            return cand
    return None


def prepare(st: Settings):
    base, data, _ = _paths(st)
    if os.path.isdir(os.path.join(data, "mysql")):
        return
    os.makedirs(base, exist_ok=True)
    install_db = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if not install_db:
        raise failure("mariadb", "is not installed (mariadb-install-db not found); "
                      "run: python3 localcloud/run.py install")
    run([install_db, "--no-defaults", "--user=root", "--datadir=" + data,
         "--auth-root-authentication-method=normal", "--skip-test-db"],
        st.log("mariadb"), name="mariadb", timeout=120)


def services(st: Settings):
    base, data, sock = _paths(st)
    binary = mariadbd() or "/usr/sbin/mariadbd"
    argv = [binary, "--no-defaults", "--datadir=" + data, "--socket=" + sock,
            "--port=%d" % st.port("mariadb"), "--bind-address=127.0.0.1",
            "--user=root", "--pid-file=" + os.path.join(base, "mariadbd.pid"),
            "--skip-name-resolve", "--skip-log-bin",
            "--innodb-buffer-pool-size=128M", "--innodb-log-file-size=48M",
            "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
            "--sync-binlog=0", "--max-connections=1000",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
            "--log-error=" + st.log("mariadb")]
    return [Service("mariadb", argv, ports=["mariadb"],
                    health=lambda: port_open(st.port("mariadb")),
                    display_port=st.port("mariadb"), stop_timeout=30)]


def sql(st: Settings, statement):
    _, _, sock = _paths(st)
    client = shutil.which("mariadb") or shutil.which("mysql") or "mariadb"
    res = subprocess.run([client, "--no-defaults", "-uroot", "-S", sock, "-e", statement],
                         capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise failure("mariadb", "SQL failed: %s: %s" % (statement, res.stderr.strip()),
                      st.log("mariadb"))
    return res.stdout


def setup(st: Settings):
    # the marker names the database list: a newer list (new services) creates the missing ones
    done = "mariadb-databases-%s" % "-".join(DATABASES)
    if has_marker(st, done):
        return
    stmts = ["CREATE USER IF NOT EXISTS 'localcloud'@'127.0.0.1' IDENTIFIED BY '%s'"
             % PASSWORDS["db"],
             "CREATE USER IF NOT EXISTS 'localcloud'@'localhost' IDENTIFIED BY '%s'"
             % PASSWORDS["db"]]
    for db in DATABASES:
        stmts.append("CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4" % db)
    stmts += ["GRANT ALL PRIVILEGES ON *.* TO 'localcloud'@'127.0.0.1'",
              "GRANT ALL PRIVILEGES ON *.* TO 'localcloud'@'localhost'",
              "FLUSH PRIVILEGES"]
    sql(st, "; ".join(stmts))
    set_marker(st, done)

"""Synced database dumps, so a fresh state dir skips slow schema migrations (stdlib only).

Nova's schema sync (api_db + cell0/cell1 + db sync, ~400 alembic steps) takes minutes on a busy
2-core machine; loading the same schema from a dump takes seconds.  After a real sync the
databases are dumped to ``<venv>/localcloud-dbcache/<name>-<key>.sql`` (the venv holds the code
that made the schema, and survives a wiped state dir when it lives elsewhere); the key covers
the package version, the database names and the URLs stored in the data (Nova's cell mappings
hold the database and transport URLs, which change with ``port_offset``).
"""

import hashlib
import os
import shutil
import subprocess

from localcloud.procs import failure
from localcloud.services import mariadb
from localcloud.services.common import has_marker, set_marker
from localcloud.settings import Settings


def _version(st: Settings, package):
    import glob
    site = glob.glob(os.path.join(st.venv, "lib", "python3*", "site-packages"))
    for sp in site:
        for meta in glob.glob(os.path.join(sp, "%s-*.dist-info" % package.replace("-", "_"))):
            return os.path.basename(meta)[len(package) + 1:-len(".dist-info")]
    return "unknown"


def dump_path(st: Settings, name, package, databases, extra=""):
    key = "|".join([package, _version(st, package), ",".join(databases), extra,
                    st.transport_url] + [st.db_url(db) for db in databases])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return os.path.join(st.venv, "localcloud-dbcache", "%s-%s.sql" % (name, digest))


def _client(binary):
    for cand in binary:
        path = shutil.which(cand)
        if path:
            return path
    return binary[0]


def write_dump(st: Settings, path, databases, data_tables, log):
    """Schema of every table + the rows a sync writes (alembic_version, ``data_tables``)."""
    _, _, sock = mariadb._paths(st)
    dump = [_client(("mariadb-dump", "mysqldump")), "--no-defaults", "-uroot", "-S", sock,
            "--single-transaction", "--skip-comments"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    ok = True
    with open(tmp, "wb") as fh, open(log, "ab") as err:
        for db in databases:
            ok = ok and subprocess.run(dump + ["--no-data", "--databases", db], stdout=fh,
                                       stderr=err, timeout=300).returncode == 0
            fh.write(("USE `%s`;\n" % db).encode())
            fh.flush()
            tables = ["alembic_version"] + list(data_tables.get(db, ()))
            ok = ok and subprocess.run(dump + ["--no-create-info", db] + tables, stdout=fh,
                                       stderr=err, timeout=300).returncode == 0
    if ok:
        os.replace(tmp, path)
    else:  # no cache this time; the databases themselves are fine
        os.unlink(tmp)
    return ok


def ensure(st: Settings, name, package, databases, sync, log, data_tables=None):
    """Schema of ``databases`` in place: from the cached dump if any, else ``sync()`` + dump.

    Returns "present" (done before), "loaded" (from the dump) or "synced".
    """
    data_tables = data_tables or {}
    path = dump_path(st, name, package, databases)
    if has_marker(st, name + "-db"):
        if not os.path.exists(path):  # an instance synced before caching existed: cache it now
            write_dump(st, path, databases, data_tables, log)
        return "present"
    _, _, sock = mariadb._paths(st)
    if os.path.exists(path):
        with open(path, "rb") as fh, open(log, "ab") as out:
            out.write(("\n==== localcloud: loading %s\n" % path).encode())
            out.flush()
            res = subprocess.run([_client(("mariadb", "mysql")), "--no-defaults", "-uroot",
                                  "-S", sock], stdin=fh, stdout=out, stderr=subprocess.STDOUT,
                                 timeout=300)
        if res.returncode != 0:
            raise failure(name, "could not load the cached schema %s" % path, log)
        set_marker(st, name + "-db")
        return "loaded"
    sync()
    write_dump(st, path, databases, data_tables, log)
    set_marker(st, name + "-db")
    return "synced"

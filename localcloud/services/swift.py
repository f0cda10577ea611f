"""Swift: proxy + account/container/object servers, one-replica rings on a local dir."""

import os
import subprocess

from localcloud.procs import failure, http_status
from localcloud.services.common import (Service, ini, keystone_authtoken, service_env, write,
                                        write_config)
from localcloud.settings import Settings

SERVERS = (("object", "swift-object"), ("container", "swift-container"),
           ("account", "swift-account"))


def swift_dir(st):
    return os.path.join(st.etc, "swift")


def devices(st):
    return st.path("swift", "node")


def _common(st, port):
    return {"bind_ip": "127.0.0.1", "bind_port": port, "workers": 0,
            "swift_dir": swift_dir(st), "devices": devices(st),
            "mount_check": False, "disable_fallocate": True,
            "log_name": "swift", "user": "root"}


def prepare(st: Settings):
    sdir = swift_dir(st)
    os.makedirs(os.path.join(devices(st), "d1"), exist_ok=True)
    write_config(os.path.join(sdir, "swift.conf"), ini({
        "swift-hash": {"swift_hash_path_suffix": "localcloud",
                       "swift_hash_path_prefix": "localcloud"},
        "storage-policy:0": {"name": "Policy-0", "default": "yes"},
    }))
    for kind, pname in SERVERS:
        port = st.port(pname)
        write_config(os.path.join(sdir, "%s-server.conf" % kind), ini({
            "DEFAULT": _common(st, port),
            "pipeline:main": {"pipeline": "healthcheck %s-server" % kind},
            "app:%s-server" % kind: {"use": "egg:swift#%s" % kind},
            "filter:healthcheck": {"use": "egg:swift#healthcheck"},
        }))
        ring = os.path.join(sdir, "%s.ring.gz" % kind)
        stamp = os.path.join(sdir, "%s.ring.port" % kind)
        if os.path.exists(ring) and _read(stamp) == str(port):
            continue
        builder = os.path.join(sdir, "%s.builder" % kind)
        if os.path.exists(builder):
            os.unlink(builder)
        rb = st.bin("swift-ring-builder")
        env = service_env(st)
        for args, okrc in (([builder, "create", "6", "1", "1"], (0,)),
                           ([builder, "add", "r1z1-127.0.0.1:%d/d1" % port, "1"], (0,)),
                           ([builder, "rebalance"], (0, 1))):
            res = subprocess.run([rb] + args, capture_output=True, text=True, env=env)
            if res.returncode not in okrc:
                with open(st.log("swift-proxy"), "a") as fh:
                    fh.write(res.stdout + res.stderr)
                raise failure("swift-proxy", "ring build failed (%s)" % " ".join(args[1:]),
                              st.log("swift-proxy"))
        write(stamp, str(port))
    auth = keystone_authtoken(st, "swift")
    auth.update({"paste.filter_factory": "keystonemiddleware.auth_token:filter_factory",
                 "delay_auth_decision": False, "include_service_catalog": False})
    auth.pop("service_token_roles_required")
    proxy_defaults = _common(st, st.port("swift-proxy"))
    write_config(os.path.join(sdir, "proxy-server.conf"), ini({
        "DEFAULT": proxy_defaults,
        "pipeline:main": {"pipeline": "catch_errors gatekeeper healthcheck proxy-logging "
                          "listing_formats authtoken keystoneauth copy dlo slo "
                          "versioned_writes proxy-logging proxy-server"},
        "app:proxy-server": {"use": "egg:swift#proxy", "account_autocreate": True},
        "filter:catch_errors": {"use": "egg:swift#catch_errors"},
        "filter:gatekeeper": {"use": "egg:swift#gatekeeper"},
        "filter:healthcheck": {"use": "egg:swift#healthcheck"},
        "filter:proxy-logging": {"use": "egg:swift#proxy_logging"},
        "filter:listing_formats": {"use": "egg:swift#listing_formats"},
        "filter:copy": {"use": "egg:swift#copy"},
        "filter:dlo": {"use": "egg:swift#dlo"},
        "filter:slo": {"use": "egg:swift#slo"},
        "filter:versioned_writes": {"use": "egg:swift#versioned_writes"},
        "filter:authtoken": auth,
        "filter:keystoneauth": {"use": "egg:swift#keystoneauth",
                                "operator_roles": "admin, member",
                                "reseller_admin_role": "ResellerAdmin"},
    }))


def _read(path):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def services(st: Settings):
    env = service_env(st)
    out = []
    for kind, pname in SERVERS:
        port = st.port(pname)
        out.append(Service(pname, [st.bin("swift-%s-server" % kind),
                                   os.path.join(swift_dir(st), "%s-server.conf" % kind), "-v"],
                           ports=[pname], env=env, display_port=port,
                           health=(lambda p=port: http_status(
                               "http://127.0.0.1:%d/healthcheck" % p) == 200)))
    port = st.port("swift-proxy")
    out.append(Service("swift-proxy", [st.bin("swift-proxy-server"),
                                       os.path.join(swift_dir(st), "proxy-server.conf"), "-v"],
                       ports=["swift-proxy"], env=env, display_port=port,
                       health=lambda: http_status(st.url("swift-proxy", "/healthcheck")) == 200))
    return out


def setup(st: Settings):
    pass

"""Glance under uWSGI: file store under the state dir; seeds the tiny raw image."""

import os

from localcloud.identity import Rest, wait_for
from localcloud.procs import LocalCloudError, http_status, run
from localcloud.services import db_cache
from localcloud.services.common import (Service, ini, keystone_authtoken,
                                        service_env, uwsgi_argv, write_config)
from localcloud.settings import Settings

# The seeded image: a few KB of raw bytes, public, owned by the admin project.
TINY_IMAGE = "dp-tiny"
TINY_IMAGE_SIZE = 4096


def conf_dir(st):
    return os.path.join(st.etc, "glance")


def conf_path(st):
    return os.path.join(conf_dir(st), "glance-api.conf")


def tiny_image_bytes():
    """Deterministic, recognisable content (tests compare snapshots against it)."""
    head = b"localcloud dp-tiny raw image\n"
    return (head * (TINY_IMAGE_SIZE // len(head) + 1))[:TINY_IMAGE_SIZE]


def prepare(st: Settings):
    gdir = st.path("glance")
    for sub in ("images", "staging", "tasks", "locks"):
        os.makedirs(os.path.join(gdir, sub), exist_ok=True)
    write_config(conf_path(st), ini({
        "DEFAULT": {"use_stderr": True, "debug": False,
                    "enabled_backends": "file:file",
                    "bind_host": "127.0.0.1", "bind_port": st.port("glance-api"),
                    "show_image_direct_url": False,
                    "image_size_cap": 10 * 1024 ** 3},
        "database": {"connection": st.db_url("glance"), "max_pool_size": 10},
        "keystone_authtoken": keystone_authtoken(st, "glance"),
        "paste_deploy": {"flavor": "keystone",
                         "config_file": os.path.join(st.venv, "etc", "glance",
                                                     "glance-api-paste.ini")},
        "glance_store": {"default_backend": "file"},
        "file": {"filesystem_store_datadir": os.path.join(gdir, "images")},
        "os_glance_staging_store": {"filesystem_store_datadir": os.path.join(gdir, "staging")},
        "os_glance_tasks_store": {"filesystem_store_datadir": os.path.join(gdir, "tasks")},
        "oslo_concurrency": {"lock_path": os.path.join(gdir, "locks")},
        "oslo_messaging_notifications": {"driver": "noop"},
        "oslo_policy": {"enforce_scope": False, "enforce_new_defaults": False},
    }))
    db_cache.ensure(st, "glance", "glance", ("glance",),
                    lambda: run([st.bin("glance-manage"), "--config-file", conf_path(st), "db_sync"],
                                st.log("glance-api"), env=service_env(st), name="glance-api"),
                    st.log("glance-api"))


def services(st: Settings):
    port = st.port("glance-api")
    argv = uwsgi_argv(st, "glance-api", "glance.wsgi.api:application", port, [],
                      processes=1, threads=4)
    # image uploads arrive chunked: let uWSGI de-chunk them for the app (as devstack does)
    argv += ["--http-auto-chunked", "--http-raw-body", "--chunked-input-limit", "10485760"]
    env = service_env(st, {"OS_GLANCE_CONFIG_DIR": conf_dir(st)})
    return [Service("glance-api", argv, ports=["glance-api"], env=env, display_port=port,
                    health=lambda: http_status(st.url("glance-api", "/")) in (200, 300))]


def find_tiny_image(api: Rest):
    images = api.call("GET", api.st.url("glance-api", "/v2/images?name=%s" % TINY_IMAGE))
    return [i for i in images["images"] if i["status"] == "active"]


def setup(st: Settings, timeout=60):
    """Seed the tiny image once (public, raw, active)."""
    api = Rest(st)
    base = st.url("glance-api", "/v2/images")
    wait_for(lambda: http_status(st.url("glance-api", "/")) in (200, 300), timeout,
             "glance-api answering")
    if find_tiny_image(api):
        return
    # a half-made earlier attempt (queued, no data): remove it, then create afresh
    for img in api.call("GET", base + "?name=%s" % TINY_IMAGE)["images"]:
        api.call("DELETE", base + "/" + img["id"], ok=(204, 404))
    img = api.call("POST", base, {"name": TINY_IMAGE, "disk_format": "raw",
                                  "container_format": "bare", "visibility": "public",
                                  "min_disk": 0, "min_ram": 0})
    status, _, data = api.raw("PUT", base + "/%s/file" % img["id"], None,
                              headers={"Content-Type": "application/octet-stream"},
                              body_bytes=tiny_image_bytes())
    if status != 204:
        raise LocalCloudError("localcloud: glance: upload of %s failed: %s %s"
                              % (TINY_IMAGE, status, data))
    wait_for(lambda: find_tiny_image(api), timeout, "image %s active" % TINY_IMAGE)

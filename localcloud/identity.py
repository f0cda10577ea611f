"""Idempotent Keystone setup over plain REST (stdlib only).

Creates roles, projects (service, demo, demo2), users, role assignments and the
service catalog.  Also a tiny REST helper reused to create volume/share types.
"""

import json
import time
import urllib.error
import urllib.request

from localcloud.procs import LocalCloudError
from localcloud.settings import PASSWORDS, REGION, SERVICE_USERS, Settings

ROLES = ("admin", "member", "reader", "service", "ResellerAdmin")


class Rest:
    """Minimal authenticated JSON client (admin, project-scoped)."""

    def __init__(self, st: Settings, user="admin", password=None, project="admin"):
        self.st = st
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"name": "Default"},
                "password": password or PASSWORDS.get(user, PASSWORDS["admin"])}}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
        status, headers, data = self.raw("POST", st.auth_url + "/auth/tokens", body,
                                         token=None)
        if status != 201:
            raise LocalCloudError("localcloud: keystone login as %s failed: %s %s"
                                  % (user, status, data))
        self.token = headers["X-Subject-Token"]
        self.project_id = data["token"]["project"]["id"]
        self.catalog = data["token"].get("catalog", [])

    def raw(self, method, url, body=None, token="", headers=None, timeout=30, body_bytes=None):
        hdrs = {"Accept": "application/json"}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        tok = self.token if token == "" else token
        if tok:
            hdrs["X-Auth-Token"] = tok
        hdrs.update(headers or {})
        data = json.dumps(body).encode() if body is not None else body_bytes
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                status, rhdrs = resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            status, rhdrs = exc.code, dict(exc.headers)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return status, rhdrs, parsed

    def call(self, method, url, body=None, ok=(200, 201, 202, 204), headers=None):
        status, _, data = self.raw(method, url, body, headers=headers)
        if status not in ok:
            raise LocalCloudError("localcloud: %s %s -> %s %s" % (method, url, status, data))
        return data

    # --- keystone helpers --------------------------------------------------
    def ks(self, method, path, body=None, ok=(200, 201, 204)):
        return self.call(method, self.st.auth_url + path, body, ok=ok)

    def find(self, collection, name, key=None, **filters):
        query = "?name=" + urllib.request.quote(name) if name else "?"
        for k, v in filters.items():
            query += "&%s=%s" % (k, urllib.request.quote(v))
        items = self.ks("GET", "/%s%s" % (collection, query))[key or collection]
        return items[0] if items else None


def digest(st: Settings):
    """Short hash of what ensure_identity creates (roles, users, catalog)."""
    import hashlib
    text = json.dumps([ROLES, SERVICE_USERS, catalog(st)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def ensure_identity(st: Settings):
    api = Rest(st)
    default_domain = "default"
    roles = {}
    for role in ROLES:
        found = api.find("roles", role)
        if not found:
            found = api.ks("POST", "/roles", {"role": {"name": role}})["role"]
        roles[role] = found["id"]

    def project(name):
        found = api.find("projects", name)
        if not found:
            found = api.ks("POST", "/projects", {"project": {
                "name": name, "domain_id": default_domain,
                "description": "localcloud %s project" % name}})["project"]
        return found["id"]

    def user(name, password, project_id):
        found = api.find("users", name)
        if not found:
            found = api.ks("POST", "/users", {"user": {
                "name": name, "password": password, "domain_id": default_domain,
                "default_project_id": project_id, "enabled": True}})["user"]
        return found["id"]

    def grant(project_id, user_id, role):
        api.ks("PUT", "/projects/%s/users/%s/roles/%s" % (project_id, user_id, roles[role]))

    service_pid = project("service")
    for name in SERVICE_USERS:
        uid = user(name, PASSWORDS["service"], service_pid)
        for role in ("service", "admin"):
            grant(service_pid, uid, role)
    for name in ("demo", "demo2"):
        pid = project(name)
        uid = user(name, PASSWORDS[name], pid)
        grant(pid, uid, "member")
    # admin also member/reader on admin (handy for member-only policies)
    admin_pid = project("admin")
    admin_uid = user("admin", PASSWORDS["admin"], admin_pid)
    grant(admin_pid, admin_uid, "member")

    for svc_name, svc_type, url in catalog(st):
        ensure_endpoints(api, svc_name, svc_type, url)


def catalog(st: Settings):
    cinder = st.url("cinder-api", "/v3/%(project_id)s")
    manila = st.url("manila-api", "/v2/%(project_id)s")
    return [
        ("cinderv3", "volumev3", cinder),
        ("cinder", "block-storage", cinder),
        ("manilav2", "sharev2", manila),
        ("manila", "shared-file-system", manila),
        ("swift", "object-store", st.url("swift-proxy", "/v1/AUTH_%(project_id)s")),
        ("freezer", "backup", st.url("freezer-api")),
        ("glance", "image", st.url("glance-api")),
        ("placement", "placement", st.url("placement-api")),
        ("nova", "compute", st.url("nova-api", "/v2.1")),
        # NOT Neutron: localcloud/neutron_stub.py (empty lists; creating networking -> 501).
        # In the catalog because clients such as freezer-agent's nova engine list networks.
        ("neutron-stub", "network", st.url("neutron-stub")),
    ]


def ensure_endpoints(api: Rest, name, svc_type, url):
    services = api.ks("GET", "/services?type=%s" % svc_type)["services"]
    if services:
        sid = services[0]["id"]
    else:
        sid = api.ks("POST", "/services", {"service": {
            "name": name, "type": svc_type, "enabled": True}})["service"]["id"]
    existing = api.ks("GET", "/endpoints?service_id=%s" % sid)["endpoints"]
    for iface in ("public", "internal", "admin"):
        match = [e for e in existing if e["interface"] == iface]
        if match and match[0]["url"] == url:
            continue
        for e in match:
            api.ks("DELETE", "/endpoints/%s" % e["id"])
        api.ks("POST", "/endpoints", {"endpoint": {
            "service_id": sid, "interface": iface, "url": url,
            "region_id": REGION, "enabled": True}})


def wait_for(pred, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except (LocalCloudError, OSError) as exc:
            # a service just started may still refuse or stall a request: retry until the deadline
            last = exc
        time.sleep(interval)
    raise LocalCloudError("localcloud: timed out after %ds waiting for %s%s" % (
        timeout, what, (": %s" % last) if last else ""))

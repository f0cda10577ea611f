"""Write ``<state>/clouds.yaml`` (stdlib only, hand-written YAML)."""


from localcloud.services.common import write as _write_file
from localcloud.settings import PASSWORDS, REGION, Settings

CLOUDS = (("localcloud-admin", "admin", "admin"),
          ("localcloud-demo", "demo", "demo"),
          ("localcloud-demo2", "demo2", "demo2"))

HEADER = """\
# Written by localcloud (python3 localcloud/run.py start). Local only: 127.0.0.1.
# Use: OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=localcloud-demo
# Manila: the API assumes microversion 2.0 unless one is sent; callers needing
# newer calls (revert: >= 2.27, metadata on snapshots: >= 2.73) must send one.
"""


def render(st: Settings):
    out = [HEADER % st.clouds_yaml, "clouds:"]
    for cloud, user, project in CLOUDS:
        out += [
            "  %s:" % cloud,
            "    auth:",
            "      auth_url: %s" % st.auth_url,
            "      username: %s" % user,
            "      password: %s" % PASSWORDS[user],
            "      project_name: %s" % project,
            "      user_domain_name: Default",
            "      project_domain_name: Default",
            "    region_name: %s" % REGION,
            "    interface: public",
            "    identity_api_version: 3",
            "    volume_api_version: 3",
        ]
    return "\n".join(out) + "\n"


def write(st: Settings):
    _write_file(st.clouds_yaml, render(st), mode=0o600)
    return st.clouds_yaml

#!/usr/bin/env python3
"""Local cloud CLI (stdlib only): python3 localcloud/run.py install|prepare|start|stop|status"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from localcloud import cloud, install  # noqa: E402
from localcloud.procs import LocalCloudError  # noqa: E402
from localcloud.settings import Settings  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(prog="localcloud/run.py", description=__doc__)
    parser.add_argument("command", choices=["install", "prepare", "start", "stop", "status", "env"])
    parser.add_argument("services", nargs="*",
                        help="stop: only these services (start brings them back)")
    parser.add_argument("--state-dir", help="instance state dir (default .localcloud; "
                        "env LOCALCLOUD_STATE_DIR)")
    parser.add_argument("--venv", help="services venv (default .localcloud/venv; "
                        "env LOCALCLOUD_VENV)")
    parser.add_argument("--port-offset", type=int, default=None,
                        help="add this to every port (isolated instances; "
                        "env LOCALCLOUD_PORT_OFFSET)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--if-unused", action="store_true",
                        help="stop: do nothing while a test session holds a lease")
    args = parser.parse_args(argv)
    st = Settings.load(args.state_dir, args.venv, args.port_offset)
    t0 = time.monotonic()
    try:
        if args.command == "install":
            install.install(st)
            print("localcloud: installed (Debian packages + %s) in %.1fs"
                  % (st.venv, time.monotonic() - t0))
        elif args.command == "prepare":
            elapsed = cloud.prepare(st)
            print("localcloud: installed, database schemas synced and cached in %.1fs" % elapsed)
        elif args.command == "start":
            info = cloud.start(st)
            if args.json:
                print(json.dumps(info))
            else:
                what = ("started %d process(es)" % len(info["started"])
                        if info["started"] else "already running")
                print("localcloud: up (%s) in %.1fs; clouds.yaml: %s; logs: %s"
                      % (what, time.monotonic() - t0, info["clouds_yaml"], info["logs"]))
        elif args.command == "stop":
            if args.if_unused:
                from localcloud import api
                users = api.other_users(st.state_dir, pid=1)
                if users:
                    print("localcloud: not stopping, in use by pid(s) %s"
                          % " ".join(map(str, users)))
                    return 4
            stopped = cloud.stop(st, only=args.services or None)
            print("localcloud: stopped %d process(es) in %.1fs%s" % (
                len(stopped), time.monotonic() - t0,
                (": " + " ".join(stopped)) if stopped else ""))
        elif args.command == "status":
            rows = cloud.status(st)
            if args.json:
                print(json.dumps(rows))
            else:
                total = 0
                for r in rows:
                    total += r["rss_kb"]
                    state = "up" if r["up"] else ("starting/unhealthy" if r["running"]
                                                  else "down")
                    print("%-18s %-8s port=%-6s pid=%-8s rss=%4dMB log=%s" % (
                        r["service"], state, r["port"] or "-", r["pid"] or "-",
                        r["rss_kb"] // 1024, r["log"] or "-"))
                print("total rss: %d MB; clouds.yaml: %s" % (total // 1024, st.clouds_yaml))
            return 0 if rows and all(r["up"] for r in rows) else 3
        elif args.command == "env":
            print("export OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=localcloud-demo" % st.clouds_yaml)
    except LocalCloudError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

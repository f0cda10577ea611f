"""Helpers of the fleet tests (protectables inventory, protect_fleet.yml, protection_report): real
ansible-inventory and ansible-playbook processes against the local cloud."""
import json
import os
import subprocess
import tempfile

import yaml

from playbook_runner import ROOT, VENV_BIN, base_env

PLAYBOOK = os.path.join(ROOT, 'playbooks', 'protect_fleet.yml')
TIMEOUT = 600
# Only this plugin parses the sources, and a source it refuses fails the run (not a warning and an empty inventory).
STRICT = {'ANSIBLE_INVENTORY_ENABLED': 'dataprotection.openstack.protectables', 'ANSIBLE_INVENTORY_UNPARSED_FAILED': '1'}
MANAGED = {'dataprotection_managed': 'true'}


def write_inventory(workdir, name='fleet', **options):
    """A ``<name>.protectables.yml`` inventory source with these options; returns its path."""
    path = os.path.join(workdir, '%s.protectables.yml' % name)
    with open(path, 'w') as handle:
        yaml.safe_dump(dict(plugin='dataprotection.openstack.protectables', **options), handle)
    return path


def inventory(env, source, *args):
    """``ansible-inventory -i source --list`` (or ``args``): (rc, parsed JSON or None, output)."""
    args = list(args) or ['--list']
    proc = subprocess.run([os.path.join(VENV_BIN, 'ansible-inventory'), '-i', source] + args,
                          cwd=os.path.dirname(source), env=base_env(dict(env, **STRICT)), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, timeout=TIMEOUT, check=False)
    parsed = None
    if proc.returncode == 0 and '--list' in args:
        parsed = json.loads(proc.stdout)
    return proc.returncode, parsed, proc.stdout + proc.stderr


def hosts_of(listing, group='all'):
    """Host names in ``group`` (and its children) of an ``ansible-inventory --list`` answer."""
    found = set(listing.get(group, {}).get('hosts', []))
    for child in listing.get(group, {}).get('children', []):
        found |= hosts_of(listing, child)
    return found


def plain(value):
    """The value without ansible-inventory's ``{"__ansible_unsafe": ...}`` wrappers (values read from the cloud are
    marked unsafe: never templated)."""
    if isinstance(value, dict):
        if set(value) == {'__ansible_unsafe'}:
            return value['__ansible_unsafe']
        return dict((plain(k), plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def hostvars(listing):
    return plain(listing.get('_meta', {}).get('hostvars', {}))


def start_fleet(env, source, forks=5, extra_vars=None, slice_env=None):
    """Start ``ansible-playbook -i source playbooks/protect_fleet.yml -f forks``; ``finish_fleet`` waits for it."""
    workdir = tempfile.mkdtemp(prefix='dp-fleet-')
    run_env = dict(env, **(slice_env or {}))
    cmd = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', source, PLAYBOOK, '-f', str(forks),
           '-e', json.dumps(extra_vars or {})]
    return subprocess.Popen(cmd, cwd=workdir, env=base_env(run_env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)


def finish_fleet(proc):
    out, _unused = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, out, recap(out)


def recap(out):
    """host -> {ok, changed, failed, ...} from the PLAY RECAP."""
    found, seen = {}, False
    for line in out.splitlines():
        if line.startswith('PLAY RECAP'):
            seen = True
            continue
        if seen and ':' in line and '=' in line:
            host, counts = line.split(':', 1)
            found[host.strip()] = dict((k, int(v)) for k, v in (item.split('=') for item in counts.split()))
    return found


def managed_snapshots(admin_conn, volume_id):
    return [s for s in admin_conn.block_storage.snapshots(details=True, all_projects=True, volume_id=volume_id)
            if (s.metadata or {}).get('dataprotection_managed') == 'true']

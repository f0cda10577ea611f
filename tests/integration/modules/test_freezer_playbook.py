"""playbooks/freezer_backup.yml as users run it (ansible-playbook, default stdout callback, --diff): a real
(fake-driver) Nova server backed up now by the local cloud's central freezer-scheduler (client
``localcloud-central``, Keystone trusts), then restored as a NEW server by the same playbook (mode=restore)."""
import json
import os
import subprocess
import tempfile

from conftest import get_or_none, wait_status
from playbook_runner import ROOT, VENV_BIN, base_env
from test_freezer_job import freezer, nova_servers, servers_named, swift_objects  # noqa: F401 (fixtures)

PLAYBOOK = os.path.join(ROOT, 'playbooks', 'freezer_backup.yml')
INVENTORY = os.path.join(ROOT, 'playbooks', 'inventory', 'localhost.yml')
CENTRAL_CLIENT = 'localcloud-central'


def play(cloud_env, **extra_vars):
    proc = subprocess.run([os.path.join(VENV_BIN, 'ansible-playbook'), '-i', INVENTORY, PLAYBOOK, '--diff',
                           '-e', json.dumps(extra_vars)], cwd=tempfile.mkdtemp(prefix='dp-freezer-pb-'),
                          env=base_env(dict(cloud_env, ANSIBLE_STDOUT_CALLBACK='default')), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, timeout=900, check=False)
    return proc.returncode, proc.stdout


def test_server_backed_up_and_restored_as_a_new_server_by_the_playbook(cloud_env, nova_servers, freezer, unique):
    conn = nova_servers['conn']
    server = nova_servers['boot'](unique + '-srv')
    common = dict(cloud='localcloud-demo', client_id=CENTRAL_CLIENT, resource_type='server', resource_id=server.id,
                  backup_name=unique)

    rc, out = play(cloud_env, mode='oneshot', **common)
    assert rc == 0, out[-3000:]
    assert 'Traceback' not in out and 'changed=1' in out, out[-3000:]
    [record] = freezer.backups_of(unique)
    assert record['backup_metadata']['nova_inst_id'] == server.id
    assert any(server.id in name for name in swift_objects(conn, 'freezer_' + unique)), 'no backup data in Swift'
    assert freezer.jobs_of(unique) == []  # the one-shot job is gone once it ran

    rc, out = play(cloud_env, mode='restore', **common)
    assert rc == 0, out[-3000:]
    restored = [s for s in servers_named(conn, unique + '-srv') if s.id != server.id]
    assert len(restored) == 1, [s.name for s in servers_named(conn, unique)]
    new_server = wait_status(lambda: get_or_none(conn.compute.get_server, restored[0].id), {'ACTIVE', 'ERROR'})
    assert new_server.status == 'ACTIVE' and new_server.name.startswith(unique + '-srv~'), new_server.name
    assert new_server.metadata['dataprotection_restored_from'] == record['backup_id']
    assert '"%s": "%s"' % (server.id, new_server.id) in out, out[-3000:]  # the play reports old -> new

    # a second restore finds its server again: nothing changes
    rc, out = play(cloud_env, mode='restore', **common)
    assert rc == 0 and 'changed=0' in out, out[-3000:]
    assert len(servers_named(conn, unique + '-srv')) == 2

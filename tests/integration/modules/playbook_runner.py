"""Run one module task through a real ansible-playbook process and return its registered result.

The generated playbook registers the task's result (``ignore_errors`` so
failures are returned too) and writes it to a JSON file from a second task
that runs even in check mode.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')


class PlaybookRun:
    def __init__(self, rc, result, stdout, seconds):
        self.rc, self.result, self.stdout, self.seconds = rc, result, stdout, seconds

    def __getitem__(self, key):
        return self.result[key]

    def get(self, key, default=None):
        return self.result.get(key, default)

    @property
    def changed(self):
        return self.result.get('changed')

    @property
    def failed(self):
        return bool(self.result.get('failed'))

    def __repr__(self):
        return 'PlaybookRun(rc=%s, result=%s)' % (self.rc, json.dumps(self.result, default=str)[:2000])


def base_env(extra=None):
    env = dict(os.environ)
    env.update({
        'PATH': VENV_BIN + os.pathsep + env.get('PATH', ''),
        'ANSIBLE_COLLECTIONS_PATH': os.path.join(ROOT, '.venv', 'collections'),
        'ANSIBLE_PYTHON_INTERPRETER': os.path.join(VENV_BIN, 'python'),
        'ANSIBLE_HOME': os.path.join(ROOT, '.venv', 'ansible-home'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
    })
    for key in [k for k in env if k.startswith('OS_')]:
        del env[key]
    env.update(extra or {})
    return env


def start_module(module, args, check=False, diff=False, env=None, workdir=None):
    """Start ansible-playbook for one task; returns a handle for ``finish`` (lets tests run several at once)."""
    workdir = workdir or tempfile.mkdtemp(prefix='dp-play-')
    out_path = os.path.join(workdir, 'result.json')
    task = {'name': 'task under test', module: args, 'register': 'result', 'ignore_errors': True}
    save = {'name': 'save result', 'ansible.builtin.copy': {'content': '{{ result | to_json }}', 'dest': out_path},
            'check_mode': False, 'diff': False}
    play = [{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': [task, save]}]
    playbook = os.path.join(workdir, 'play.yml')
    with open(playbook, 'w') as handle:
        yaml.safe_dump(play, handle)
    cmd = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', 'localhost,', playbook]
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    proc = subprocess.Popen(cmd, cwd=workdir, env=base_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True)
    return proc, out_path, time.monotonic()


def finish(handle, timeout=900):
    proc, out_path, started = handle
    stdout = proc.communicate(timeout=timeout)[0]
    seconds = time.monotonic() - started
    if not os.path.exists(out_path):
        sys.stderr.write(stdout)
        raise AssertionError('ansible-playbook produced no result (rc=%s):\n%s' % (proc.returncode, stdout[-3000:]))
    with open(out_path) as handle_:
        result = json.load(handle_)
    return PlaybookRun(proc.returncode, result, stdout, seconds)


def run_module(module, args, **kwargs):
    return finish(start_module(module, args, **kwargs))

"""Run one module task through a real ansible-playbook process and return its registered result.

The generated playbook registers the task's result (``ignore_errors`` so
failures are returned too) and writes it to a JSON file from a second task
that runs even in check mode. ``start_tasks`` does the same for several
tasks in one play (one result per registered name).

``venv`` picks the virtualenv whose ansible-playbook runs the play and whose
Python runs the modules (``.venv``, or ``.venv-core218`` for ansible-core
2.18); the collection always comes from ``.venv/collections``. ``args`` are
extra ansible-playbook arguments (``-vvv``).
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV = '.venv'
VENV_BIN = os.path.join(ROOT, VENV, 'bin')
FILTER_PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'filter_plugins')


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


class _Output(threading.Thread):
    """Reads a process's output as it comes (a full pipe would stall a play run in parallel with others) and
    notes when the process ended (``seconds`` is then the play's own duration, however late ``finish`` runs)."""

    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc, self.lines, self.ended = proc, [], None
        self.start()

    def run(self):
        for line in self.proc.stdout:
            self.lines.append(line)
        self.proc.stdout.close()
        self.proc.wait()
        self.ended = time.monotonic()


# What Ansible's default callback prints when a result (e.g. a list as diff.before) breaks its rendering.
CALLBACK_PROBLEMS = ('Callback dispatch', "has no attribute 'splitlines'", 'Failure using method')


def save_task(name, registered, path):
    """A task writing the ``registered`` results as one JSON object to ``path`` (filter_plugins/result_file.py:
    on the controller, no module run; ``base_env`` points Ansible at that filter)."""
    content = "{{ {%s} | to_json | dp_test_write_file('%s') }}" % (
        ', '.join("'%s': %s" % (name_, name_) for name_ in registered), path)
    return {'name': name, 'ansible.builtin.debug': {'msg': content}}


def venv_bin(venv=VENV):
    return os.path.join(ROOT, venv, 'bin')


def base_env(extra=None, venv=VENV):
    env = dict(os.environ)
    env.update({
        'PATH': venv_bin(venv) + os.pathsep + env.get('PATH', ''),
        'ANSIBLE_COLLECTIONS_PATH': os.path.join(ROOT, VENV, 'collections'),
        'ANSIBLE_PYTHON_INTERPRETER': os.path.join(venv_bin(venv), 'python'),
        'ANSIBLE_HOME': os.path.join(ROOT, venv, 'ansible-home'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
        # Every run shows its diff through the default callback, as AWX's "Show Changes" does; ``finish`` fails
        # on any callback warning, so each module and state of every test is also a --diff rendering test.
        'ANSIBLE_DIFF_ALWAYS': '1',
        'ANSIBLE_FILTER_PLUGINS': FILTER_PLUGINS,
    })
    for key in [k for k in env if k.startswith('OS_')]:
        del env[key]
    env.update(extra or {})
    return env


def start_tasks(tasks, check=False, diff=False, env=None, workdir=None, venv=VENV, args=()):
    """Start ansible-playbook for ``tasks`` (each with its own ``register``; ``ignore_errors`` is added); returns
    a handle for ``finish``, whose result maps each registered name to its result."""
    workdir = workdir or tempfile.mkdtemp(prefix='dp-play-')
    out_path = os.path.join(workdir, 'result.json')
    tasks = [dict(task, ignore_errors=True) for task in tasks]
    names = [task['register'] for task in tasks]
    play = [{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
             'tasks': tasks + [save_task('save result', names, out_path)]}]
    playbook = os.path.join(workdir, 'play.yml')
    with open(playbook, 'w') as handle:
        yaml.safe_dump(play, handle)
    cmd = [os.path.join(venv_bin(venv), 'ansible-playbook'), '-i', 'localhost,', playbook] + list(args)
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    # its own process group, so that ``kill`` also ends the forked workers and the module
    proc = subprocess.Popen(cmd, cwd=workdir, env=base_env(env, venv), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    return proc, out_path, time.monotonic(), None, _Output(proc)


def start_module(module, args, check=False, diff=False, env=None, workdir=None, venv=VENV, playbook_args=()):
    """Start ansible-playbook for one task; returns a handle for ``finish`` (lets tests run several at once)."""
    task = {'name': 'task under test', module: args, 'register': 'result'}
    proc, out_path, started, _unused, output = start_tasks([task], check=check, diff=diff, env=env, workdir=workdir,
                                                           venv=venv, args=playbook_args)
    return proc, out_path, started, 'result', output


def kill(handle):
    """Stop a play still running (its process group: ansible-playbook, its workers and the module)."""
    proc, output = handle[0], handle[-1]
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    output.join()


def finish(handle, timeout=900):
    proc, out_path, started, key, output = handle
    output.join(timeout)
    if output.is_alive():
        kill(handle)
        raise AssertionError('ansible-playbook still running after %ss, killed:\n%s'
                             % (timeout, ''.join(output.lines)[-3000:]))
    stdout = ''.join(output.lines)
    seconds = output.ended - started
    broken = [line for line in stdout.splitlines() if any(sign in line for sign in CALLBACK_PROBLEMS)]
    if broken:
        raise AssertionError('the default callback could not show the result:\n%s' % '\n'.join(broken[:5]))
    if not os.path.exists(out_path):
        sys.stderr.write(stdout)
        raise AssertionError('ansible-playbook produced no result (rc=%s):\n%s' % (proc.returncode, stdout[-3000:]))
    with open(out_path) as handle_:
        result = json.load(handle_)
    return PlaybookRun(proc.returncode, result[key] if key else result, stdout, seconds)


def run_module(module, args, **kwargs):
    return finish(start_module(module, args, **kwargs))

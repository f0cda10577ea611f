"""What every benchmark script shares: paths, running a playbook, counting its requests, timing a no-op.

Timings on this small, noisy machine are only meaningful as ratios within one run, so every
measurement interleaves the things it compares round by round.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

from counting_proxy import CountingProxy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
BENCH = os.path.join(ROOT, '.tmp', 'bench')
ANSIBLE_PKG = os.path.join(BENCH, 'ansible-pkg')
CLOUDS = os.path.join(ROOT, '.localcloud', 'clouds.yaml')
RESULTS = os.path.join(ROOT, 'benchmarks', 'results')


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        'PATH': VENV_BIN + os.pathsep + env.get('PATH', ''),
        # ours first, then openstack.cloud from the ansible package (installed by run.py only)
        'ANSIBLE_COLLECTIONS_PATH': os.pathsep.join([os.path.join(ROOT, '.venv', 'collections'), ANSIBLE_PKG]),
        'ANSIBLE_PYTHON_INTERPRETER': os.path.join(VENV_BIN, 'python'),
        'ANSIBLE_HOME': os.path.join(ROOT, '.venv', 'ansible-home'),
        'OS_CLIENT_CONFIG_FILE': CLOUDS,
        'OS_CLOUD': 'localcloud-demo',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_LOCALHOST_WARNING': '0',
        # the run cache of this benchmark only (a cold one at each `make bench`: see run.py)
        'DATAPROTECTION_OPENSTACK_CACHE_DIR': os.path.join(BENCH, 'run-cache'),
    })
    env.update(extra or {})
    return env


def run_play(tasks, extra_env=None):
    """Run a playbook of these tasks; return (wall seconds, CPU seconds of ansible-playbook and every process it
    started). Exits loudly if any task failed."""
    os.makedirs(BENCH, exist_ok=True)
    with tempfile.NamedTemporaryFile('w', prefix='bench-', suffix='.yml', dir=BENCH, delete=False) as handle:
        yaml.safe_dump([{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': tasks}], handle)
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        proc = subprocess.run([os.path.join(VENV_BIN, 'ansible-playbook'), '-i', 'localhost,', handle.name],
                              env=ansible_env(extra_env), capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(handle.name)
    if proc.returncode:
        sys.exit('benchmark playbook failed:\n%s' % proc.stdout[-4000:])
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def play(tasks, extra_env=None):
    """Wall seconds of a playbook of these tasks."""
    return run_play(tasks, extra_env)[0]


def play_cpu(tasks, extra_env=None):
    """CPU seconds of a playbook of these tasks (ansible-playbook and the module processes it ran)."""
    return run_play(tasks, extra_env)[1]


def seconds_per_task(tasks, repeats, rounds, measure=play):
    """Median seconds per task for each named task: K identical tasks minus an empty play, interleaved.
    ``measure`` gives a play's seconds: wall time (play) or CPU time (play_cpu)."""
    for task in tasks.values():
        measure([task])  # warm-up; the protection exists from here on
    samples = dict((key, []) for key in tasks)
    for _round in range(rounds):
        empty = measure([{'ansible.builtin.meta': 'noop'}])
        for key, task in tasks.items():
            samples[key].append(max(0.0, measure([task] * repeats) - empty) / repeats)
    return dict((key, statistics.median(values)) for key, values in samples.items())


def count_requests(tasks):
    """HTTP requests one run of each named task makes, counted by a forwarding proxy."""
    proxy = CountingProxy()
    counts = {}
    try:
        env = {'http_proxy': proxy.url, 'HTTP_PROXY': proxy.url, 'no_proxy': '', 'NO_PROXY': ''}
        for key, task in tasks.items():
            proxy.reset()
            play([task], extra_env=env)
            counts[key] = dict(total=len(proxy.requests), requests=['%s %s' % (m, p) for m, _host, p in proxy.requests])
    finally:
        proxy.stop()
    return counts


def wait_until_ready(get, resource, what):
    """Poll a freshly created volume or share until available (exit on error)."""
    while resource.status not in ('available', 'error'):
        time.sleep(0.5)
        resource = get(resource.id)
    if resource.status != 'available':
        sys.exit('%s %s went to error' % (what, resource.name))
    return resource


def write_results(name, results):
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, name), 'w') as handle:
        json.dump(results, handle, indent=2)

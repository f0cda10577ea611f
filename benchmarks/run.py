#!/usr/bin/env python3
"""`make bench`: cinder_snapshot_protect vs openstack.cloud.volume_snapshot, ratios measured in one run.

Against the running local cloud (`make localcloud`), as project demo:
  1. wall time of an idempotent no-op (per task, over a playbook of K identical tasks, minus an empty play)
  2. HTTP requests of one no-op task, counted by a forwarding proxy, vs the floor (token + volume lookup +
     snapshot lookup = 3)
  3. N volumes protected by one bulk task vs a loop of N openstack.cloud.volume_snapshot tasks
openstack.cloud comes from PyPI's `ansible` package, installed under .tmp/bench only for this script.
Timings on this small, noisy machine are only meaningful as ratios within one run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import openstack
import yaml

from counting_proxy import CountingProxy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
BENCH = os.path.join(ROOT, '.tmp', 'bench')
ANSIBLE_PKG = os.path.join(BENCH, 'ansible-pkg')
CLOUDS = os.path.join(ROOT, '.localcloud', 'clouds.yaml')
ANSIBLE_PACKAGE = 'ansible==14.5.0'
REQUEST_FLOOR = 3


def ensure_openstack_cloud():
    if not os.path.isdir(os.path.join(ANSIBLE_PKG, 'ansible_collections', 'openstack', 'cloud')):
        subprocess.run([os.path.join(VENV_BIN, 'uv'), 'pip', 'install', '--quiet', '--no-deps', '--target',
                        ANSIBLE_PKG, ANSIBLE_PACKAGE], check=True)
    with open(os.path.join(ANSIBLE_PKG, 'ansible_collections', 'openstack', 'cloud', 'MANIFEST.json')) as handle:
        return json.load(handle)['collection_info']['version']


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        'PATH': VENV_BIN + os.pathsep + env.get('PATH', ''),
        # ours first, then openstack.cloud from the ansible package
        'ANSIBLE_COLLECTIONS_PATH': os.pathsep.join([os.path.join(ROOT, '.venv', 'collections'), ANSIBLE_PKG]),
        'ANSIBLE_PYTHON_INTERPRETER': os.path.join(VENV_BIN, 'python'),
        'ANSIBLE_HOME': os.path.join(ROOT, '.venv', 'ansible-home'),
        'OS_CLIENT_CONFIG_FILE': CLOUDS,
        'OS_CLOUD': 'localcloud-demo',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_LOCALHOST_WARNING': '0',
    })
    env.update(extra or {})
    return env


def play(tasks, extra_env=None):
    """Run a playbook of these tasks; return wall seconds. Fails loudly if any task failed."""
    path = tempfile.mktemp(prefix='bench-', suffix='.yml', dir=BENCH)
    with open(path, 'w') as handle:
        yaml.safe_dump([{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': tasks}], handle)
    started = time.monotonic()
    proc = subprocess.run([os.path.join(VENV_BIN, 'ansible-playbook'), '-i', 'localhost,', path],
                          env=ansible_env(extra_env), capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if proc.returncode:
        sys.exit('benchmark playbook failed:\n%s' % proc.stdout[-4000:])
    return seconds


def ours_noop(volume):
    return {'dataprotection.openstack.cinder_snapshot_protect': {'volume': volume, 'snapshot_name': 'bench-ours'}}


def theirs_noop(volume):
    return {'openstack.cloud.volume_snapshot': {'volume': volume, 'name': 'bench-theirs'}}


def wait_volume(conn, volume):
    while volume.status not in ('available', 'error'):
        time.sleep(0.5)
        volume = conn.block_storage.get_volume(volume.id)
    if volume.status != 'available':
        sys.exit('volume %s went to error' % volume.name)
    return volume


def make_volumes(conn, names, metadata=None):
    volumes = [conn.block_storage.create_volume(name=name, size=1, metadata=metadata or {}) for name in names]
    return [wait_volume(conn, v) for v in volumes]


def cleanup(conn, volumes):
    bs = conn.block_storage
    for volume in volumes:
        for snapshot in bs.snapshots(volume_id=volume.id):
            bs.delete_snapshot(snapshot.id, ignore_missing=True)
    for volume in volumes:
        while list(bs.snapshots(volume_id=volume.id)):
            time.sleep(0.5)
        bs.delete_volume(volume.id, ignore_missing=True)


def measure_noop(volume, repeats, rounds):
    """Seconds per no-op task for each module (median over rounds, interleaved to share the noise)."""
    play([ours_noop(volume)])
    play([theirs_noop(volume)])
    samples = {'ours': [], 'theirs': []}
    for _round in range(rounds):
        empty = play([{'ansible.builtin.meta': 'noop'}])
        for key, task in (('ours', ours_noop(volume)), ('theirs', theirs_noop(volume))):
            samples[key].append(max(0.0, play([task] * repeats) - empty) / repeats)
    return dict((key, statistics.median(values)) for key, values in samples.items())


def count_requests(volume):
    proxy = CountingProxy()
    counts = {}
    try:
        env = {'http_proxy': proxy.url, 'HTTP_PROXY': proxy.url, 'no_proxy': '', 'NO_PROXY': ''}
        for key, task in (('ours', ours_noop(volume)), ('theirs', theirs_noop(volume))):
            proxy.reset()
            play([task], extra_env=env)
            counts[key] = dict(total=len(proxy.requests), requests=['%s %s' % (m, p) for m, _host, p in proxy.requests])
    finally:
        proxy.stop()
    return counts


def measure_bulk(conn, count, concurrency):
    tag = 'bench-%d' % os.getpid()
    volumes = make_volumes(conn, ['%s-%03d' % (tag, i) for i in range(count)], metadata={'bench': tag})
    try:
        ours = play([{'dataprotection.openstack.cinder_snapshot_protect': {
            'volume_metadata': {'bench': tag}, 'snapshot_name': 'bulk-ours', 'concurrency': concurrency}}])
        theirs = play([{'openstack.cloud.volume_snapshot': {'volume': '{{ item }}', 'name': 'bulk-theirs-{{ item }}'},
                        'loop': [v.name for v in volumes]}])
    finally:
        cleanup(conn, volumes)
    return dict(ours=ours, theirs=theirs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=10, help='no-op tasks per playbook')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--bulk', type=int, default=100, help='volumes in the bulk comparison')
    parser.add_argument('--concurrency', type=int, default=16)
    args = parser.parse_args()
    os.makedirs(BENCH, exist_ok=True)
    version = ensure_openstack_cloud()
    config = openstack.config.OpenStackConfig(config_files=[CLOUDS], load_envvars=False)
    conn = openstack.connection.Connection(config=config.get_one(cloud='localcloud-demo'))
    noop_volume = make_volumes(conn, ['bench-noop-%d' % os.getpid()])
    try:
        noop = measure_noop(noop_volume[0].name, args.repeats, args.rounds)
        requests = count_requests(noop_volume[0].name)
    finally:
        cleanup(conn, noop_volume)
    bulk = measure_bulk(conn, args.bulk, args.concurrency)
    results = {
        'openstack.cloud': version,
        'noop_seconds_per_task': noop,
        'noop_ratio_ours_vs_openstack_cloud': noop['ours'] / noop['theirs'] if noop['theirs'] else None,
        'noop_requests': requests,
        'noop_requests_vs_floor': {'ours': requests['ours']['total'] / REQUEST_FLOOR,
                                   'theirs': requests['theirs']['total'] / REQUEST_FLOOR, 'floor': REQUEST_FLOOR},
        'bulk_seconds': bulk,
        'bulk_volumes': args.bulk,
        'bulk_speedup_ours_vs_loop': bulk['theirs'] / bulk['ours'],
    }
    os.makedirs(os.path.join(ROOT, 'benchmarks', 'results'), exist_ok=True)
    with open(os.path.join(ROOT, 'benchmarks', 'results', 'latest.json'), 'w') as handle:
        json.dump(results, handle, indent=2)
    print('openstack.cloud %s' % version)
    print('no-op per task: ours %.2fs, openstack.cloud %.2fs -> ratio %.2fx (target <= 0.8x)'
          % (noop['ours'], noop['theirs'], results['noop_ratio_ours_vs_openstack_cloud']))
    print('no-op HTTP requests: ours %d, openstack.cloud %d, floor %d -> %.2fx / %.2fx of the floor'
          % (requests['ours']['total'], requests['theirs']['total'], REQUEST_FLOOR,
             results['noop_requests_vs_floor']['ours'], results['noop_requests_vs_floor']['theirs']))
    print('  ours:   %s' % ', '.join(requests['ours']['requests']))
    print('  theirs: %s' % ', '.join(requests['theirs']['requests']))
    print('bulk %d volumes: one task %.1fs vs loop %.1fs -> %.1fx faster (target >= 10x)'
          % (args.bulk, bulk['ours'], bulk['theirs'], results['bulk_speedup_ours_vs_loop']))


if __name__ == '__main__':
    main()

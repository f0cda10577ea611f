#!/usr/bin/env python3
"""`make bench`: cinder_snapshot_protect vs openstack.cloud.volume_snapshot, ratios measured in one run.

Against the running local cloud (`make localcloud`), as project demo:
  1. wall time of an idempotent no-op (per task, over a playbook of K identical tasks, minus an empty play)
  2. HTTP requests of one no-op task, counted by a forwarding proxy, vs the floor (token + volume lookup +
     snapshot lookup = 3): ours without the run cache, with its default (discovery reused from an earlier task),
     with the opt-in token cache as well; openstack.cloud
  3. N volumes protected by one bulk task vs a loop of N openstack.cloud.volume_snapshot tasks
  4. CPU of one Kubernetes task vs kubernetes.core.k8s_info (benchmarks/k8s.py)
openstack.cloud comes from PyPI's `ansible` package, installed under .tmp/bench only for this script.
Timings on this small, noisy machine are only meaningful as ratios within one run.
"""
import argparse
import json
import os
import shutil
import subprocess
import time

import openstack

import k8s as k8s_bench
from common import (ANSIBLE_PKG, CLOUDS, VENV_BIN, ansible_env, count_requests, play, seconds_per_task, wait_until_ready,
                    write_results)

ANSIBLE_PACKAGE = 'ansible==14.5.0'
REQUEST_FLOOR = 3


def ensure_openstack_cloud():
    if not os.path.isdir(os.path.join(ANSIBLE_PKG, 'ansible_collections', 'openstack', 'cloud')):
        subprocess.run([os.path.join(VENV_BIN, 'uv'), 'pip', 'install', '--quiet', '--no-deps', '--target',
                        ANSIBLE_PKG, ANSIBLE_PACKAGE], check=True)
    with open(os.path.join(ANSIBLE_PKG, 'ansible_collections', 'openstack', 'cloud', 'MANIFEST.json')) as handle:
        return json.load(handle)['collection_info']['version']


def ours_noop(volume, **options):
    task = {'volume': volume, 'snapshot_name': 'bench-ours'}
    task.update(options)
    return {'dataprotection.openstack.cinder_snapshot_protect': task}


def theirs_noop(volume):
    return {'openstack.cloud.volume_snapshot': {'volume': volume, 'name': 'bench-theirs'}}


def make_volumes(conn, names, metadata=None):
    volumes = [conn.block_storage.create_volume(name=name, size=1, metadata=metadata or {}) for name in names]
    return [wait_until_ready(conn.block_storage.get_volume, v, 'volume') for v in volumes]


def cleanup(conn, volumes):
    bs = conn.block_storage
    for volume in volumes:
        for snapshot in bs.snapshots(volume_id=volume.id):
            bs.delete_snapshot(snapshot.id, ignore_missing=True)
    for volume in volumes:
        while list(bs.snapshots(volume_id=volume.id)):
            time.sleep(0.5)
        bs.delete_volume(volume.id, ignore_missing=True)


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
    parser.add_argument('--bulk', type=int, default=100, help='volumes in the bulk comparison (0: skip it)')
    parser.add_argument('--concurrency', type=int, default=16)
    args = parser.parse_args()
    version = ensure_openstack_cloud()
    shutil.rmtree(ansible_env()['DATAPROTECTION_OPENSTACK_CACHE_DIR'], ignore_errors=True)  # a run's first task
    config = openstack.config.OpenStackConfig(config_files=[CLOUDS], load_envvars=False)
    conn = openstack.connection.Connection(config=config.get_one(cloud='localcloud-demo'))
    noop_volume = make_volumes(conn, ['bench-noop-%d' % os.getpid()])
    try:
        name = noop_volume[0].name
        tasks = dict(ours=ours_noop(name), ours_token_cache=ours_noop(name, token_cache=True),
                     theirs=theirs_noop(name))
        noop = seconds_per_task(tasks, args.repeats, args.rounds)
        # after the warm-up above: the run cache holds discovery and the token, as for any task but a run's first
        requests = count_requests(dict(tasks, ours_no_run_cache=ours_noop(name, discovery_cache_ttl=0)))
    finally:
        cleanup(conn, noop_volume)
    bulk = measure_bulk(conn, args.bulk, args.concurrency) if args.bulk else dict(ours=None, theirs=None)
    kubernetes = k8s_bench.measure()
    results = {
        'openstack.cloud': version,
        'noop_seconds_per_task': noop,
        'noop_ratio_ours_vs_openstack_cloud': noop['ours'] / noop['theirs'] if noop['theirs'] else None,
        'noop_requests': requests,
        'noop_requests_vs_floor': dict([(key, value['total'] / REQUEST_FLOOR) for key, value in requests.items()],
                                       floor=REQUEST_FLOOR),
        'bulk_seconds': bulk,
        'bulk_volumes': args.bulk,
        'bulk_speedup_ours_vs_loop': bulk['theirs'] / bulk['ours'] if args.bulk else None,
        'kubernetes': kubernetes,
    }
    write_results('latest.json', results)
    print('openstack.cloud %s' % version)
    print('no-op per task: ours %.2fs (token cache %.2fs), openstack.cloud %.2fs -> ratio %.2fx (target <= 0.8x)'
          % (noop['ours'], noop['ours_token_cache'], noop['theirs'], results['noop_ratio_ours_vs_openstack_cloud']))
    print('no-op HTTP requests (floor %d):' % REQUEST_FLOOR)
    for key in ('ours_no_run_cache', 'ours', 'ours_token_cache', 'theirs'):
        print('  %-18s %d (%.2fx of the floor): %s' % (key, requests[key]['total'], requests[key]['total'] / REQUEST_FLOOR,
                                                    ', '.join(requests[key]['requests'])))
    if args.bulk:
        print('bulk %d volumes: one task %.1fs vs loop %.1fs -> %.1fx faster (target >= 10x)'
              % (args.bulk, bulk['ours'], bulk['theirs'], results['bulk_speedup_ours_vs_loop']))
    k8s_bench.report(kubernetes)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""manila_share_protect figures, measured in one run (no public Manila module exists to compare with).

Against the running local cloud (`make localcloud`), as project demo:
  1. HTTP requests of one idempotent no-op task, counted by a forwarding proxy, vs the floor
     (token + share lookup + snapshot lookup = 3); the same for protectable_info (token + 2 listings)
  2. wall time of an idempotent no-op task (over a playbook of K identical tasks, minus an empty play)
  3. N shares protected by one bulk task vs a loop of N single-share tasks of the same module
Timings on this small, noisy machine are only meaningful as ratios within one run.
"""
import argparse
import os
import time

import openstack

from common import CLOUDS, count_requests, play, seconds_per_task, wait_until_ready, write_results

MV = '2.73'
NOOP_FLOOR = 3
INFO_FLOOR = 3


def protect_task(**args):
    return {'dataprotection.openstack.manila_share_protect': dict(args, cloud='localcloud-demo')}


def snapshots_of(sfs, share_id):
    return sfs.get('/snapshots/detail?share_id=%s' % share_id, microversion=MV).json()['snapshots']


def make_shares(sfs, names, metadata=None):
    shares = [sfs.create_share(name=name, size=1, share_protocol='NFS', metadata=metadata or {}) for name in names]
    return [wait_until_ready(sfs.get_share, s, 'share') for s in shares]


def cleanup(sfs, shares):
    for share in shares:
        for snapshot in snapshots_of(sfs, share.id):
            sfs.delete_share_snapshot(snapshot['id'], ignore_missing=True)
    for share in shares:
        while snapshots_of(sfs, share.id):
            time.sleep(0.5)
        sfs.delete_share(share.id, ignore_missing=True)


def measure_bulk(sfs, count, concurrency):
    tag = 'bench-%d' % os.getpid()
    shares = make_shares(sfs, ['%s-%03d' % (tag, i) for i in range(count)], metadata={'bench': tag})
    try:
        one_task = play([protect_task(share_metadata={'bench': tag}, snapshot_name='bulk-one',
                                      concurrency=concurrency)])
        loop = play([dict(protect_task(share='{{ item }}', snapshot_name='bulk-loop'),
                          loop=[s.name for s in shares])])
    finally:
        cleanup(sfs, shares)
    return dict(one_task=one_task, loop=loop)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=10, help='no-op tasks per playbook')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--bulk', type=int, default=20, help='shares in the bulk comparison')
    parser.add_argument('--concurrency', type=int, default=16)
    args = parser.parse_args()
    config = openstack.config.OpenStackConfig(config_files=[CLOUDS], load_envvars=False)
    sfs = openstack.connection.Connection(config=config.get_one(
        cloud='localcloud-demo', shared_file_system_default_microversion='2.65')).shared_file_system
    noop_share = make_shares(sfs, ['bench-noop-%d' % os.getpid()])
    try:
        noop_task = protect_task(share=noop_share[0].name, snapshot_name='bench-noop')
        play([noop_task])  # the protection exists; from now on the task is a no-op
        requests = count_requests({'noop': noop_task, 'protectable_info': {
            'dataprotection.openstack.protectable_info': {'cloud': 'localcloud-demo'}}})
        noop = seconds_per_task({'noop': noop_task}, args.repeats, args.rounds)['noop']
    finally:
        cleanup(sfs, noop_share)
    bulk = measure_bulk(sfs, args.bulk, args.concurrency)
    results = {
        'noop_seconds_per_task': noop,
        'noop_requests': requests,
        'noop_requests_vs_floor': requests['noop']['total'] / NOOP_FLOOR,
        'protectable_info_requests_vs_floor': requests['protectable_info']['total'] / INFO_FLOOR,
        'bulk_seconds': bulk,
        'bulk_shares': args.bulk,
        'bulk_speedup_one_task_vs_loop': bulk['loop'] / bulk['one_task'],
    }
    write_results('manila-latest.json', results)
    print('no-op per task: %.2fs' % noop)
    for key, floor in (('noop', NOOP_FLOOR), ('protectable_info', INFO_FLOOR)):
        print('%s HTTP requests: %d, floor %d -> %.2fx of the floor' % (key, requests[key]['total'], floor,
                                                                      requests[key]['total'] / floor))
        print('  %s' % ', '.join(requests[key]['requests']))
    print('bulk %d shares: one task %.1fs vs loop of single-share tasks %.1fs -> %.1fx faster'
          % (args.bulk, bulk['one_task'], bulk['loop'], results['bulk_speedup_one_task_vs_loop']))


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""CPU of one Kubernetes task: k8s_pod_protectable_info vs kubernetes.core.k8s_info (part of `make bench`).

Both list the pods of one namespace of the local cloud's Kubernetes API (the emulator, .localcloud/kubeconfig).
The figure is CPU seconds (user + system of ansible-playbook and the module processes it ran) per task: a play of
K identical tasks minus an empty play, the median of the rounds, interleaved. CPU rather than wall time: it is
what a task costs the controller, and on this small, noisy machine it does not depend on what else runs.
kubernetes.core comes from PyPI's `ansible` package (run.py installs it under .tmp/bench).
"""
import argparse
import os

from common import ROOT, play_cpu, seconds_per_task, write_results

KUBECONFIG = os.path.join(ROOT, '.localcloud', 'kubeconfig')
NAMESPACE = 'default'
TASKS = {
    'ours': {'dataprotection.openstack.k8s_pod_protectable_info': {'kubeconfig': KUBECONFIG, 'namespace': NAMESPACE}},
    'kubernetes.core': {'kubernetes.core.k8s_info': {'kubeconfig': KUBECONFIG, 'kind': 'Pod',
                                                     'namespace': NAMESPACE}},
}


def measure(repeats=5, rounds=3):
    cpu = seconds_per_task(TASKS, repeats, rounds, measure=play_cpu)
    return {'cpu_seconds_per_task': cpu,
            'cpu_ratio_ours_vs_kubernetes_core': cpu['ours'] / cpu['kubernetes.core'] if cpu['kubernetes.core'] else None}


def report(results):
    cpu = results['cpu_seconds_per_task']
    print('Kubernetes task CPU (list the pods of a namespace): ours %.2fs, kubernetes.core.k8s_info %.2fs -> %.2fx'
          % (cpu['ours'], cpu['kubernetes.core'], results['cpu_ratio_ours_vs_kubernetes_core']))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=5, help='tasks per playbook')
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    from run import ensure_openstack_cloud  # PyPI's ansible package, kubernetes.core with it (run.py imports us)
    ensure_openstack_cloud()
    results = measure(args.repeats, args.rounds)
    write_results('k8s.json', results)
    report(results)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Seed the local cloud with what playbooks/demo*.yml protect (idempotent), as devstack seeds demo data.

Project demo: volume demo-data, NFS share demo-share, volumes demo-k8s-a/-b; Kubernetes emulator:
namespace demo-app with PVs demo-k8s-pv-a (in-tree Cinder) / demo-k8s-pv-b (CSI), PVCs data-a/data-b
and the pod demo-db using both.
"""
import os
import sys
import time

import openstack
from kubernetes import client as kube_client
from kubernetes import config as kube_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 120


def wait_available(fetch, what):
    deadline = time.monotonic() + TIMEOUT
    obj = fetch()
    while obj.status != 'available':
        if obj.status == 'error' or time.monotonic() > deadline:
            sys.exit('demo seed: %s is %s' % (what, obj.status))
        time.sleep(1)
        obj = fetch()
    return obj


def ensure_volume(conn, name):
    found = [v for v in conn.block_storage.volumes(name=name) if v.name == name]
    volume = found[0] if found else conn.block_storage.create_volume(name=name, size=1)
    return wait_available(lambda: conn.block_storage.get_volume(volume.id), 'volume %s' % name)


def ensure_share(conn, name):
    sfs = conn.shared_file_system
    found = [s for s in sfs.shares(details=True) if s.name == name]
    share = found[0] if found else sfs.create_share(name=name, size=1, share_proto='NFS', share_type='default')
    return wait_available(lambda: sfs.get_share(share.id), 'share %s' % name)


def ensure(read, create):
    """Create a Kubernetes object unless reading it succeeds."""
    try:
        read()
    except kube_client.ApiException as exc:
        if exc.status != 404:
            raise
        create()


def seed_kubernetes(volume_ids):
    configuration = kube_client.Configuration()
    kube_config.load_kube_config(os.path.join(ROOT, '.localcloud', 'kubeconfig'), client_configuration=configuration)
    core = kube_client.CoreV1Api(kube_client.ApiClient(configuration))
    ensure(lambda: core.read_namespace('demo-app'),
           lambda: core.create_namespace({'metadata': {'name': 'demo-app'}}))
    sources = {'a': {'cinder': {'volumeID': volume_ids['a']}},
               'b': {'csi': {'driver': 'cinder.csi.openstack.org', 'volumeHandle': volume_ids['b']}}}
    for suffix, source in sources.items():
        pv_name, claim = 'demo-k8s-pv-' + suffix, 'data-' + suffix
        spec = dict(source, capacity={'storage': '1Gi'}, accessModes=['ReadWriteOnce'],
                    storageClassName='csi-cinder-sc', persistentVolumeReclaimPolicy='Retain')
        ensure(lambda n=pv_name: core.read_persistent_volume(n),
               lambda n=pv_name, s=spec: core.create_persistent_volume({'metadata': {'name': n}, 'spec': s}))
        claim_body = {'metadata': {'name': claim},
                      'spec': {'accessModes': ['ReadWriteOnce'], 'storageClassName': 'csi-cinder-sc',
                               'volumeName': pv_name, 'resources': {'requests': {'storage': '1Gi'}}}}
        ensure(lambda c=claim: core.read_namespaced_persistent_volume_claim(c, 'demo-app'),
               lambda b=claim_body: core.create_namespaced_persistent_volume_claim('demo-app', b))
    # a new namespace's `default` service account comes shortly after it; until then pods are refused (403)
    deadline = time.monotonic() + TIMEOUT
    while not [a for a in core.list_namespaced_service_account('demo-app').items if a.metadata.name == 'default']:
        if time.monotonic() > deadline:
            sys.exit('demo seed: namespace demo-app has no default service account after %ds' % TIMEOUT)
        time.sleep(0.2)
    pod = {'metadata': {'name': 'demo-db', 'labels': {'app': 'demo-db'}},
           'spec': {'containers': [{'name': 'db', 'image': 'postgres:16', 'env': [{'name': 'PGDATA', 'value': '/a'}],
                                    'volumeMounts': [{'name': 'a', 'mountPath': '/a'}, {'name': 'b', 'mountPath': '/b'}]}],
                    'volumes': [{'name': 'a', 'persistentVolumeClaim': {'claimName': 'data-a'}},
                                {'name': 'b', 'persistentVolumeClaim': {'claimName': 'data-b'}}]}}
    ensure(lambda: core.read_namespaced_pod('demo-db', 'demo-app'),
           lambda: core.create_namespaced_pod('demo-app', pod))
    print('demo seed: pod demo-app/demo-db with PVs on volumes %s' % volume_ids)


def main():
    config = openstack.config.OpenStackConfig(config_files=[os.path.join(ROOT, '.localcloud', 'clouds.yaml')],
                                              load_envvars=False)
    conn = openstack.connection.Connection(config=config.get_one(cloud='localcloud-demo'))
    volume = ensure_volume(conn, 'demo-data')
    print('demo seed: volume demo-data %s is available' % volume.id)
    share = ensure_share(conn, 'demo-share')
    print('demo seed: share demo-share %s is available' % share.id)
    seed_kubernetes(dict((suffix, ensure_volume(conn, 'demo-k8s-' + suffix).id) for suffix in ('a', 'b')))


if __name__ == '__main__':
    main()

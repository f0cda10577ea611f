#!/usr/bin/env python3
"""Seed the local cloud with what playbooks/demo*.yml protect (idempotent), as devstack seeds demo data.

Project demo: volume demo-data, NFS share demo-share, volumes demo-k8s-a/-b, the image-booted server
demo-server (fake virt driver, no network); Kubernetes emulator: namespace demo-app with PVs demo-k8s-pv-a
(in-tree Cinder) / demo-k8s-pv-b (CSI), PVCs data-a/data-b and the pod demo-db using both. Project
demo-tenant (the demo user's roles): server demo-tenant-web and volume demo-tenant-data, for the project
backup (a tenant backup covers everything in its project, so it gets a small project of its own).
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
    """Until available (a volume the seeded pod uses is in-use: that is fine too)."""
    deadline = time.monotonic() + TIMEOUT
    obj = fetch()
    while obj.status not in ('available', 'in-use'):
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


def ensure_server(conn, name):
    compute = conn.compute
    found = [s for s in compute.servers(name='^%s$' % name) if s.name == name]
    server = found[0] if found else compute.create_server(
        name=name, image_id=conn.image.find_image('dp-tiny', ignore_missing=False).id, networks='none',
        flavor_id=compute.find_flavor('dp.tiny', ignore_missing=False).id)
    deadline = time.monotonic() + TIMEOUT
    server = compute.get_server(server.id)
    while server.status != 'ACTIVE':
        if server.status == 'ERROR' or time.monotonic() > deadline:
            sys.exit('demo seed: server %s is %s' % (name, server.status))
        time.sleep(1)
        server = compute.get_server(server.id)
    return server


def drop_restored_servers(conn, name):
    """A previous demo's restored server and the image it booted from (renamed dp-restored-<id> by the restore)."""
    servers = [s for s in conn.compute.servers(name='^%s$' % name) if s.name == name]
    for server in servers:
        conn.compute.delete_server(server.id, ignore_missing=True)
        conn.compute.wait_for_delete(server, wait=TIMEOUT)
        image_id = (server.image or {}).get('id')
        image = conn.image.find_image(image_id, ignore_missing=True) if image_id else None
        if image is not None and (image.name or '').startswith('dp-restored-'):
            conn.image.delete_image(image.id, ignore_missing=True)


def ensure_tenant(config):
    """Project demo-tenant with the demo user's roles in demo; a connection to it as the demo user."""
    admin = openstack.connection.Connection(config=config.get_one(cloud='localcloud-admin'))
    ident = admin.identity
    project = ident.find_project('demo-tenant', domain_id='default') or ident.create_project(
        name='demo-tenant', domain_id='default', description='make demo: the project backup')
    user = ident.find_user('demo', domain_id='default', ignore_missing=False)
    demo = ident.find_project('demo', domain_id='default', ignore_missing=False)
    for assignment in ident.role_assignments(user_id=user.id, scope_project_id=demo.id):
        ident.assign_project_role_to_user(project, user, assignment.role['id'])
    return openstack.connection.Connection(config=config.get_one(cloud='localcloud-demo', project_name='demo-tenant',
                                                                 compute_api_version='2.90'))


def reset_tenant(conn, servers, volumes):
    """Back to the seed: a previous demo's restored copies and backups in demo-tenant go (the project is the demo's
    sandbox; the demo takes a new backup each run and restores that one)."""
    stray = [s for s in conn.compute.servers() if s.name not in servers]
    for server in stray:
        conn.compute.delete_server(server.id, ignore_missing=True)
    for server in stray:
        conn.compute.wait_for_delete(server, wait=TIMEOUT)
    # Freezer's records, the Swift data of earlier demo backups and the manifests of their sessions (the project's
    # checkpoint bank, dataprotection-bank): each demo starts with no backup at all
    freezer = conn.session.get_endpoint(service_type='backup', interface='public').rstrip('/')
    records = conn.session.get(freezer + '/v2/%s/backups?limit=1000' % conn.current_project_id).json()['backups']
    for record in records:
        conn.session.delete(freezer + '/v2/%s/backups/%s' % (conn.current_project_id, record['backup_id']),
                            raise_exc=False)
    for container in [c.name for c in conn.object_store.containers() if c.name.startswith('freezer_') or c.name == 'dataprotection-bank']:
        for obj in conn.object_store.objects(container):
            conn.object_store.delete_object(obj, container=container, ignore_missing=True)
        conn.object_store.delete_container(container, ignore_missing=True)
    bs = conn.block_storage
    for backup in list(bs.backups(details=True)):
        bs.delete_backup(backup.id, ignore_missing=True)
    for backup in list(bs.backups(details=True)):
        bs.wait_for_delete(backup, wait=TIMEOUT)
    for volume in [v for v in bs.volumes(details=True) if v.name not in volumes]:
        bs.delete_volume(volume.id, ignore_missing=True)
        bs.wait_for_delete(volume, wait=TIMEOUT)
    if stray:
        print('demo seed: removed %d server(s) a previous demo restored in demo-tenant' % len(stray))


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
    compute = openstack.connection.Connection(config=config.get_one(cloud='localcloud-demo',
                                                                    compute_api_version='2.90'))
    drop_restored_servers(compute, 'demo-server-restored')
    print('demo seed: server demo-server %s is ACTIVE' % ensure_server(compute, 'demo-server').id)
    tenant = ensure_tenant(config)
    reset_tenant(tenant, ('demo-tenant-web',), ('demo-tenant-data',))
    print('demo seed: project demo-tenant with server %s and volume %s' % (
        ensure_server(tenant, 'demo-tenant-web').id, ensure_volume(tenant, 'demo-tenant-data').id))


if __name__ == '__main__':
    main()

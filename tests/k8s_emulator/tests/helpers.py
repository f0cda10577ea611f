"""Manifests and small helpers shared by the tests."""

import json
import time

import pytest


def wait_for(predicate, timeout=5.0, interval=0.02, message='condition'):
    """Poll ``predicate`` until it returns a truthy value; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f'timed out after {timeout}s waiting for {message}')
        time.sleep(interval)


def status_body(exc):
    """Parsed Status body of an ApiException."""
    return json.loads(exc.body)


def pod(name, claims=(), annotations=None, labels=None, image='busybox:1.36'):
    """A pod mounting the given PVCs."""
    volumes = [{'name': f'vol-{i}', 'persistentVolumeClaim': {'claimName': c}} for i, c in enumerate(claims)]
    mounts = [{'name': f'vol-{i}', 'mountPath': f'/data{i}'} for i in range(len(claims))]
    return {'apiVersion': 'v1', 'kind': 'Pod',
            'metadata': {'name': name, 'annotations': annotations or {}, 'labels': labels or {}},
            'spec': {'containers': [{'name': 'app', 'image': image, 'command': ['sleep', '3600'], 'volumeMounts': mounts,
                                     'env': [{'name': 'A', 'value': '1'}]}], 'volumes': volumes}}


def pvc(name, size='1Gi', storage_class='', volume_name=None, modes=('ReadWriteOnce',)):
    """A PVC; ``storage_class=None`` leaves the field out (the default class is then assigned)."""
    spec = {'accessModes': list(modes), 'resources': {'requests': {'storage': size}}}
    if storage_class is not None:
        spec['storageClassName'] = storage_class
    if volume_name:
        spec['volumeName'] = volume_name
    return {'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim', 'metadata': {'name': name}, 'spec': spec}


def pv(name, volume_id, size='1Gi', csi=True, policy='Retain', storage_class='', claim_ref=None, modes=('ReadWriteOnce',)):
    """A Cinder-backed PV: CSI (cinder.csi.openstack.org) or in-tree ``spec.cinder``."""
    spec = {'capacity': {'storage': size}, 'accessModes': list(modes), 'persistentVolumeReclaimPolicy': policy,
            'storageClassName': storage_class}
    if csi:
        spec['csi'] = {'driver': 'cinder.csi.openstack.org', 'volumeHandle': volume_id, 'fsType': 'ext4'}
    else:
        spec['cinder'] = {'volumeID': volume_id, 'fsType': 'ext4'}
    if claim_ref:
        spec['claimRef'] = claim_ref
    return {'apiVersion': 'v1', 'kind': 'PersistentVolume', 'metadata': {'name': name}, 'spec': spec}

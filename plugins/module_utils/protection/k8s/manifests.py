# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manifests: what is saved of a pod, its PVCs and PVs (minus what the server sets), and the restored objects.

Annotations: only those the cluster's own components write are dropped (binding and provisioning bookkeeping);
everything a user or a client wrote is kept. In particular ``volume.beta.kubernetes.io/storage-class`` is the
user's legacy way to name a claim's class and still wins over ``spec.storageClassName``: dropping it would give
the restored claim the default class and it would never bind to its PV. ``kubectl.kubernetes.io/last-applied-
configuration`` is written by ``kubectl apply`` (a client), not the server: it is kept, so that applying the
user's file to the restored object stays a three-way merge.
"""

from __future__ import annotations

import copy

CSI_DRIVER = 'cinder.csi.openstack.org'

PREFIX = 'dataprotection.openstack/'
LABEL_CHECKPOINT = PREFIX + 'checkpoint'
ANN_ORIGINAL_NAME = PREFIX + 'original-name'
ANN_ORIGINAL_NAMESPACE = PREFIX + 'original-namespace'
ANN_ORIGINAL_VOLUME = PREFIX + 'original-volume-id'
ANN_RESTORE_NAME = PREFIX + 'restore-name'
ANN_DESCRIPTION = PREFIX + 'restore-description'

# Set by the API server; a manifest carrying them cannot be created again.
SERVER_METADATA = ('uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation', 'selfLink',
                   'deletionTimestamp', 'deletionGracePeriodSeconds', 'ownerReferences')
# Written by the PV controller, the external provisioner and the scheduler: bookkeeping of THAT binding/provisioning.
SERVER_ANNOTATIONS = frozenset([
    'pv.kubernetes.io/bind-completed', 'pv.kubernetes.io/bound-by-controller', 'pv.kubernetes.io/provisioned-by',
    'pv.kubernetes.io/migrated-to', 'volume.kubernetes.io/storage-provisioner',
    'volume.beta.kubernetes.io/storage-provisioner', 'volume.kubernetes.io/selected-node',
])
SERVER_FINALIZERS = ('kubernetes.io/pvc-protection', 'kubernetes.io/pv-protection',
                     'external-attacher/cinder-csi-openstack-org')
SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount'
TOKEN_VOLUME_PREFIX = 'kube-api-access-'


def pod_key(namespace, name):
    return '%s/%s' % (namespace, name)


def _strip_token_volume(spec):
    """The service account admission adds a fresh token volume (and its mounts) to the new pod."""
    token_volumes = set(v['name'] for v in spec.get('volumes') or []
                        if v.get('projected') and v['name'].startswith(TOKEN_VOLUME_PREFIX))
    if not token_volumes:
        return
    spec['volumes'] = [v for v in spec['volumes'] if v['name'] not in token_volumes]
    for container in (spec.get('containers') or []) + (spec.get('initContainers') or []):
        mounts = [m for m in container.get('volumeMounts') or [] if m.get('name') not in token_volumes]
        if mounts:
            container['volumeMounts'] = mounts
        else:
            container.pop('volumeMounts', None)


def clean_manifest(obj, kind):
    """A copy without the server-set fields, with kind/apiVersion (list items carry none)."""
    obj = copy.deepcopy(obj)
    obj['apiVersion'], obj['kind'] = 'v1', kind
    obj.pop('status', None)  # with it the ephemeral containers' statuses
    meta = obj.setdefault('metadata', {})
    for field in SERVER_METADATA:
        meta.pop(field, None)
    annotations = dict((k, v) for k, v in (meta.get('annotations') or {}).items() if k not in SERVER_ANNOTATIONS)
    if annotations:
        meta['annotations'] = annotations
    else:
        meta.pop('annotations', None)
    finalizers = [f for f in meta.get('finalizers') or [] if f not in SERVER_FINALIZERS]
    if finalizers:
        meta['finalizers'] = finalizers
    else:
        meta.pop('finalizers', None)
    if kind == 'Pod':
        spec = obj.setdefault('spec', {})
        spec.pop('nodeName', None)
        # ``kubectl debug`` containers exist only through the ephemeralcontainers subresource: 422 on create.
        spec.pop('ephemeralContainers', None)
        _strip_token_volume(spec)
    return obj


def cinder_source(pv):
    """(cinder volume id, 'in-tree'|'csi') for a PV backed by Cinder, else (None, the source's name)."""
    spec = (pv or {}).get('spec') or {}
    if spec.get('cinder'):
        return spec['cinder'].get('volumeID'), 'in-tree'
    csi = spec.get('csi')
    if csi:
        if csi.get('driver') == CSI_DRIVER:
            return csi.get('volumeHandle'), 'csi'
        return None, 'csi:%s' % csi.get('driver')
    sources = [k for k in spec if k not in ('accessModes', 'capacity', 'claimRef', 'mountOptions', 'nodeAffinity',
                                            'persistentVolumeReclaimPolicy', 'storageClassName', 'volumeMode',
                                            'volumeAttributesClassName')]
    return None, (sources[0] if sources else 'none')


def restored_pv(manifest, name, volume_id, namespace, claim, checkpoint_id):
    pv = clean_manifest(manifest, 'PersistentVolume')
    original = pv['metadata']['name']
    pv['metadata'] = dict(name=name, labels=dict(pv['metadata'].get('labels') or {}),
                          annotations=dict(pv['metadata'].get('annotations') or {}))
    pv['metadata']['labels'][LABEL_CHECKPOINT] = checkpoint_id
    pv['metadata']['annotations'].update({ANN_ORIGINAL_NAME: original,
                                          ANN_ORIGINAL_VOLUME: cinder_source(manifest)[0]})
    spec = pv['spec']
    # Retain: with Delete, releasing the PV would delete the restored Cinder volume.
    spec['persistentVolumeReclaimPolicy'] = 'Retain'
    # Pre-bound to the new claim without a uid; an old uid would leave the PV Released forever.
    spec['claimRef'] = dict(apiVersion='v1', kind='PersistentVolumeClaim', namespace=namespace, name=claim)
    if spec.get('cinder'):
        spec['cinder']['volumeID'] = volume_id
    else:
        spec['csi']['volumeHandle'] = volume_id
    return pv


def restored_pvc(manifest, name, namespace, pv_name, checkpoint_id):
    pvc = clean_manifest(manifest, 'PersistentVolumeClaim')
    meta = pvc['metadata']
    original = pod_key(meta.get('namespace'), meta['name'])
    pvc['metadata'] = dict(name=name, namespace=namespace, labels=dict(meta.get('labels') or {}),
                           annotations=dict(meta.get('annotations') or {}))
    pvc['metadata']['labels'][LABEL_CHECKPOINT] = checkpoint_id
    pvc['metadata']['annotations'][ANN_ORIGINAL_NAME] = original
    pvc['spec']['volumeName'] = pv_name
    return pvc


def restored_pod(manifest, name, namespace, claims, checkpoint_id, requested, description=None):
    pod = clean_manifest(manifest, 'Pod')
    meta = pod['metadata']
    original_namespace, original = meta.get('namespace'), meta['name']
    meta.pop('generateName', None)
    meta.update(name=name, namespace=namespace)
    meta.setdefault('labels', {})[LABEL_CHECKPOINT] = checkpoint_id
    annotations = meta.setdefault('annotations', {})
    annotations.update({ANN_ORIGINAL_NAME: original, ANN_ORIGINAL_NAMESPACE: original_namespace,
                        ANN_RESTORE_NAME: requested})
    if description:
        annotations[ANN_DESCRIPTION] = description
    for volume in pod['spec'].get('volumes') or []:
        claim = volume.get('persistentVolumeClaim')
        if claim:
            claim['claimName'] = claims[claim['claimName']]
    return pod


def service_account(pod):
    """The service account a pod runs as (``default`` when it names none)."""
    spec = (pod or {}).get('spec') or {}
    return spec.get('serviceAccountName') or spec.get('serviceAccount') or 'default'

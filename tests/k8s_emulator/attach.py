"""Attach/detach controller + external-attacher: VolumeAttachments for scheduled pods' Cinder volumes.

Real behaviour copied:
- kube-controller-manager's attach-detach controller wants a volume attached to a node while a scheduled pod that
  is not terminated (phase not Succeeded/Failed) and not yet removed uses it; it creates a
  ``storage.k8s.io/v1`` VolumeAttachment ``csi-<sha256(volumeHandle + attacher + node)>`` (attacher
  ``cinder.csi.openstack.org``, also for in-tree ``spec.cinder`` PVs through CSI migration).
- The external-attacher adds the finalizer ``external-attacher/cinder-csi-openstack-org`` to the PV and the
  VolumeAttachment, calls Cinder (the volume becomes ``in-use``) and sets ``status.attached: true``; the kubelet
  starts the pod's containers only after that (``FailedAttachVolume`` events while it cannot).
- Detach comes only some seconds after the pod is gone or terminated (kubelet unmount, controller reconcile,
  Cinder detach): the emulator waits ``detach_delay`` seconds, then deletes the VolumeAttachment, detaches in
  Cinder, and removes both finalizers. A PV being deleted stays (finalizer) until it is detached.

Cinder calls run in a worker thread (never under the store lock). Without a Cinder configured (in-process
tests) attachments succeed in Kubernetes only.
"""

import copy
import hashlib
import logging
import queue
import threading
import time

from . import util
from .cinder import CinderError

LOG = logging.getLogger('k8s_emulator')
ATTACHER = 'cinder.csi.openstack.org'
FINALIZER = 'external-attacher/cinder-csi-openstack-org'
TERMINAL = ('Succeeded', 'Failed')
RETRY_SECONDS = 5.0  # before a failed attach/detach is tried again


def cinder_volume(pv):
    """The Cinder volume id behind a PV (in-tree or Cinder CSI), else None."""
    spec = pv.get('spec') or {}
    if spec.get('cinder'):
        return spec['cinder'].get('volumeID')
    csi = spec.get('csi') or {}
    return csi.get('volumeHandle') if csi.get('driver') == ATTACHER else None


def attachment_name(volume_id, node):
    """Real: ``csi-`` + sha256 of volumeHandle + attacher + nodeName."""
    return 'csi-' + hashlib.sha256(f'{volume_id}{ATTACHER}{node}'.encode()).hexdigest()


class Attacher:
    """Keeps VolumeAttachments (and Cinder) in line with the scheduled pods; called by the controllers under the lock."""

    def __init__(self, emulator):
        self.emu = emulator
        self.store = emulator.store
        self.cinder = None          # a cinder.Cinder, when the emulator is given a clouds.yaml
        self.unwanted_since = {}    # VolumeAttachment name -> monotonic time it stopped being needed
        self.busy = set()           # VolumeAttachment names with a Cinder call in flight
        self.retry_at = {}          # VolumeAttachment name -> monotonic time a failed call may be retried
        self.jobs = queue.Queue()
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self._work, name='k8s-emulator-attacher', daemon=True)
        self.thread.start()

    def stop(self):
        self.jobs.put(None)

    def reset(self):
        self.unwanted_since.clear()
        self.retry_at.clear()

    # ------------------------------------------------------------ desired state (under the store lock)
    def _wanted(self):
        """{attachment name: (pv name, volume id, node)} for every Cinder PV a live scheduled pod mounts."""
        wanted = {}
        for pod in self.store.list_raw('pods'):
            node = pod['spec'].get('nodeName')
            if not node or pod['status'].get('phase') in TERMINAL:
                continue
            for volume in pod['spec'].get('volumes') or []:
                claim = (volume.get('persistentVolumeClaim') or {}).get('claimName')
                pvc = self.store.get_raw('persistentvolumeclaims', pod['metadata']['namespace'], claim) if claim else None
                pv_name = (pvc or {}).get('spec', {}).get('volumeName')
                pv = self.store.get_raw('persistentvolumes', '', pv_name) if pv_name else None
                volume_id = cinder_volume(pv) if pv else None
                if volume_id:
                    wanted[attachment_name(volume_id, node)] = (pv_name, volume_id, node)
        return wanted

    def sync(self):
        """Create missing VolumeAttachments, start detaching unneeded ones after ``detach_delay``. Returns changed."""
        changed = False
        wanted = self._wanted()
        existing = {va['metadata']['name']: va for va in self.store.list_raw('volumeattachments')}
        for name, (pv_name, volume_id, node) in wanted.items():
            self.unwanted_since.pop(name, None)
            if name in existing:
                # Real external-attacher: a failed attach is retried (with backoff).
                if (existing[name]['status'].get('attachError') and not existing[name]['metadata'].get('deletionTimestamp')
                        and time.monotonic() >= self.retry_at.get(name, 0)):
                    self._submit('attach', name, volume_id, node)
                continue
            self._add_pv_finalizer(pv_name)
            va = {'apiVersion': 'storage.k8s.io/v1', 'kind': 'VolumeAttachment',
                  'metadata': {'name': name, 'uid': util.new_uid(), 'creationTimestamp': util.now(), 'finalizers': [FINALIZER],
                               # emulator-only annotation: the volume id, for a detach after the PV is gone
                               'annotations': {'emulator.localcloud/volume-id': volume_id}},
                  'spec': {'attacher': ATTACHER, 'nodeName': node, 'source': {'persistentVolumeName': pv_name}},
                  'status': {'attached': False}}
            self.store.put('volumeattachments', va)
            self._submit('attach', name, volume_id, node)
            changed = True
        delay = float(self.emu.config.get('detach_delay', 0))
        for name, va in existing.items():
            if name in wanted or name in self.busy or time.monotonic() < self.retry_at.get(name, 0):
                continue
            since = self.unwanted_since.setdefault(name, time.monotonic())
            if time.monotonic() - since < delay:
                continue
            pv = self.store.get_raw('persistentvolumes', '', va['spec']['source'].get('persistentVolumeName', ''))
            volume_id = cinder_volume(pv) if pv else va['metadata'].get('annotations', {}).get('emulator.localcloud/volume-id')
            if not va['metadata'].get('deletionTimestamp'):
                va = copy.deepcopy(va)
                va['metadata']['deletionTimestamp'] = util.now()
                self.store.put('volumeattachments', va)
                changed = True
            self._submit('detach', name, volume_id, va['spec']['nodeName'])
        return changed

    def attached(self, pod):
        """'' when every Cinder volume of a scheduled pod is attached to its node, else why not (kubelet's wait)."""
        node = pod['spec'].get('nodeName')
        for volume in pod['spec'].get('volumes') or []:
            claim = (volume.get('persistentVolumeClaim') or {}).get('claimName')
            pvc = self.store.get_raw('persistentvolumeclaims', pod['metadata']['namespace'], claim) if claim else None
            pv_name = (pvc or {}).get('spec', {}).get('volumeName')
            pv = self.store.get_raw('persistentvolumes', '', pv_name) if pv_name else None
            volume_id = cinder_volume(pv) if pv else None
            if not volume_id:
                continue
            va = self.store.get_raw('volumeattachments', '', attachment_name(volume_id, node))
            if va is None or not va['status'].get('attached'):
                error = ((va or {}).get('status') or {}).get('attachError') or {}
                return (f'AttachVolume.Attach failed for volume "{pv_name}" : {error["message"]}' if error.get('message')
                        else f'AttachVolume.Attach pending for volume "{pv_name}"')
        return ''

    def _add_pv_finalizer(self, pv_name):
        pv = self.store.get_raw('persistentvolumes', '', pv_name)
        if pv is not None and FINALIZER not in (pv['metadata'].get('finalizers') or []) and not pv['metadata'].get('deletionTimestamp'):
            pv = copy.deepcopy(pv)
            pv['metadata'].setdefault('finalizers', []).append(FINALIZER)
            self.store.put('persistentvolumes', pv)

    # ------------------------------------------------------------ Cinder calls (worker thread)
    def _submit(self, action, name, volume_id, node):
        if name in self.busy:
            return
        self.busy.add(name)
        self.jobs.put((action, name, volume_id, node))

    def _work(self):
        while True:
            job = self.jobs.get()
            if job is None:
                return
            action, name, volume_id, node = job
            error = None
            try:
                if self.cinder is not None and volume_id:
                    if action == 'attach':
                        self.cinder.attach(volume_id, node)
                    else:
                        self.cinder.detach(volume_id, node)
            except (CinderError, OSError, KeyError, ValueError) as exc:
                error = str(exc)
                LOG.warning('%s of volume %s on %s failed: %s', action, volume_id, node, error)
            with self.store.lock:
                self.busy.discard(name)
                if error:
                    self.retry_at[name] = time.monotonic() + RETRY_SECONDS
                else:
                    self.retry_at.pop(name, None)
                self._finish(action, name, error)
            self.emu.controllers.kick.set()

    def _finish(self, action, name, error):
        va = self.store.get_raw('volumeattachments', '', name)
        if va is None:
            return
        va = copy.deepcopy(va)
        if action == 'attach':
            if error:
                va['status'] = {'attached': False, 'attachError': {'time': util.now(), 'message': error}}
            else:
                va['status'] = {'attached': True, 'attachmentMetadata': {'volume': name}}
            self.store.put('volumeattachments', va)
            return
        if error:
            va['status'] = dict(va['status'], detachError={'time': util.now(), 'message': error})
            self.store.put('volumeattachments', va)
            return  # retried at the next pass
        pv_name = va['spec']['source'].get('persistentVolumeName')
        self.store.remove('volumeattachments', va)
        self.unwanted_since.pop(name, None)
        others = [v for v in self.store.list_raw('volumeattachments') if v['spec']['source'].get('persistentVolumeName') == pv_name]
        pv = self.store.get_raw('persistentvolumes', '', pv_name or '')
        if pv is not None and not others and FINALIZER in (pv['metadata'].get('finalizers') or []):
            pv = copy.deepcopy(pv)
            pv['metadata']['finalizers'] = [f for f in pv['metadata']['finalizers'] if f != FINALIZER]
            if pv['metadata']['finalizers'] or not pv['metadata'].get('deletionTimestamp'):
                self.store.put('persistentvolumes', pv)
            else:
                self.store.remove('persistentvolumes', pv)

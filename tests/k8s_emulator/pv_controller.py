"""PV controller (kube-controller-manager's persistentvolume-controller): claim binding, volume phases, release and reclaim."""

import copy
import logging

from . import strategies, util
from .discovery import BY_NAME

LOG = logging.getLogger('k8s_emulator')

ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed'
ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller'
ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner'
ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner'


def claim_names(pod):
    """PVC names a pod mounts (spec.volumes[].persistentVolumeClaim.claimName)."""
    return [v['persistentVolumeClaim']['claimName'] for v in pod['spec'].get('volumes') or []
            if isinstance(v.get('persistentVolumeClaim'), dict) and v['persistentVolumeClaim'].get('claimName')]


def volume_identity(pv):
    """(driver, volume id) behind a PV: in-tree ``spec.cinder.volumeID`` or CSI ``spec.csi.driver``/``volumeHandle``."""
    spec = pv.get('spec') or {}
    if spec.get('cinder'):
        return 'kubernetes.io/cinder', spec['cinder'].get('volumeID')
    if spec.get('csi'):
        return spec['csi'].get('driver'), spec['csi'].get('volumeHandle')
    source = next((k for k in strategies.PV_SOURCES if spec.get(k) is not None), None)
    return source, None


def _quantity(value):
    try:
        return util.parse_quantity(value)[0]
    except (TypeError, ValueError):
        return 0


class PVController:
    """Mixin of Controllers (uses ``self.emu``, ``self.store``, ``self._put``, ``self.pending_hooks``)."""

    # ------------------------------------------------------------ PV controller: claims
    def _storage_class(self, name):
        return self.store.get_raw('storageclasses', '', name) if name else None

    def _claim_used_by_pod(self, pvc):
        ns, name = pvc['metadata']['namespace'], pvc['metadata']['name']
        return any(name in claim_names(p) for p in self.store.list_raw('pods', ns))

    def _sync_claims(self):
        changed = False
        for raw in self.store.list_raw('persistentvolumeclaims'):
            pvc = copy.deepcopy(raw)
            phase = pvc['status'].get('phase')
            volume_name = pvc['spec'].get('volumeName')
            if volume_name:
                pv = self.store.get_raw('persistentvolumes', '', volume_name)
                if phase == 'Bound':
                    ref = (pv or {}).get('spec', {}).get('claimRef') or {}
                    if pv is None or (ref.get('uid') and ref['uid'] != pvc['metadata']['uid']):
                        # Real: "ClaimLost"/"ClaimMisbound": a bound claim whose volume vanished or is bound elsewhere.
                        pvc['status']['phase'] = 'Lost'
                        self.emu.record_event(pvc, 'Warning', 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!')
                        changed = self._put('persistentvolumeclaims', pvc) or changed
                    continue
                if phase != 'Pending' or pv is None:
                    if pv is None and phase == 'Pending':
                        self.emu.record_event(pvc, 'Warning', 'FailedBinding', f'volume "{volume_name}" not found')
                    continue
                ref = pv['spec'].get('claimRef')
                if ref and not self._ref_matches(ref, pvc):
                    self.emu.record_event(pvc, 'Warning', 'FailedBinding', f'volume "{volume_name}" already bound to a different claim.')
                    continue
                mismatch = self._mismatch(pv, pvc)
                if mismatch:
                    self.emu.record_event(pvc, 'Warning', 'VolumeMismatch', f'Cannot bind to requested volume "{volume_name}": {mismatch}')
                    continue
                changed = self._bind(pvc, copy.deepcopy(pv), by_controller=False) or changed
                continue
            if phase != 'Pending' or pvc['metadata'].get('deletionTimestamp'):
                continue
            sc = self._storage_class(strategies.claim_class(pvc))
            if sc and sc.get('volumeBindingMode') == 'WaitForFirstConsumer' and not self._claim_used_by_pod(pvc):
                self.emu.record_event(pvc, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding')
                continue
            pv = self._find_volume(pvc)
            if pv is not None:
                changed = self._bind(pvc, copy.deepcopy(pv), by_controller=True) or changed
            elif sc:
                # Real: the claim is handed to the external provisioner; the emulator provisions nothing.
                anns = pvc['metadata'].setdefault('annotations', {})
                if anns.get(ANN_STORAGE_PROVISIONER) != sc['provisioner']:
                    anns[ANN_STORAGE_PROVISIONER] = sc['provisioner']
                    anns[ANN_BETA_STORAGE_PROVISIONER] = sc['provisioner']
                    changed = self._put('persistentvolumeclaims', pvc) or changed
                self.emu.record_event(pvc, 'Normal', 'ExternalProvisioning',
                                      f"Waiting for a volume to be created either by the external provisioner '{sc['provisioner']}' "
                                      'or manually by the system administrator. If volume creation is delayed, please verify that the '
                                      'provisioner is running and correctly registered.')
            else:
                self.emu.record_event(pvc, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set')
        return changed

    @staticmethod
    def _ref_matches(ref, pvc):
        meta = pvc['metadata']
        return ref.get('namespace') == meta['namespace'] and ref.get('name') == meta['name'] and ref.get('uid') in (None, '', meta['uid'])

    @staticmethod
    def _mismatch(pv, pvc):
        """Why a PV cannot satisfy a claim (checkVolumeSatisfyClaim), or ''."""
        pv_class, pvc_class = strategies.claim_class(pv), strategies.claim_class(pvc)
        if pv_class != pvc_class:
            return 'storageClassName does not match'
        request = ((pvc['spec'].get('resources') or {}).get('requests') or {}).get('storage')
        if _quantity((pv['spec'].get('capacity') or {}).get('storage')) < _quantity(request):
            return 'requested PV is too small'
        if not set(pvc['spec'].get('accessModes') or []) <= set(pv['spec'].get('accessModes') or []):
            return 'incompatible accessMode'
        if (pv['spec'].get('volumeMode') or 'Filesystem') != (pvc['spec'].get('volumeMode') or 'Filesystem'):
            return 'incompatible volumeMode'
        return ''

    def _find_volume(self, pvc):
        """A volume pre-bound to this claim, else the smallest Available matching volume (findBestMatchForClaim)."""
        from .selection import labels_match  # pylint: disable=import-outside-toplevel
        best, best_size = None, None
        selector = (pvc['spec'].get('selector') or {}).get('matchLabels') or {}
        for pv in self.store.list_raw('persistentvolumes'):
            if pv['metadata'].get('deletionTimestamp') or self._mismatch(pv, pvc):
                continue
            ref = pv['spec'].get('claimRef')
            if ref:
                if self._ref_matches(ref, pvc):
                    return pv
                continue
            if pv['status'].get('phase') != 'Available':
                continue
            if selector and not labels_match([(k, '=', {v}) for k, v in selector.items()], pv['metadata'].get('labels')):
                continue
            size = _quantity(pv['spec']['capacity'].get('storage'))
            if best is None or size < best_size:
                best, best_size = pv, size
        return best

    def _bind(self, pvc, pv, by_controller):
        meta = pvc['metadata']
        if not pv['spec'].get('claimRef'):
            pv['metadata'].setdefault('annotations', {})[ANN_BOUND_BY_CONTROLLER] = 'yes'
        pv['spec']['claimRef'] = {'kind': 'PersistentVolumeClaim', 'namespace': meta['namespace'], 'name': meta['name'],
                                  'uid': meta['uid'], 'apiVersion': 'v1', 'resourceVersion': meta['resourceVersion']}
        pv['status']['phase'] = 'Bound'
        pv['status']['lastPhaseTransitionTime'] = util.now()
        self._put('persistentvolumes', pv)
        anns = meta.setdefault('annotations', {})
        anns[ANN_BIND_COMPLETED] = 'yes'
        if by_controller:
            anns[ANN_BOUND_BY_CONTROLLER] = 'yes'
        pvc['spec']['volumeName'] = pv['metadata']['name']
        pvc['status'] = {'phase': 'Bound', 'accessModes': list(pv['spec'].get('accessModes') or []),
                         'capacity': dict(pv['spec'].get('capacity') or {})}
        return self._put('persistentvolumeclaims', pvc)

    # ------------------------------------------------------------ PV controller: volumes
    def _sync_volumes(self):
        changed = False
        for raw in self.store.list_raw('persistentvolumes'):
            pv = copy.deepcopy(raw)
            phase = pv['status'].get('phase')
            ref = pv['spec'].get('claimRef')
            if not ref or not ref.get('uid'):
                # Unclaimed, or pre-bound to a claim (by name) that has not been bound yet.
                if phase not in ('Available', 'Failed') or (phase == 'Failed' and not ref):
                    pv['status']['phase'] = 'Available'
                    pv['status']['lastPhaseTransitionTime'] = util.now()
                    changed = self._put('persistentvolumes', pv) or changed
                continue
            claim = self.store.get_raw('persistentvolumeclaims', ref.get('namespace', ''), ref.get('name', ''))
            if claim is None or claim['metadata']['uid'] != ref['uid']:
                changed = self._released(pv, phase) or changed
                continue
            if claim['spec'].get('volumeName') == pv['metadata']['name']:
                if phase != 'Bound':
                    pv['status']['phase'] = 'Bound'
                    pv['status']['lastPhaseTransitionTime'] = util.now()
                    changed = self._put('persistentvolumes', pv) or changed
            elif claim['spec'].get('volumeName') and (pv['metadata'].get('annotations') or {}).get(ANN_BOUND_BY_CONTROLLER):
                # The claim went to another volume: a controller-made claimRef is rolled back.
                del pv['spec']['claimRef']
                pv['status']['phase'] = 'Available'
                changed = self._put('persistentvolumes', pv) or changed
        return changed

    def _released(self, pv, phase):
        """The claim is gone (or replaced: different uid). Released PVs are never rebound until claimRef is cleared/rewritten."""
        if phase not in ('Released', 'Failed'):
            pv['status']['phase'] = 'Released'
            pv['status']['lastPhaseTransitionTime'] = util.now()
            self._put('persistentvolumes', pv)
            return True
        if phase == 'Failed' or pv['metadata'].get('deletionTimestamp'):
            return False
        policy = pv['spec'].get('persistentVolumeReclaimPolicy', 'Retain')
        if policy == 'Delete':
            driver, volume_id = volume_identity(pv)
            record = {'persistentVolume': pv['metadata']['name'], 'driver': driver, 'volumeID': volume_id, 'time': util.now()}
            self.emu.reclaimed.append(record)
            LOG.info('reclaim Delete: PV %s deleted; a real cluster would delete volume %s (%s)', pv['metadata']['name'], volume_id, driver)
            self.emu.record_event(pv, 'Normal', 'VolumeDelete',
                                  f'emulator: reclaimPolicy Delete; a real cluster deletes the backing volume {volume_id} ({driver}) now')
            self.pending_hooks.append(copy.deepcopy(pv))
            self.emu.registry.delete(BY_NAME['persistentvolumes'], '', pv['metadata']['name'], {})
            return True
        if policy == 'Recycle':
            pv['status']['phase'] = 'Failed'
            pv['status']['message'] = 'emulator: Recycle is not supported (deprecated upstream)'
            self.emu.record_event(pv, 'Warning', 'VolumeFailedRecycle', pv['status']['message'])
            self._put('persistentvolumes', pv)
            return True
        return False

"""Controllers: PVC/PV binding, release and reclaim, pod lifecycle, protection finalizers, namespace termination."""

import json

import pytest
from kubernetes.client.rest import ApiException

from .helpers import pod, pv, pvc, wait_for


def _phase(read, *args):
    return lambda: read(*args).status.phase


def _wait_phase(read, args, phase, timeout=5.0):
    return wait_for(lambda: read(*args).status.phase == phase and read(*args), timeout=timeout, message=f'{args} -> {phase}')


def _gone(read, *args):
    def check():
        try:
            read(*args)
        except ApiException as exc:
            return exc.status == 404
        return False
    return check


@pytest.mark.parametrize('csi', [True, False], ids=['csi', 'in-tree-cinder'])
def test_pvc_binds_to_matching_available_pv(core, csi):
    core.create_persistent_volume(pv('small', 'vol-small', size='1Gi', csi=csi))
    core.create_persistent_volume(pv('big', 'vol-big', size='5Gi', csi=csi))
    core.create_persistent_volume(pv('wrong-class', 'vol-x', size='2Gi', csi=csi, storage_class='gold'))
    core.create_namespaced_persistent_volume_claim('default', pvc('data', size='2Gi'))
    claim = _wait_phase(core.read_namespaced_persistent_volume_claim, ('data', 'default'), 'Bound')
    assert claim.spec.volume_name == 'big'  # smallest PV that satisfies 2Gi with the same (empty) class
    assert claim.status.capacity == {'storage': '5Gi'} and claim.status.access_modes == ['ReadWriteOnce']
    assert claim.metadata.annotations['pv.kubernetes.io/bind-completed'] == 'yes'
    volume = _wait_phase(core.read_persistent_volume, ('big',), 'Bound')
    ref = volume.spec.claim_ref
    assert (ref.kind, ref.namespace, ref.name, ref.uid, ref.api_version) == ('PersistentVolumeClaim', 'default', 'data', claim.metadata.uid, 'v1')
    assert ref.resource_version
    assert core.read_persistent_volume('small').status.phase == 'Available'


def test_pvc_with_volume_name_binds_to_that_pv(core):
    core.create_persistent_volume(pv('chosen', 'vol-c', size='10Gi'))
    core.create_persistent_volume(pv('decoy', 'vol-d', size='1Gi'))
    core.create_namespaced_persistent_volume_claim('default', pvc('pinned', volume_name='chosen'))
    claim = _wait_phase(core.read_namespaced_persistent_volume_claim, ('pinned', 'default'), 'Bound')
    assert claim.spec.volume_name == 'chosen'
    assert core.read_persistent_volume('decoy').status.phase == 'Available'


def test_pvc_without_matching_pv_stays_pending_with_provisioner_annotation(core):
    core.create_namespaced_persistent_volume_claim('default', pvc('lonely', storage_class=None))
    claim = wait_for(lambda: (core.read_namespaced_persistent_volume_claim('lonely', 'default').metadata.annotations or {})
                     .get('volume.kubernetes.io/storage-provisioner'), message='provisioner annotation')
    assert claim == 'cinder.csi.openstack.org'
    assert core.read_namespaced_persistent_volume_claim('lonely', 'default').status.phase == 'Pending'


def test_released_pv_is_not_rebound_until_claim_ref_is_cleared(core):
    core.create_persistent_volume(pv('keep', 'vol-keep', policy='Retain'))
    core.create_namespaced_persistent_volume_claim('default', pvc('old', volume_name='keep'))
    _wait_phase(core.read_namespaced_persistent_volume_claim, ('old', 'default'), 'Bound')
    core.delete_namespaced_persistent_volume_claim('old', 'default')
    wait_for(_gone(core.read_namespaced_persistent_volume_claim, 'old', 'default'), message='old PVC gone')
    released = _wait_phase(core.read_persistent_volume, ('keep',), 'Released')
    assert released.spec.claim_ref.name == 'old'
    # A new claim (same name even) asking for that PV is not bound: the claimRef still carries the old uid.
    core.create_namespaced_persistent_volume_claim('default', pvc('old', volume_name='keep'))
    wait_for(lambda: any(e.reason == 'FailedBinding' and e.involved_object.name == 'old'
                         for e in core.list_namespaced_event('default').items), message='FailedBinding event')
    assert core.read_namespaced_persistent_volume_claim('old', 'default').status.phase == 'Pending'
    assert core.read_persistent_volume('keep').status.phase == 'Released'
    # Clearing claimRef (what a restore must do) makes the PV Available and the claim binds.
    core.patch_persistent_volume('keep', {'spec': {'claimRef': None}})
    _wait_phase(core.read_namespaced_persistent_volume_claim, ('old', 'default'), 'Bound')
    assert core.read_persistent_volume('keep').status.phase == 'Bound'


def test_rewritten_claim_ref_prebinds_pv_to_new_claim(core):
    core.create_persistent_volume(pv('pre', 'vol-pre', claim_ref={'namespace': 'default', 'name': 'future'}))
    core.create_namespaced_persistent_volume_claim('default', pvc('someone-else'))
    assert _wait_phase(core.read_persistent_volume, ('pre',), 'Available').spec.claim_ref.name == 'future'
    core.create_namespaced_persistent_volume_claim('default', pvc('future'))
    claim = _wait_phase(core.read_namespaced_persistent_volume_claim, ('future', 'default'), 'Bound')
    assert claim.spec.volume_name == 'pre'
    assert core.read_namespaced_persistent_volume_claim('someone-else', 'default').status.phase == 'Pending'


def test_reclaim_delete_removes_pv_and_reports_volume_retain_keeps_it(core, emu, raw):
    deleted = []
    emu.hooks['on_pv_delete'] = deleted.append
    core.create_persistent_volume(pv('doomed', 'cinder-vol-1', policy='Delete'))
    core.create_persistent_volume(pv('kept', 'cinder-vol-2', policy='Retain', csi=False))
    core.create_namespaced_persistent_volume_claim('default', pvc('c1', volume_name='doomed'))
    core.create_namespaced_persistent_volume_claim('default', pvc('c2', volume_name='kept'))
    _wait_phase(core.read_namespaced_persistent_volume_claim, ('c1', 'default'), 'Bound')
    _wait_phase(core.read_namespaced_persistent_volume_claim, ('c2', 'default'), 'Bound')
    core.delete_namespaced_persistent_volume_claim('c1', 'default')
    core.delete_namespaced_persistent_volume_claim('c2', 'default')
    wait_for(_gone(core.read_persistent_volume, 'doomed'), message='Delete PV removed')
    assert _wait_phase(core.read_persistent_volume, ('kept',), 'Released').spec.cinder.volume_id == 'cinder-vol-2'
    wait_for(lambda: deleted, message='on_pv_delete hook')
    assert deleted[0]['spec']['csi']['volumeHandle'] == 'cinder-vol-1'
    status, state = raw.request('GET', '/emulator/state')
    assert status == 200 and [(r['persistentVolume'], r['volumeID']) for r in state['reclaimedVolumes']] == [('doomed', 'cinder-vol-1')]


def test_pod_pending_until_pvc_bound_then_running(core):
    core.create_namespaced_persistent_volume_claim('default', pvc('late'))
    core.create_namespaced_pod('default', pod('waiter', claims=['late']))
    message = wait_for(lambda: next((c.message for c in core.read_namespaced_pod('waiter', 'default').status.conditions or []
                                     if c.type == 'PodScheduled' and c.status == 'False'), None), message='Unschedulable condition')
    assert 'unbound immediate PersistentVolumeClaims' in message
    assert core.read_namespaced_pod('waiter', 'default').status.phase == 'Pending'
    core.create_persistent_volume(pv('late-pv', 'vol-late'))
    running = _wait_phase(core.read_namespaced_pod, ('waiter', 'default'), 'Running')
    assert running.spec.node_name == 'node-1' and running.status.pod_ip
    assert all(s.ready for s in running.status.container_statuses)
    assert {c.type for c in running.status.conditions if c.status == 'True'} >= {'PodScheduled', 'Ready', 'ContainersReady', 'Initialized'}


def test_pod_with_missing_pvc_stays_pending_with_event(core):
    core.create_namespaced_pod('default', pod('orphan', claims=['nope']))
    event = wait_for(lambda: next((e for e in core.list_namespaced_event('default', field_selector='involvedObject.name=orphan').items
                                   if e.reason == 'FailedScheduling'), None), message='FailedScheduling event')
    assert 'persistentvolumeclaim "nope" not found' in event.message and event.type == 'Warning'
    assert core.read_namespaced_pod('orphan', 'default').status.phase == 'Pending'


def test_failing_pod_switch(core):
    annotations = {'emulator.localcloud/fail': 'true', 'emulator.localcloud/fail-message': 'boom'}
    core.create_namespaced_pod('default', pod('bad', annotations=annotations))
    failed = _wait_phase(core.read_namespaced_pod, ('bad', 'default'), 'Failed')
    assert failed.status.message == 'boom' and failed.status.reason == 'Error'
    assert failed.status.container_statuses[0].state.terminated.exit_code == 1


def test_pod_on_unknown_node_never_runs(core, emu):
    manifest = pod('elsewhere')
    manifest['spec']['nodeName'] = 'old-node-7'
    core.create_namespaced_pod('default', manifest)
    emu.controllers.reconcile()
    emu.controllers.reconcile()
    assert core.read_namespaced_pod('elsewhere', 'default').status.phase == 'Pending'


def test_pvc_protection_finalizer_waits_for_pod(core):
    core.create_persistent_volume(pv('prot', 'vol-prot'))
    core.create_namespaced_persistent_volume_claim('default', pvc('used', volume_name='prot'))
    core.create_namespaced_pod('default', pod('user', claims=['used']))
    _wait_phase(core.read_namespaced_pod, ('user', 'default'), 'Running')
    core.delete_namespaced_persistent_volume_claim('used', 'default')
    claim = core.read_namespaced_persistent_volume_claim('used', 'default')
    assert claim.metadata.deletion_timestamp and claim.metadata.finalizers == ['kubernetes.io/pvc-protection']
    # The PV is protected while bound (and, being a Cinder volume attached to the pod's node, by the attacher).
    core.delete_persistent_volume('prot')
    assert core.read_persistent_volume('prot').metadata.finalizers == ['kubernetes.io/pv-protection',
                                                                      'external-attacher/cinder-csi-openstack-org']
    core.delete_namespaced_pod('user', 'default')
    wait_for(_gone(core.read_namespaced_pod, 'user', 'default'), message='pod gone')
    wait_for(_gone(core.read_namespaced_persistent_volume_claim, 'used', 'default'), message='PVC gone')
    wait_for(_gone(core.read_persistent_volume, 'prot'), message='PV gone once released')


def test_foreign_finalizer_keeps_object_until_removed(core):
    claim = pvc('held', storage_class='none')
    claim['metadata']['finalizers'] = ['example.com/hold']
    core.create_namespaced_persistent_volume_claim('default', claim)
    core.delete_namespaced_persistent_volume_claim('held', 'default')

    def only_foreign_finalizer_left():
        claim = core.read_namespaced_persistent_volume_claim('held', 'default')
        return claim.metadata.finalizers == ['example.com/hold'] and claim

    held = wait_for(only_foreign_finalizer_left, message='pvc-protection released')
    assert held.metadata.deletion_timestamp
    # Strategic merge unions finalizer lists (like the real server), so [] removes nothing...
    core.patch_namespaced_persistent_volume_claim('held', 'default', {'metadata': {'finalizers': []}})
    assert core.read_namespaced_persistent_volume_claim('held', 'default').metadata.finalizers == ['example.com/hold']
    # ...while null does.
    core.patch_namespaced_persistent_volume_claim('held', 'default', {'metadata': {'finalizers': None}})
    wait_for(_gone(core.read_namespaced_persistent_volume_claim, 'held', 'default'), message='PVC gone')


def test_namespace_deletion_terminates_then_removes_contents(core, emu):
    core.create_namespace({'metadata': {'name': 'doomed'}})
    core.create_namespaced_persistent_volume_claim('doomed', pvc('x', storage_class='none'))
    core.create_namespaced_pod('doomed', pod('p'))
    emu.config['paused'] = True  # freeze the namespace controller to look at the Terminating state
    answer = core.delete_namespace('doomed')
    assert answer['kind'] == 'Namespace' and answer['status']['phase'] == 'Terminating'
    assert core.read_namespace('doomed').metadata.deletion_timestamp
    with pytest.raises(ApiException) as info:
        core.create_namespaced_pod('doomed', pod('late'))
    assert info.value.status == 403 and 'because it is being terminated' in json.loads(info.value.body)['message']
    emu.config['paused'] = False
    wait_for(_gone(core.read_namespace, 'doomed'), message='namespace gone')
    assert core.list_namespaced_pod('doomed').items == []


def test_default_namespace_cannot_be_deleted(core):
    with pytest.raises(ApiException) as info:
        core.delete_namespace('default')
    assert info.value.status == 403


def test_pod_graceful_delete_sets_deletion_timestamp(core):
    core.create_namespaced_pod('default', pod('grace'))
    _wait_phase(core.read_namespaced_pod, ('grace', 'default'), 'Running')
    answer = core.delete_namespaced_pod('grace', 'default')
    assert answer.metadata.deletion_timestamp and answer.metadata.deletion_grace_period_seconds == 30
    wait_for(_gone(core.read_namespaced_pod, 'grace', 'default'), message='pod gone')

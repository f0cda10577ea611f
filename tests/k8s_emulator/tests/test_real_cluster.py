"""Real-cluster behaviours restore code trips over: attach/detach, ServiceAccount admission, ephemeral containers and
the legacy storage-class annotation."""

import pytest
from kubernetes.client.rest import ApiException

from .helpers import pod, pv, pvc, status_body, wait_for

ATTACHER_FINALIZER = 'external-attacher/cinder-csi-openstack-org'


def _get(call, *args):
    try:
        return call(*args)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def test_service_account_admission_and_late_default_account(emu, core):
    emu.config['service_account_delay'] = 1.0
    core.create_namespace({'metadata': {'name': 'fresh'}})
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod('fresh', pod('early'))
    body = status_body(refused.value)
    assert refused.value.status == 403 and body['reason'] == 'Forbidden'
    assert body['message'] == ('pods "early" is forbidden: error looking up service account fresh/default: '
                               'serviceaccount "default" not found')
    wait_for(lambda: _get(core.read_namespaced_service_account, 'default', 'fresh'), message='default account')
    core.create_namespaced_pod('fresh', pod('late'))
    other = pod('robot')
    other['spec']['serviceAccountName'] = 'robot'
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_pod('fresh', other)
    assert missing.value.status == 403 and 'serviceaccount "robot" not found' in status_body(missing.value)['message']
    core.create_namespaced_service_account('fresh', {'metadata': {'name': 'robot'}})
    assert core.create_namespaced_pod('fresh', other).spec.service_account_name == 'robot'


def test_ephemeral_containers_only_through_the_subresource(emu, core):
    debugged = pod('debugged')
    debugged['spec']['ephemeralContainers'] = [{'name': 'debugger', 'image': 'busybox', 'targetContainerName': 'app'}]
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod('default', debugged)
    body = status_body(refused.value)
    assert refused.value.status == 422
    assert body['message'] == 'Pod "debugged" is invalid: spec.ephemeralContainers: Forbidden: cannot be set on create'
    del debugged['spec']['ephemeralContainers']
    core.create_namespaced_pod('default', debugged)
    wait_for(lambda: core.read_namespaced_pod('debugged', 'default').status.phase == 'Running', message='Running')
    core.patch_namespaced_pod_ephemeralcontainers('debugged', 'default', {'spec': {'ephemeralContainers': [
        {'name': 'debugger', 'image': 'busybox', 'targetContainerName': 'app'}]}})
    live = wait_for(lambda: (lambda p: p if p.status.ephemeral_container_statuses else None)(
        core.read_namespaced_pod('debugged', 'default')), message='ephemeral container status')
    assert [c.name for c in live.spec.ephemeral_containers] == ['debugger']
    assert live.status.ephemeral_container_statuses[0].state.running


def test_legacy_class_annotation_wins_over_spec(emu, core, storage):
    storage.create_storage_class({'metadata': {'name': 'legacy'}, 'provisioner': 'cinder.csi.openstack.org'})
    core.create_persistent_volume(pv('legacy-pv', 'vol-legacy', storage_class='legacy'))
    claim = pvc('annotated', storage_class=None)
    claim['metadata']['annotations'] = {'volume.beta.kubernetes.io/storage-class': 'legacy'}
    created = core.create_namespaced_persistent_volume_claim('default', claim)
    assert created.spec.storage_class_name is None  # no default class: the annotation names one
    wait_for(lambda: core.read_namespaced_persistent_volume_claim('annotated', 'default').status.phase == 'Bound',
             message='annotated claim Bound')
    # without the annotation the default class is assigned and the legacy PV does not match
    core.create_persistent_volume(pv('legacy-pv2', 'vol-legacy2', storage_class='legacy'))
    plain = core.create_namespaced_persistent_volume_claim('default', pvc('plain', storage_class=None, volume_name='legacy-pv2'))
    assert plain.spec.storage_class_name == 'csi-cinder-sc'
    wait_for(lambda: [e for e in core.list_namespaced_event('default').items
                      if e.involved_object.name == 'plain' and e.reason == 'VolumeMismatch'], message='VolumeMismatch')
    assert core.read_namespaced_persistent_volume_claim('plain', 'default').status.phase == 'Pending'


def test_attach_then_detach_after_the_pod_is_gone(emu, core, storage):
    emu.config['detach_delay'] = 1.0
    core.create_persistent_volume(pv('att', 'vol-att'))
    core.create_namespaced_persistent_volume_claim('default', pvc('att', volume_name='att'))
    core.create_namespaced_pod('default', pod('user', claims=['att']))
    wait_for(lambda: core.read_namespaced_pod('user', 'default').status.phase == 'Running', message='Running')
    (attachment,) = storage.list_volume_attachment().items
    assert attachment.status.attached and attachment.spec.node_name == 'node-1'
    assert attachment.spec.attacher == 'cinder.csi.openstack.org'
    assert attachment.spec.source.persistent_volume_name == 'att' and attachment.metadata.name.startswith('csi-')
    assert ATTACHER_FINALIZER in core.read_persistent_volume('att').metadata.finalizers
    core.delete_namespaced_pod('user', 'default')
    wait_for(lambda: _get(core.read_namespaced_pod, 'user', 'default') is None, message='pod gone')
    # still attached right after the pod is gone
    assert storage.list_volume_attachment().items
    wait_for(lambda: not storage.list_volume_attachment().items, timeout=10, message='detached')
    assert ATTACHER_FINALIZER not in (core.read_persistent_volume('att').metadata.finalizers or [])


def test_pod_waits_for_a_failed_attach(emu, core, storage):
    class Refusing:
        def attach(self, volume_id, node):
            from k8s_emulator.cinder import CinderError  # pylint: disable=import-outside-toplevel
            raise CinderError('volume %s could not be found' % volume_id)

        def detach(self, volume_id, node):
            return None

    emu.attacher.cinder = Refusing()
    try:
        core.create_persistent_volume(pv('bad', 'vol-bad'))
        core.create_namespaced_persistent_volume_claim('default', pvc('bad', volume_name='bad'))
        core.create_namespaced_pod('default', pod('stuck', claims=['bad']))
        wait_for(lambda: [e for e in core.list_namespaced_event('default').items
                          if e.involved_object.name == 'stuck' and e.reason == 'FailedAttachVolume'
                          and 'could not be found' in e.message], message='FailedAttachVolume')
        assert core.read_namespaced_pod('stuck', 'default').status.phase == 'Pending'
        (attachment,) = storage.list_volume_attachment().items
        assert not attachment.status.attached and 'vol-bad' in attachment.status.attach_error.message
    finally:
        emu.attacher.cinder = None

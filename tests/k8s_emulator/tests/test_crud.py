"""CRUD, metadata, errors and selectors through CoreV1Api, StorageV1Api, the DynamicClient and raw HTTP."""

import json

import pytest
from kubernetes.client.rest import ApiException

from .helpers import pod, pv, pvc, status_body, wait_for


def test_pod_create_get_list_delete(core):
    created = core.create_namespaced_pod('default', pod('web'))
    meta = created.metadata
    assert meta.namespace == 'default' and meta.uid and meta.resource_version.isdigit() and meta.creation_timestamp
    assert created.status.phase == 'Pending'
    fetched = core.read_namespaced_pod('web', 'default')
    assert fetched.metadata.uid == meta.uid
    listed = core.list_namespaced_pod('default')
    assert [p.metadata.name for p in listed.items] == ['web']
    assert int(listed.metadata.resource_version) >= int(meta.resource_version)
    deleted = core.delete_namespaced_pod('web', 'default', grace_period_seconds=0)
    assert deleted.metadata.name == 'web'
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod('web', 'default')
    assert info.value.status == 404


def test_server_defaults_and_admission_on_pods(core):
    created = core.create_namespaced_pod('default', pod('defaults', image='nginx'))
    spec = created.spec
    assert spec.restart_policy == 'Always' and spec.dns_policy == 'ClusterFirst' and spec.service_account_name == 'default'
    assert spec.containers[0].image_pull_policy == 'Always'  # untagged image
    assert any(v.name.startswith('kube-api-access-') for v in spec.volumes)
    assert {t.key for t in spec.tolerations} == {'node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'}
    assert created.metadata.managed_fields and created.metadata.managed_fields[0].manager


def test_list_items_have_no_kind_but_get_has(raw, core):
    core.create_namespaced_pod('default', pod('kindless'))
    status, listed = raw.request('GET', '/api/v1/namespaces/default/pods')
    assert status == 200 and listed['kind'] == 'PodList' and listed['apiVersion'] == 'v1' and listed['metadata']['resourceVersion']
    assert 'kind' not in listed['items'][0] and 'apiVersion' not in listed['items'][0]
    status, single = raw.request('GET', '/api/v1/namespaces/default/pods/kindless')
    assert single['kind'] == 'Pod' and single['apiVersion'] == 'v1'


def test_resource_version_is_a_global_increasing_counter(core):
    first = core.create_namespaced_persistent_volume_claim('default', pvc('a'))
    second = core.create_persistent_volume(pv('pv-a', 'vol-a'))
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)


def test_create_with_resource_version_fails_like_the_real_server(raw):
    manifest = pod('stale')
    manifest['metadata']['resourceVersion'] = '12'
    status, body = raw.request('POST', '/api/v1/namespaces/default/pods', manifest)
    assert status == 500
    assert body['message'] == 'resourceVersion should not be set on objects to be created' and 'reason' not in body


def test_update_with_stale_resource_version_conflicts(core, emu):
    emu.config['paused'] = True  # no controller writes between our read and our replace
    created = core.create_namespaced_pod('default', pod('conflict'))
    fresh = core.read_namespaced_pod('conflict', 'default')
    fresh.metadata.labels = {'a': 'b'}
    core.replace_namespaced_pod('conflict', 'default', fresh)
    created.metadata.labels = {'a': 'c'}
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_pod('conflict', 'default', created)
    body = status_body(info.value)
    assert info.value.status == 409 and body['reason'] == 'Conflict'
    assert body['message'].startswith('Operation cannot be fulfilled on pods "conflict": the object has been modified')


def test_not_found_and_already_exists_bodies(raw, core):
    status, body = raw.request('GET', '/api/v1/namespaces/default/pods/x')
    assert status == 404
    assert body == {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'message': 'pods "x" not found',
                    'reason': 'NotFound', 'details': {'name': 'x', 'kind': 'pods'}, 'code': 404}
    core.create_namespaced_pod('default', pod('dup'))
    with pytest.raises(ApiException) as info:
        core.create_namespaced_pod('default', pod('dup'))
    assert info.value.status == 409
    assert status_body(info.value)['reason'] == 'AlreadyExists'
    assert status_body(info.value)['message'] == 'pods "dup" already exists'


def test_storage_class_not_found_message_is_group_qualified(storage):
    with pytest.raises(ApiException) as info:
        storage.read_storage_class('nope')
    assert status_body(info.value)['message'] == 'storageclasses.storage.k8s.io "nope" not found'


def test_missing_namespace_is_404(core):
    with pytest.raises(ApiException) as info:
        core.create_namespaced_pod('ghost', pod('p'))
    body = status_body(info.value)
    assert info.value.status == 404 and body['message'] == 'namespaces "ghost" not found' and body['details']['kind'] == 'namespaces'


def test_invalid_name_is_422_with_causes(core):
    with pytest.raises(ApiException) as info:
        core.create_namespaced_persistent_volume_claim('default', pvc('Bad_Name'))
    body = status_body(info.value)
    assert info.value.status == 422 and body['reason'] == 'Invalid'
    assert body['message'].startswith('PersistentVolumeClaim "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
                                      'a lowercase RFC 1123 subdomain')
    assert body['details']['kind'] == 'PersistentVolumeClaim' and body['details']['causes'][0]['field'] == 'metadata.name'


def test_pod_validation_mount_must_name_a_volume(core):
    manifest = pod('badmount')
    manifest['spec']['containers'][0]['volumeMounts'] = [{'name': 'data', 'mountPath': '/data'}]
    with pytest.raises(ApiException) as info:
        core.create_namespaced_pod('default', manifest)
    causes = status_body(info.value)['details']['causes']
    assert {'reason': 'FieldValueNotFound', 'message': 'Not found: "data"', 'field': 'spec.containers[0].volumeMounts[0].name'} in causes


def test_generate_name_gets_a_five_character_suffix(core):
    manifest = pod('ignored')
    manifest['metadata'] = {'generateName': 'restore-'}
    created = core.create_namespaced_pod('default', manifest)
    name = created.metadata.name
    assert name.startswith('restore-') and len(name) == len('restore-') + 5
    assert created.metadata.generate_name == 'restore-'


def test_pod_spec_is_immutable_except_image(core):
    core.create_namespaced_pod('default', pod('frozen'))
    wait_for(lambda: core.read_namespaced_pod('frozen', 'default').status.phase == 'Running', message='pod Running')
    current = core.read_namespaced_pod('frozen', 'default')
    current.spec.containers[0].image = 'busybox:1.37'
    updated = core.replace_namespaced_pod('frozen', 'default', current)
    assert updated.spec.containers[0].image == 'busybox:1.37'
    with pytest.raises(ApiException) as info:
        core.patch_namespaced_pod('frozen', 'default', {'spec': {'containers': [{'name': 'app', 'command': ['true']}]}})
    body = status_body(info.value)
    assert info.value.status == 422
    assert body['message'].startswith('Pod "frozen" is invalid: spec: Forbidden: pod updates may not change fields other than '
                                      '`spec.containers[*].image`')
    assert body['details']['causes'][0]['reason'] == 'FieldValueForbidden'


def test_strategic_merge_patch_merges_containers_by_name_and_merge_patch_replaces_lists(core, raw):
    core.create_namespaced_pod('default', pod('smp', labels={'keep': 'yes'}))
    patched = core.patch_namespaced_pod('smp', 'default', {'metadata': {'labels': {'extra': '1'}},
                                                           'spec': {'containers': [{'name': 'app', 'image': 'busybox:1.37'}]}})
    assert patched.metadata.labels == {'keep': 'yes', 'extra': '1'}
    assert patched.spec.containers[0].image == 'busybox:1.37' and patched.spec.containers[0].command == ['sleep', '3600']
    status, body = raw.request('PATCH', '/api/v1/namespaces/default/pods/smp', {'metadata': {'labels': {'keep': None}}},
                               content_type='application/merge-patch+json')
    assert status == 200 and body['metadata']['labels'] == {'extra': '1'}
    status, body = raw.request('PATCH', '/api/v1/namespaces/default/pods/smp',
                               [{'op': 'add', 'path': '/metadata/annotations', 'value': {'x': 'y'}}],
                               content_type='application/json-patch+json')
    assert status == 200 and body['metadata']['annotations'] == {'x': 'y'}
    status, body = raw.request('PATCH', '/api/v1/namespaces/default/pods/smp', {'a': 1}, content_type='text/plain')
    assert status == 415


def test_status_subresource_only_changes_status(core, raw):
    core.create_namespaced_persistent_volume_claim('default', pvc('st', storage_class='none'))
    current = core.read_namespaced_persistent_volume_claim('st', 'default')
    # Main resource: status changes are ignored.
    status, body = raw.request('PATCH', '/api/v1/namespaces/default/persistentvolumeclaims/st', {'status': {'phase': 'Lost'},
                               'metadata': {'labels': {'a': 'b'}}}, content_type='application/merge-patch+json')
    assert status == 200 and body['status']['phase'] == 'Pending' and body['metadata']['labels'] == {'a': 'b'}
    # /status: only status changes.
    status, body = raw.request('PATCH', '/api/v1/namespaces/default/persistentvolumeclaims/st/status',
                               {'status': {'conditions': [{'type': 'Resizing', 'status': 'True'}]}, 'metadata': {'labels': {'a': 'z'}}},
                               content_type='application/merge-patch+json')
    assert status == 200 and body['status']['conditions'][0]['type'] == 'Resizing' and body['metadata']['labels'] == {'a': 'b'}
    assert int(body['metadata']['resourceVersion']) > int(current.metadata.resource_version)


def test_pv_source_and_pvc_spec_are_immutable(core):
    core.create_persistent_volume(pv('imm', 'vol-1'))
    with pytest.raises(ApiException) as info:
        core.patch_persistent_volume('imm', {'spec': {'csi': {'volumeHandle': 'vol-2'}}})
    body = status_body(info.value)
    assert info.value.status == 422 and 'spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation' in body['message']
    core.create_namespaced_persistent_volume_claim('default', pvc('immc', storage_class='none'))
    with pytest.raises(ApiException) as info:
        core.patch_namespaced_persistent_volume_claim('immc', 'default', {'spec': {'accessModes': ['ReadWriteMany']}})
    assert info.value.status == 422 and 'spec is immutable after creation' in status_body(info.value)['message']


def test_label_and_field_selectors(core):
    core.create_namespaced_pod('default', pod('a', labels={'app': 'db', 'tier': 'back'}))
    core.create_namespaced_pod('default', pod('b', labels={'app': 'web'}))
    core.create_namespaced_pod('default', pod('c', labels={'app': 'cache', 'tier': 'back'}))

    def names(**kwargs):
        return sorted(p.metadata.name for p in core.list_namespaced_pod('default', **kwargs).items)

    assert names(label_selector='app=db') == ['a']
    assert names(label_selector='app==web') == ['b']
    assert names(label_selector='app!=db') == ['b', 'c']
    assert names(label_selector='app in (db,cache)') == ['a', 'c']
    assert names(label_selector='app notin (db,cache)') == ['b']
    assert names(label_selector='tier') == ['a', 'c']
    assert names(label_selector='!tier') == ['b']
    assert names(label_selector='tier=back,app!=cache') == ['a']
    assert names(field_selector='metadata.name=b') == ['b']
    assert names(field_selector='metadata.name!=b') == ['a', 'c']
    assert names(field_selector='status.phase=Pending') == ['a', 'b', 'c'] or names(field_selector='status.phase=Running')
    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod('default', field_selector='spec.bogus=1')
    assert info.value.status == 400 and 'field label not supported: spec.bogus' in status_body(info.value)['message']


def test_limit_and_continue(core):
    for i in range(5):
        core.create_namespaced_persistent_volume_claim('default', pvc(f'page-{i}', storage_class='none'))
    first = core.list_namespaced_persistent_volume_claim('default', limit=2)
    assert [p.metadata.name for p in first.items] == ['page-0', 'page-1'] and first.metadata.remaining_item_count == 3
    second = core.list_namespaced_persistent_volume_claim('default', limit=2, _continue=first.metadata._continue)  # pylint: disable=protected-access
    assert [p.metadata.name for p in second.items] == ['page-2', 'page-3']


def test_all_namespaces_list_and_namespace_body_mismatch(core, raw):
    core.create_namespace({'metadata': {'name': 'other'}})
    core.create_namespaced_pod('other', pod('p1'))
    core.create_namespaced_pod('default', pod('p2'))
    assert sorted(p.metadata.name for p in core.list_pod_for_all_namespaces().items) == ['p1', 'p2']
    manifest = pod('p3')
    manifest['metadata']['namespace'] = 'other'
    status, body = raw.request('POST', '/api/v1/namespaces/default/pods', manifest)
    assert status == 400 and body['reason'] == 'BadRequest'


def test_dynamic_client_crud_and_list_items(dyn):
    pvcs = dyn.resources.get(api_version='v1', kind='PersistentVolumeClaim')
    created = pvcs.create(body=pvc('dyn', storage_class='none'), namespace='default')
    assert created.kind == 'PersistentVolumeClaim' and created.metadata.finalizers == ['kubernetes.io/pvc-protection']
    patched = pvcs.patch(body={'metadata': {'name': 'dyn', 'labels': {'x': '1'}}}, namespace='default',
                         content_type='application/merge-patch+json')
    assert patched.metadata.labels.x == '1'
    wire = json.loads(pvcs.get(namespace='default', serialize=False).data)
    assert wire['kind'] == 'PersistentVolumeClaimList' and 'kind' not in wire['items'][0]  # the server sends none...
    listed = pvcs.get(namespace='default')
    assert listed.items[0].kind == 'PersistentVolumeClaim'  # ...the DynamicClient fills them in client-side
    item = listed.to_dict()['items'][0]
    item['metadata']['annotations'] = {'a': 'b'}
    replaced = pvcs.replace(body=item, namespace='default')
    assert replaced.metadata.annotations.a == 'b'
    with pytest.raises(Exception) as info:
        pvcs.get(name='missing', namespace='default')
    assert getattr(info.value, 'status', None) == 404


def test_storage_class_crud_and_immutability(storage):
    created = storage.create_storage_class({'metadata': {'name': 'fast'}, 'provisioner': 'cinder.csi.openstack.org',
                                            'parameters': {'type': 'ssd'}})
    assert created.reclaim_policy == 'Delete' and created.volume_binding_mode == 'Immediate'
    with pytest.raises(ApiException) as info:
        storage.patch_storage_class('fast', {'parameters': {'type': 'hdd'}})
    assert info.value.status == 422 and 'parameters: Forbidden: updates to parameters are forbidden.' in status_body(info.value)['message']
    assert storage.delete_storage_class('fast').metadata.name == 'fast'
    assert [s.metadata.name for s in storage.list_storage_class().items] == ['csi-cinder-sc']


def test_default_storage_class_is_assigned_only_when_field_absent(core):
    assert core.create_namespaced_persistent_volume_claim('default', pvc('dflt', storage_class=None)).spec.storage_class_name == 'csi-cinder-sc'
    assert core.create_namespaced_persistent_volume_claim('default', pvc('empty', storage_class='')).spec.storage_class_name in ('', None)


def test_quantities_are_canonicalised(core):
    created = core.create_namespaced_persistent_volume_claim('default', pvc('canon', size='1024Mi', storage_class='none'))
    assert created.spec.resources.requests['storage'] == '1Gi'


def test_server_side_apply_creates_then_updates(dyn):
    pods = dyn.resources.get(api_version='v1', kind='Pod')
    body = pod('applied')
    created = pods.server_side_apply(body=body, namespace='default', field_manager='restore')
    assert created.metadata.name == 'applied' and created.metadata.managedFields[0].manager == 'restore'
    body['metadata']['labels'] = {'v': '2'}
    updated = pods.server_side_apply(body=body, namespace='default', field_manager='restore')
    assert updated.metadata.labels.v == '2' and updated.metadata.uid == created.metadata.uid


def test_noop_update_keeps_resource_version(core, emu):
    emu.config['paused'] = True
    created = core.create_namespaced_persistent_volume_claim('default', pvc('same', storage_class='none'))
    again = core.patch_namespaced_persistent_volume_claim('same', 'default', {'metadata': {'labels': None}})
    assert again.metadata.resource_version == created.metadata.resource_version

"""Applications: Deployments/ReplicaSets/StatefulSets/DaemonSets, Services/Endpoints, Secrets/ConfigMaps, garbage collection."""

import base64
import ipaddress
import time

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from .helpers import pv, pvc, status_body, wait_for

NS = 'default'


@pytest.fixture()
def apps(api_client):
    """AppsV1Api."""
    return client.AppsV1Api(api_client)


def _template(labels, **spec):
    return {'metadata': {'labels': labels}, 'spec': dict({'containers': [{'name': 'app', 'image': 'nginx:1.27'}]}, **spec)}


def deployment(name, replicas=2, labels=None, selector=None, **spec):
    labels = labels or {'app': name}
    return {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': name},
            'spec': {'replicas': replicas, 'selector': {'matchLabels': selector or labels}, 'template': _template(labels, **spec)}}


def statefulset(name, replicas=2, claim_class=''):
    labels = {'app': name}
    template = _template(labels)
    template['spec']['containers'][0]['volumeMounts'] = [{'name': 'data', 'mountPath': '/data'}]
    return {'apiVersion': 'apps/v1', 'kind': 'StatefulSet', 'metadata': {'name': name},
            'spec': {'replicas': replicas, 'serviceName': name, 'selector': {'matchLabels': labels}, 'template': template,
                     'volumeClaimTemplates': [{'metadata': {'name': 'data', 'labels': {'tier': 'db'}},
                                               'spec': {'accessModes': ['ReadWriteOnce'], 'storageClassName': claim_class,
                                                        'resources': {'requests': {'storage': '1Gi'}}}}]}}


def _pods(core, selector):
    return [p for p in core.list_namespaced_pod(NS, label_selector=selector).items if not p.metadata.deletion_timestamp]


def _running(core, selector, count):
    return wait_for(lambda: (lambda pods: len(pods) == count and all(p.status.phase == 'Running' for p in pods) and pods)(
        _pods(core, selector)), timeout=10, message=f'{count} running pods {selector}')


def _gone(read, *args):
    try:
        read(*args)
    except ApiException as exc:
        return exc.status == 404
    return False


def _refused(call, *args, **kwargs):
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)
    return info.value.status, status_body(info.value)


def test_discovery_lists_workload_and_config_resources(raw, dyn):
    status, body = raw.request('GET', '/apis/apps/v1')
    assert status == 200 and body['groupVersion'] == 'apps/v1'
    by_name = {r['name']: r for r in body['resources']}
    assert by_name['deployments']['shortNames'] == ['deploy'] and by_name['deployments']['categories'] == ['all']
    assert by_name['statefulsets']['shortNames'] == ['sts'] and 'daemonsets/status' in by_name
    assert by_name['deployments/scale']['kind'] == 'Scale' and by_name['deployments/scale']['group'] == 'autoscaling'
    assert any(g['name'] == 'apps' for g in raw.request('GET', '/apis')[1]['groups'])
    core = {r['name']: r for r in raw.request('GET', '/api/v1')[1]['resources']}
    assert core['configmaps']['shortNames'] == ['cm'] and core['services']['shortNames'] == ['svc'] and 'services/status' in core
    assert core['endpoints']['shortNames'] == ['ep'] and 'secrets' in core and 'secrets/status' not in core
    assert dyn.resources.get(api_version='apps/v1', kind='Deployment').namespaced is True
    assert dyn.resources.get(api_version='v1', kind='Secret').name == 'secrets'


def test_deployment_runs_replicaset_and_pods_and_scales(apps, core):
    apps.create_namespaced_deployment(NS, deployment('web', replicas=3))
    pods = _running(core, 'app=web', 3)
    done = wait_for(lambda: (lambda d: d.status.available_replicas == 3 and d)(apps.read_namespaced_deployment('web', NS)),
                    message='availableReplicas 3')
    assert done.metadata.generation == 1 and done.status.observed_generation == 1
    assert done.spec.strategy.type == 'RollingUpdate' and done.spec.strategy.rolling_update.max_surge == '25%'
    assert done.spec.revision_history_limit == 10 and done.spec.progress_deadline_seconds == 600
    assert done.metadata.annotations['deployment.kubernetes.io/revision'] == '1'
    assert {c.type: c.status for c in done.status.conditions} == {'Available': 'True', 'Progressing': 'True'}
    [rs] = apps.list_namespaced_replica_set(NS).items
    pod_hash = rs.metadata.labels['pod-template-hash']
    assert rs.metadata.name == f'web-{pod_hash}' and set(pod_hash) <= set('bcdf456789') and 8 <= len(pod_hash) <= 10
    ref = rs.metadata.owner_references[0]
    assert (ref.kind, ref.name, ref.uid, ref.controller, ref.block_owner_deletion) == ('Deployment', 'web', done.metadata.uid, True, True)
    assert rs.spec.selector.match_labels == {'app': 'web', 'pod-template-hash': pod_hash}
    for pod in pods:
        assert pod.metadata.name.startswith(f'web-{pod_hash}-') and len(pod.metadata.name) == len(f'web-{pod_hash}-') + 5
        assert pod.metadata.owner_references[0].kind == 'ReplicaSet' and pod.metadata.owner_references[0].uid == rs.metadata.uid
        assert pod.spec.service_account_name == 'default'  # went through the pod admission
    apps.patch_namespaced_deployment('web', NS, {'spec': {'replicas': 1}})
    _running(core, 'app=web', 1)
    assert apps.read_namespaced_deployment('web', NS).metadata.generation == 2
    scale = apps.patch_namespaced_deployment_scale('web', NS, {'spec': {'replicas': 2}})
    assert scale.spec.replicas == 2 and scale.status.selector == 'app=web'
    _running(core, 'app=web', 2)


def test_template_change_makes_a_new_replicaset(apps, core):
    apps.create_namespaced_deployment(NS, deployment('roll', replicas=1))
    [first] = _running(core, 'app=roll', 1)
    apps.patch_namespaced_deployment('roll', NS, {'spec': {'template': {'spec': {'containers': [{'name': 'app', 'image': 'nginx:1.28'}]}}}})
    [second] = wait_for(lambda: (lambda p: len(p) == 1 and p[0].spec.containers[0].image == 'nginx:1.28' and p[0].status.phase == 'Running'
                                 and p)(_pods(core, 'app=roll')), timeout=10, message='new pod')
    assert second.metadata.labels['pod-template-hash'] != first.metadata.labels['pod-template-hash']
    sets = {rs.metadata.annotations['deployment.kubernetes.io/revision']: rs.spec.replicas for rs in apps.list_namespaced_replica_set(NS).items}
    assert sets == {'1': 0, '2': 1}
    assert apps.read_namespaced_deployment('roll', NS).metadata.annotations['deployment.kubernetes.io/revision'] == '2'


def test_deleting_a_deployment_removes_replicaset_and_pods(apps, core):
    apps.create_namespaced_deployment(NS, deployment('gone', replicas=2))
    _running(core, 'app=gone', 2)
    apps.delete_namespaced_deployment('gone', NS)
    wait_for(lambda: not apps.list_namespaced_replica_set(NS).items, message='ReplicaSet collected')
    wait_for(lambda: not core.list_namespaced_pod(NS, label_selector='app=gone').items, timeout=10, message='pods collected')


def test_orphan_deletion_keeps_pods_without_owner_references(apps, core):
    body = deployment('orph', replicas=2)
    body['kind'] = 'ReplicaSet'
    apps.create_namespaced_replica_set(NS, body)
    _running(core, 'app=orph', 2)
    apps.delete_namespaced_replica_set('orph', NS, propagation_policy='Orphan')
    wait_for(lambda: _gone(apps.read_namespaced_replica_set, 'orph', NS), message='ReplicaSet gone')
    time.sleep(0.3)
    pods = _pods(core, 'app=orph')
    assert len(pods) == 2 and all(not p.metadata.owner_references for p in pods)


def test_dangling_owner_reference_is_garbage_collected(core):
    """A restored pod that still names its old (gone) owner is deleted by the garbage collector, as on a real cluster."""
    core.create_namespaced_pod(NS, {'metadata': {'name': 'restored', 'ownerReferences': [
        {'apiVersion': 'apps/v1', 'kind': 'ReplicaSet', 'name': 'old-rs', 'uid': '00000000-0000-0000-0000-000000000001', 'controller': True}]},
        'spec': {'containers': [{'name': 'c', 'image': 'busybox'}]}})
    wait_for(lambda: _gone(core.read_namespaced_pod, 'restored', NS), timeout=10, message='pod collected')


def test_controller_pods_wait_for_their_service_account(apps, core):
    apps.create_namespaced_deployment(NS, deployment('robotic', replicas=1, serviceAccountName='robot'))
    rs = wait_for(lambda: next((c for rs in apps.list_namespaced_replica_set(NS).items for c in rs.status.conditions or []
                                if c.type == 'ReplicaFailure'), None), message='ReplicaFailure condition')
    assert rs.reason == 'FailedCreate' and 'serviceaccount "robot" not found' in rs.message
    assert not core.list_namespaced_pod(NS, label_selector='app=robotic').items
    assert any(e.reason == 'FailedCreate' for e in core.list_namespaced_event(NS).items)
    core.create_namespaced_service_account(NS, {'metadata': {'name': 'robot'}})
    _running(core, 'app=robotic', 1)


def test_statefulset_orders_pods_and_uses_existing_claims(apps, core, emu):
    emu.config['pod_start_delay'] = 0.6
    core.create_persistent_volume(pv('pv-db-0', 'vol-db-0'))
    core.create_persistent_volume(pv('pv-db-1', 'vol-db-1'))
    core.create_namespaced_persistent_volume_claim(NS, pvc('data-db-1', volume_name='pv-db-1'))  # what a restore pre-creates
    pre = wait_for(lambda: (lambda c: c.status.phase == 'Bound' and c)(core.read_namespaced_persistent_volume_claim('data-db-1', NS)),
                   message='pre-created claim bound')
    apps.create_namespaced_stateful_set(NS, statefulset('db'))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        names = {p.metadata.name: p for p in _pods(core, 'app=db')}
        if 'db-1' in names:
            break
        if 'db-0' in names:
            assert not any(c.type == 'Ready' and c.status == 'True' for c in names['db-0'].status.conditions or [])
        time.sleep(0.05)
    assert names['db-0'].status.phase == 'Running', 'db-1 was created before db-0 was Running and Ready'
    pods = {p.metadata.name: p for p in _running(core, 'app=db', 2)}
    assert pods['db-1'].metadata.creation_timestamp >= pods['db-0'].metadata.creation_timestamp
    for ordinal in (0, 1):
        pod = pods[f'db-{ordinal}']
        assert pod.spec.hostname == f'db-{ordinal}' and pod.spec.subdomain == 'db'
        assert pod.metadata.labels['statefulset.kubernetes.io/pod-name'] == f'db-{ordinal}'
        assert pod.metadata.labels['apps.kubernetes.io/pod-index'] == str(ordinal)
        assert pod.metadata.owner_references[0].kind == 'StatefulSet'
        assert [v.persistent_volume_claim.claim_name for v in pod.spec.volumes if v.persistent_volume_claim] == [f'data-db-{ordinal}']
    made = core.read_namespaced_persistent_volume_claim('data-db-0', NS)
    assert made.metadata.labels == {'tier': 'db', 'app': 'db'} and made.spec.volume_name == 'pv-db-0'
    kept = core.read_namespaced_persistent_volume_claim('data-db-1', NS)
    assert kept.metadata.uid == pre.metadata.uid and kept.spec.volume_name == 'pv-db-1' and not kept.metadata.labels
    sts = wait_for(lambda: (lambda s: s.status.ready_replicas == 2 and s)(apps.read_namespaced_stateful_set('db', NS)), message='ready 2')
    assert sts.spec.pod_management_policy == 'OrderedReady' and sts.status.observed_generation == 1
    assert sts.spec.persistent_volume_claim_retention_policy.when_deleted == 'Retain'
    apps.patch_namespaced_stateful_set('db', NS, {'spec': {'replicas': 1}})
    wait_for(lambda: [p.metadata.name for p in core.list_namespaced_pod(NS, label_selector='app=db').items] == ['db-0'],
             timeout=10, message='db-1 removed')
    assert core.read_namespaced_persistent_volume_claim('data-db-1', NS).status.phase == 'Bound'  # claims are retained


def test_statefulset_spec_update_is_forbidden(apps):
    apps.create_namespaced_stateful_set(NS, statefulset('frozen', replicas=0))
    code, body = _refused(apps.patch_namespaced_stateful_set, 'frozen', NS, {'spec': {'serviceName': 'other'}})
    assert code == 422 and body['message'] == (
        'StatefulSet.apps "frozen" is invalid: spec: Forbidden: updates to statefulset spec for fields other than \'replicas\', '
        "'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
    assert apps.patch_namespaced_stateful_set('frozen', NS, {'spec': {'replicas': 0, 'minReadySeconds': 5}}).metadata.generation == 2


def test_selector_must_match_template_and_is_immutable(apps, raw):
    code, body = _refused(apps.create_namespaced_deployment, NS, deployment('bad', labels={'app': 'a'}, selector={'app': 'b'}))
    assert code == 422 and body['message'] == ('Deployment.apps "bad" is invalid: spec.template.metadata.labels: Invalid value: '
                                               'map[string]string{"app":"a"}: `selector` does not match template `labels`')
    assert body['details']['causes'][0]['field'] == 'spec.template.metadata.labels'
    no_selector = deployment('nosel')
    del no_selector['spec']['selector']
    code, body = raw.request('POST', f'/apis/apps/v1/namespaces/{NS}/deployments', no_selector)  # the client insists on a selector
    assert code == 422 and body['message'].startswith('Deployment.apps "nosel" is invalid: [spec.selector: Required value, ')
    apps.create_namespaced_deployment(NS, deployment('sel', replicas=0, labels={'app': 'sel', 'v': '1'}, selector={'app': 'sel'}))
    code, body = _refused(apps.patch_namespaced_deployment, 'sel', NS, {'spec': {'selector': {'matchLabels': {'v': '1'}}}})
    assert code == 422 and body['message'].endswith(': field is immutable') and body['details']['causes'][0]['field'] == 'spec.selector'


def test_service_cluster_ip_and_node_port_allocation(core):
    svc = core.create_namespaced_service(NS, {'metadata': {'name': 'front'}, 'spec': {
        'type': 'NodePort', 'selector': {'app': 'front'}, 'ports': [{'port': 80}]}})
    ip = svc.spec.cluster_ip
    assert ipaddress.ip_address(ip) in ipaddress.ip_network('10.96.0.0/12') and svc.spec.cluster_ips == [ip]
    assert svc.spec.ip_families == ['IPv4'] and svc.spec.ip_family_policy == 'SingleStack' and svc.spec.session_affinity == 'None'
    port = svc.spec.ports[0]
    assert (port.protocol, port.target_port) == ('TCP', 80) and 30000 <= port.node_port <= 32767
    assert core.read_namespaced_service('kubernetes', NS).spec.cluster_ip == '10.96.0.1'
    code, body = _refused(core.create_namespaced_service, NS, {'metadata': {'name': 'copy'}, 'spec': {'clusterIP': ip, 'ports': [{'port': 80}]}})
    assert code == 422 and body['message'] == (f'Service "copy" is invalid: spec.clusterIPs: Invalid value: []string{{"{ip}"}}: '
                                               f'failed to allocate IP {ip}: provided IP is already allocated')
    assert body['details']['causes'][0]['field'] == 'spec.clusterIPs'
    code, body = _refused(core.create_namespaced_service, NS, {'metadata': {'name': 'np'}, 'spec': {
        'type': 'NodePort', 'ports': [{'port': 81, 'nodePort': port.node_port}]}})
    assert code == 422 and body['message'] == (f'Service "np" is invalid: spec.ports[0].nodePort: Invalid value: {port.node_port}: '
                                               'provided port is already allocated')
    code, body = _refused(core.patch_namespaced_service, 'front', NS, {'spec': {'clusterIP': '10.96.200.200'}})
    assert code == 422 and 'spec.clusterIPs[0]: Invalid value: []string{"10.96.200.200"}: may not change once set' in body['message']
    current = core.read_namespaced_service('front', NS).to_dict()
    replaced = core.replace_namespaced_service('front', NS, {'metadata': {'name': 'front', 'labels': {'x': 'y'}}, 'spec': {
        'type': 'NodePort', 'selector': {'app': 'front'}, 'ports': [{'port': 80}]}})  # a PUT without clusterIP/nodePort keeps them
    assert replaced.spec.cluster_ip == ip and replaced.spec.ports[0].node_port == current['spec']['ports'][0]['node_port']
    headless = core.create_namespaced_service(NS, {'metadata': {'name': 'hl'}, 'spec': {'clusterIP': 'None', 'selector': {'a': 'b'},
                                                                                        'ports': [{'port': 5432}]}})
    assert headless.spec.cluster_ips == ['None']
    code, _ = _refused(core.create_namespaced_service, NS, {'metadata': {'name': 'hl2'}, 'spec': {'clusterIP': 'None', 'type': 'NodePort',
                                                                                                   'ports': [{'port': 1}]}})
    assert code == 422


def test_endpoints_list_ready_pods(apps, core):
    apps.create_namespaced_deployment(NS, deployment('api', replicas=2))
    core.create_namespaced_service(NS, {'metadata': {'name': 'api'}, 'spec': {'selector': {'app': 'api'}, 'ports': [{'port': 80}]}})
    core.create_namespaced_pod(NS, {'metadata': {'name': 'sick', 'labels': {'app': 'api'}, 'annotations': {'emulator.localcloud/fail': 'crashloop'}},
                                    'spec': {'containers': [{'name': 'c', 'image': 'nginx'}]}})
    pods = {p.metadata.name: p for p in _running(core, 'app=api', 3)}
    ep = wait_for(lambda: (lambda e: e.subsets and len(e.subsets[0].addresses or []) == 2 and e.subsets[0].not_ready_addresses and e)(
        core.read_namespaced_endpoints('api', NS)), message='endpoints')
    subset = ep.subsets[0]
    assert {a.target_ref.name for a in subset.addresses} == set(pods) - {'sick'}
    assert all(a.ip == pods[a.target_ref.name].status.pod_ip and a.target_ref.kind == 'Pod' for a in subset.addresses)
    assert [a.target_ref.name for a in subset.not_ready_addresses] == ['sick'] and subset.ports[0].port == 80
    core.delete_namespaced_service('api', NS)
    wait_for(lambda: _gone(core.read_namespaced_endpoints, 'api', NS), message='endpoints deleted with the service')


def test_secret_string_data_base64_and_immutable(core, raw):
    secret = core.create_namespaced_secret(NS, {'metadata': {'name': 's1'}, 'stringData': {'password': 'hunter2'},
                                                'data': {'user': base64.b64encode(b'admin').decode()}})
    assert secret.type == 'Opaque' and secret.string_data is None
    assert secret.data == {'user': 'YWRtaW4=', 'password': base64.b64encode(b'hunter2').decode()}
    status, body = raw.request('POST', f'/api/v1/namespaces/{NS}/secrets', {'metadata': {'name': 's2'}, 'data': {'k': 'not base64!'}})
    assert status == 400 and 'illegal base64 data at input byte 3' in body['message']
    code, body = _refused(core.patch_namespaced_secret, 's1', NS, {'type': 'example.com/custom'})
    assert code == 422 and body['message'] == 'Secret "s1" is invalid: type: Invalid value: "example.com/custom": field is immutable'
    core.create_namespaced_secret(NS, {'metadata': {'name': 'frozen'}, 'immutable': True, 'stringData': {'a': 'b'}})
    code, body = _refused(core.patch_namespaced_secret, 'frozen', NS, {'stringData': {'a': 'c'}})
    assert code == 422 and body['message'] == 'Secret "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    core.create_namespaced_config_map(NS, {'metadata': {'name': 'cfg'}, 'immutable': True, 'data': {'a': 'b'}})
    code, body = _refused(core.patch_namespaced_config_map, 'cfg', NS, {'data': {'a': 'c'}})
    assert code == 422 and 'data: Forbidden: field is immutable when `immutable` is set' in body['message']
    assert core.patch_namespaced_config_map('cfg', NS, {'metadata': {'labels': {'l': 'v'}}}).metadata.labels == {'l': 'v'}
    assert 'ca.crt' in core.read_namespaced_config_map('kube-root-ca.crt', NS).data  # root-ca-cert-publisher


def test_daemonset_runs_one_pod_on_the_node(apps, core):
    body = deployment('agent')
    body.update(kind='DaemonSet')
    del body['spec']['replicas']
    apps.create_namespaced_daemon_set(NS, body)
    [pod] = _running(core, 'app=agent', 1)
    assert pod.metadata.name.startswith('agent-') and len(pod.metadata.name) == len('agent-') + 5
    assert pod.spec.node_name == 'node-1' and pod.metadata.owner_references[0].kind == 'DaemonSet'
    ds = wait_for(lambda: (lambda d: d.status.number_ready == 1 and d)(apps.read_namespaced_daemon_set('agent', NS)), message='ds ready')
    assert ds.status.desired_number_scheduled == 1 and ds.status.current_number_scheduled == 1 and ds.status.number_available == 1

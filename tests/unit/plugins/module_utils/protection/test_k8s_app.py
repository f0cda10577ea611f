"""The application driver against the Kubernetes API emulator over HTTP (official client), Cinder faked.

The emulator runs in-process without Cinder (attachments exist in Kubernetes only); the same flows against the real
local Cinder run in tests/integration/modules/test_k8s_app_protect.py.
"""
import os
import sys
import time

import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils import kubernetes as k8s
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank import open_bank
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ConflictError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.kube_objects import KubeObjects
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s_app import K8sAppDriver

from test_k8s_pod import FakeBackups, FakeSnapshots  # pylint: disable=import-error

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')))
from k8s_emulator.server import start_server  # noqa: E402  pylint: disable=wrong-import-position

CSI = 'cinder.csi.openstack.org'
NS = 'shop'


@pytest.fixture(scope='module')
def server():
    srv, _ = start_server(config={'tick': 0.05, 'service_account_delay': 0.2, 'detach_delay': 0.3})
    yield srv
    srv.stop()


@pytest.fixture
def kube(server, tmp_path):
    server.emulator.config.update({'paused': False, 'pod_start_delay': 0.0})
    server.emulator.reset()
    path = str(tmp_path / 'kubeconfig')
    server.kubeconfig(path)
    return k8s.KubeClient(k8s.api_client(dict(kubeconfig=path)))


@pytest.fixture
def driver(kube, tmp_path):
    drv = K8sAppDriver(None, kube, open_bank({'path': str(tmp_path / 'bank')}), KubeObjects(kube), wait=True,
                       timeout=10, poll_interval=0.05)
    drv.snapshots, drv.backups = FakeSnapshots(), FakeBackups()
    return drv


def wait_for(check, timeout=10):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, 'condition not reached'
        time.sleep(0.05)


def seed(kube, objects, template_annotations=None):
    kube.create_namespace({'metadata': {'name': NS}})
    wait_for(lambda: kube.get_service_account(NS, 'default'))
    for claim in ('web-data', 'data-db-0'):
        kube.create_pv({'metadata': {'name': 'pv-' + claim}, 'spec': {
            'csi': {'driver': CSI, 'volumeHandle': 'vol-' + claim}, 'capacity': {'storage': '1Gi'},
            'accessModes': ['ReadWriteOnce'], 'claimRef': {'namespace': NS, 'name': claim},
            'storageClassName': 'csi-cinder-sc'}})
        kube.create_pvc(NS, {'metadata': {'name': claim}, 'spec': {
            'accessModes': ['ReadWriteOnce'], 'volumeName': 'pv-' + claim, 'storageClassName': 'csi-cinder-sc',
            'resources': {'requests': {'storage': '1Gi'}}}})
    objects.create('ConfigMap', NS, {'metadata': {'name': 'web-config'}, 'data': {'MODE': 'shop'}})
    objects.create('Service', NS, {'metadata': {'name': 'web'}, 'spec': {'type': 'NodePort', 'selector': {'app': 'web'},
                                                                         'ports': [{'port': 80}]}})
    objects.create('Deployment', NS, {'metadata': {'name': 'web'}, 'spec': {
        'replicas': 1, 'selector': {'matchLabels': {'app': 'web'}},
        'template': {'metadata': {'labels': {'app': 'web'}, 'annotations': template_annotations or {}}, 'spec': {
            'containers': [{'name': 'web', 'image': 'nginx', 'envFrom': [{'configMapRef': {'name': 'web-config'}}]}],
            'volumes': [{'name': 'data', 'persistentVolumeClaim': {'claimName': 'web-data'}}]}}}})
    objects.create('StatefulSet', NS, {'metadata': {'name': 'db'}, 'spec': {
        'replicas': 1, 'serviceName': 'db', 'selector': {'matchLabels': {'app': 'db'}},
        'template': {'metadata': {'labels': {'app': 'db'}}, 'spec': {'containers': [{'name': 'db', 'image': 'pg'}]}},
        'volumeClaimTemplates': [{'metadata': {'name': 'data'}, 'spec': {
            'accessModes': ['ReadWriteOnce'], 'storageClassName': 'csi-cinder-sc',
            'resources': {'requests': {'storage': '1Gi'}}}}]}})
    wait_for(lambda: len([p for p in objects.list('Pod', NS) if (p.get('status') or {}).get('phase') == 'Running'])
             == 2)


def test_protect_restore_into_a_mapped_namespace_rerun_and_delete(kube, driver):
    objects = driver.objects
    seed(kube, objects)
    source = (NS, dict(whole_namespace=True))
    assert driver.protect(source, 'p', {}, dry_run=True).changed
    assert driver.bank.list() == []
    done = driver.protect(source, 'p', {})
    assert done.changed
    keys = done.data['checkpoint']['extra']['objects']
    assert keys == ['ConfigMap/shop/web-config', 'PersistentVolumeClaim/shop/data-db-0',
                    'PersistentVolumeClaim/shop/web-data', 'Service/shop/web', 'Deployment/shop/web',
                    'StatefulSet/shop/db']
    assert driver.protect(source, 'p', {}).changed is False
    cp = done.data['checkpoint']['id']
    assert driver.snapshots.descriptions == ['checkpoint %s of application shop' % cp] * 2

    with pytest.raises(ConflictError, match='already exist'):
        driver.restore(source, 'p', {})
    restored = driver.restore(source, 'p', dict(namespace_map={NS: 'copy'}))
    assert restored.changed and [o['status'] for o in restored.data['restored']['objects']] == ['created'] * 6
    deployment = objects.get('Deployment', 'copy', 'web')
    assert deployment['status']['availableReplicas'] == 1
    claim = kube.get_pvc('copy', 'data-db-0')  # made by the restore, used as is by the StatefulSet's pod db-0
    assert claim['status']['phase'] == 'Bound' and claim['spec']['volumeName'].startswith('pv-data-db-0-new-vol')
    assert objects.get('Pod', 'copy', 'db-0')['spec']['volumes'][0]['persistentVolumeClaim']['claimName'] == \
        'data-db-0'
    service = objects.get('Service', 'copy', 'web')
    original = objects.get('Service', NS, 'web')
    assert service['spec']['clusterIP'] != original['spec']['clusterIP']
    assert service['spec']['ports'][0]['nodePort'] != original['spec']['ports'][0]['nodePort']
    again = driver.restore(source, 'p', dict(namespace_map={NS: 'copy'}))
    assert again.changed is False

    gone = driver.delete(source, 'p')
    assert gone.changed and driver.bank.list() == [] and driver.snapshots.snaps == {}
    assert objects.get('Deployment', 'copy', 'web') is not None  # restored objects are not touched


def test_a_restore_that_never_gets_ready_removes_what_it_made(kube, driver):
    objects = driver.objects
    seed(kube, objects)
    source = (NS, dict(label_selector='app=web'))
    assert driver.protect(source, 'p', {}).changed
    # the restored copy's pods will not start (the emulator's start delay, set in the saved template)
    driver.timeout = 1.5
    restored_template = {'emulator.localcloud/start-delay': '600'}
    index = driver.bank.list()[0]
    manifest = driver.bank.get_resource(index['id'], 'object', 'Deployment/shop/web')
    manifest['spec']['template']['metadata']['annotations'] = restored_template
    driver.bank.put_resource(index, 'object', 'Deployment/shop/web', manifest)
    with pytest.raises(ProtectionError) as failure:
        driver.restore(source, 'p', dict(namespace_map={NS: 'slow'}))
    msg = failure.value.msg
    assert 'timed out after 1.5s waiting for deployment slow/web to be ready' in msg, msg
    assert 'removed Deployment/slow/web' in msg and 'removed what this run created' in msg, msg
    wait_for(lambda: kube.get_namespace('slow') is None or kube.get_namespace('slow')['status'].get('phase') ==
             'Terminating')
    assert [p for p in objects.list('Pod', 'slow') if not p['metadata'].get('deletionTimestamp')] == []
    assert driver.backups.removed and all(v.startswith('new-vol-web-data') for v in driver.backups.removed)


def test_sealed_secrets_need_their_passphrase_to_restore(kube, driver, tmp_path):
    objects = driver.objects
    seed(kube, objects)
    objects.create('Secret', NS, {'metadata': {'name': 'web-secret'}, 'stringData': {'password': 's3cr3t-value'}})
    source = (NS, dict(whole_namespace=True))
    key = 'correct horse battery staple'
    done = driver.protect(source, 'sealed', dict(encrypt_secrets=True, secrets_key=key))
    index = done.data['checkpoint']
    assert set(index['extra']['sealing']) == {'scheme', 'salt', 'check'}
    stored = driver.bank.get_resource(index['id'], 'object', 'Secret/shop/web-secret')
    assert 'data' not in stored and 'stringData' not in stored
    on_disk = ''.join(p.read_text() for p in (tmp_path / 'bank').rglob('*') if p.is_file())
    assert 's3cr3t-value' not in on_disk and 'czNjcjN0LXZhbHVl' not in on_disk and key not in on_disk

    for options, reason in ((dict(), 'give the secrets_key'), (dict(secrets_key=key + '!'), 'does not open')):
        with pytest.raises(ProtectionError, match=reason):
            driver.restore(source, 'sealed', dict(options, namespace_map={NS: 'sealed-copy'}))
        assert kube.get_namespace('sealed-copy') is None  # refused before anything was made
    restored = driver.restore(source, 'sealed', dict(secrets_key=key, namespace_map={NS: 'sealed-copy'}))
    assert restored.changed
    assert objects.get('Secret', 'sealed-copy', 'web-secret')['data'] == {'password': 'czNjcjN0LXZhbHVl'}


def test_on_collision_rename_restores_into_a_namespace_of_its_own(kube, driver):
    objects = driver.objects
    seed(kube, objects)
    source = (NS, dict(label_selector='app=web'))
    cp = driver.protect(source, 'p', {}).data['checkpoint']['id']
    renamed = '%s-%s' % (NS, cp[:8])
    planned = driver.restore(source, 'p', dict(on_collision='rename'), dry_run=True)
    assert planned.changed and planned.data['restored']['namespace'] == renamed
    assert kube.get_namespace(renamed) is None
    done = driver.restore(source, 'p', dict(on_collision='rename'))
    assert done.changed and done.data['restored']['namespace'] == renamed
    assert done.data['resource_map']['objects']['Deployment/shop/web'] == 'Deployment/%s/web' % renamed
    assert objects.get('Deployment', renamed, 'web')['status']['availableReplicas'] == 1
    # the copy's Service selects its own pods only: Services are namespaced
    assert objects.get('Service', renamed, 'web') is not None
    again = driver.restore(source, 'p', dict(on_collision='rename'))
    assert again.changed is False and again.data['restored']['namespace'] == renamed
    with pytest.raises(ConflictError, match='on_collision: rename'):
        driver.restore(source, 'p', {})

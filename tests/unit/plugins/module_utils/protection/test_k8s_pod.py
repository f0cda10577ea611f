"""Pod driver logic against an in-memory Kubernetes and fake volume drivers (the real ones run in tests/integration)."""
import copy
import uuid

import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils.bank import open_bank
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    ConflictError,
    NotFoundError,
    ProtectionError,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import k8s_pod
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s import manifests
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result


class FakeKube:
    """Stores dicts; PVCs with a volumeName bind at once, pods run unless told to fail."""

    def __init__(self):
        self.objects = {}
        self.pod_phase = 'Running'
        self.writes = []
        self.account_polls = 0   # polls before a new namespace's ``default`` service account exists
        self.lingering_polls = 0  # polls a deleted pod stays (terminating) before it is gone
        self.lingering = {}

    def _key(self, kind, namespace, name):
        return (kind, namespace, name)

    def add(self, kind, obj):
        obj = copy.deepcopy(obj)
        meta = obj.setdefault('metadata', {})
        meta.setdefault('uid', str(uuid.uuid4()))
        meta.setdefault('resourceVersion', '1')
        meta.setdefault('creationTimestamp', '2026-01-01T00:00:00Z')
        if kind == 'pvc':
            obj['status'] = {'phase': 'Bound' if obj['spec'].get('volumeName') else 'Pending'}
        if kind == 'pod':
            obj['status'] = {'phase': self.pod_phase}
            obj['spec'].setdefault('nodeName', 'node-1')
        self.objects[self._key(kind, meta.get('namespace'), meta['name'])] = obj
        return obj

    def get(self, kind, namespace, name):
        return copy.deepcopy(self.objects.get(self._key(kind, namespace, name)))

    def list_pods(self, namespace=None, label_selector=None):
        found = [copy.deepcopy(o) for (k, ns, _n), o in self.objects.items()
                 if k == 'pod' and (namespace is None or ns == namespace)]
        if label_selector:
            key, value = label_selector.split('=')
            found = [p for p in found if (p['metadata'].get('labels') or {}).get(key) == value]
        return found

    def get_namespace(self, name):
        return self.get('ns', None, name)

    def get_pod(self, namespace, name):
        key = ('pod', namespace, name)
        if self.lingering.get(key):
            self.lingering[key] -= 1
            return {'metadata': {'name': name, 'namespace': namespace, 'deletionTimestamp': 'now'}}
        return self.get('pod', namespace, name)

    def get_service_account(self, namespace, name):
        if self.get_namespace(namespace) is None:
            return None
        if self.account_polls:
            self.account_polls -= 1
            self.writes.append(('poll-serviceaccount', name))
            return None
        return {'metadata': {'name': name, 'namespace': namespace}}

    def get_pvc(self, namespace, name):
        return self.get('pvc', namespace, name)

    def get_pv(self, name):
        return self.get('pv', None, name)

    def create_namespace(self, body):
        self.writes.append(('ns', body['metadata']['name']))
        return self.add('ns', body)

    def create_pv(self, body):
        self.writes.append(('pv', body['metadata']['name']))
        return self.add('pv', body)

    def create_pvc(self, namespace, body):
        self.writes.append(('pvc', body['metadata']['name']))
        return self.add('pvc', dict(body, metadata=dict(body['metadata'], namespace=namespace)))

    def create_pod(self, namespace, body):
        self.writes.append(('pod', body['metadata']['name']))
        return self.add('pod', dict(body, metadata=dict(body['metadata'], namespace=namespace)))

    def _delete(self, kind, namespace, name):
        self.writes.append(('delete-' + kind, name))
        return self.objects.pop(self._key(kind, namespace, name), None)

    def delete_pod(self, namespace, name):
        self.lingering[('pod', namespace, name)] = self.lingering_polls
        return self._delete('pod', namespace, name)

    def delete_pvc(self, namespace, name):
        return self._delete('pvc', namespace, name)

    def delete_pv(self, name):
        return self._delete('pv', None, name)

    def delete_namespace(self, name):
        return self._delete('ns', None, name)


class Vol:
    def __init__(self, vid, status='available'):
        self.id, self.size, self.availability_zone, self.volume_type = vid, 1, 'nova', 'default'
        self.status = status


class FakeSnapshots:
    def __init__(self):
        self.snaps = {}  # (volume, name) -> id
        self.restored = []
        self.fail_on = set()
        self.removed = []
        self.descriptions = []

    def find_volume(self, vid):
        if vid == 'missing':
            raise NotFoundError('volume missing: not found')
        return Vol(vid)

    def protect(self, vid, name, options, dry_run=False):
        if vid in self.fail_on:
            raise ProtectionError('snapshot of volume %s reached status error; the failed snapshot was removed' % vid)
        self.descriptions.append(options.get('description'))
        sid = self.snaps.setdefault((vid, name), 'snap-' + vid)
        return Result(True, snapshot=dict(id=sid, status='available'))

    def delete(self, vid, name, dry_run=False):
        self.removed.append(self.snaps.pop((vid, name), None))
        return Result(True)

    def restore(self, vid, name, options, dry_run=False):
        new = 'new-%s-%d' % (vid, len(self.restored))
        self.restored.append((vid, options['restore_name'], new))
        return Result(True, resource_map={vid: new})


class FakeBackups:
    """Restored volumes stay attached (in-use) for ``attached_polls`` reads after the undo starts polling them."""

    def __init__(self):
        self.removed = []
        self.attached_polls = 0
        self.events = []

    def get_volume(self, vid):
        if vid in self.removed:
            return None
        if self.attached_polls:
            self.attached_polls -= 1
            self.events.append(('in-use', vid))
            return Vol(vid, 'in-use')
        return Vol(vid, 'available')

    def remove_volume(self, vid):
        status = self.get_volume(vid).status
        self.events.append(('remove', vid))
        if status == 'in-use':
            return 'volume %s could not be removed (Invalid volume: Volume status must be available)' % vid
        self.removed.append(vid)
        return 'volume %s was removed' % vid


NS = 'shop'


def seed(kube, fail_annotation=False):
    kube.add('ns', {'metadata': {'name': NS}})
    kube.add('pv', {'metadata': {'name': 'pv-a', 'annotations': {'pv.kubernetes.io/bound-by-controller': 'yes'},
                                 'finalizers': ['kubernetes.io/pv-protection']},
                    'spec': {'cinder': {'volumeID': 'vol-a'}, 'persistentVolumeReclaimPolicy': 'Delete',
                             'claimRef': {'namespace': NS, 'name': 'data-a', 'uid': 'old-uid'},
                             'capacity': {'storage': '1Gi'}, 'accessModes': ['ReadWriteOnce']}})
    kube.add('pv', {'metadata': {'name': 'pv-b'},
                    'spec': {'csi': {'driver': manifests.CSI_DRIVER, 'volumeHandle': 'vol-b'},
                             'capacity': {'storage': '1Gi'}, 'accessModes': ['ReadWriteOnce']}})
    for claim, pv in (('data-a', 'pv-a'), ('data-b', 'pv-b')):
        kube.add('pvc', {'metadata': {'name': claim, 'namespace': NS},
                         'spec': {'volumeName': pv, 'accessModes': ['ReadWriteOnce']}})
    annotations = {'team': 'db'}
    kube.add('pod', {'metadata': {'name': 'app', 'namespace': NS, 'labels': {'app': 'db'}, 'annotations': annotations,
                                  'ownerReferences': [{'kind': 'ReplicaSet'}]},
                     'spec': {'containers': [{'name': 'c', 'image': 'postgres', 'env': [{'name': 'A', 'value': '1'}],
                                              'ports': [{'containerPort': 5432}],
                                              'volumeMounts': [{'name': 'a', 'mountPath': '/a'},
                                                               {'name': 'kube-api-access-x',
                                                                'mountPath': manifests.SERVICE_ACCOUNT_MOUNT}]}],
                              'initContainers': [{'name': 'init', 'image': 'busybox'}],
                              'tolerations': [{'key': 'k', 'operator': 'Exists'}],
                              'securityContext': {'runAsUser': 999},
                              'volumes': [{'name': 'a', 'persistentVolumeClaim': {'claimName': 'data-a'}},
                                          {'name': 'b', 'persistentVolumeClaim': {'claimName': 'data-b'}},
                                          {'name': 'cache', 'emptyDir': {}},
                                          {'name': 'kube-api-access-x', 'projected': {'sources': []}}]}})


@pytest.fixture
def env(tmp_path):
    kube = FakeKube()
    seed(kube)
    driver = k8s_pod.K8sPodDriver(None, kube, open_bank({'path': str(tmp_path)}), wait=True, timeout=5,
                                  poll_interval=0.01)
    driver.snapshots, driver.backups = FakeSnapshots(), FakeBackups()
    return driver, kube


def test_clean_manifest_keeps_the_spec_and_drops_server_fields(env):
    _driver, kube = env
    pod = manifests.clean_manifest(kube.get_pod(NS, 'app'), 'Pod')
    assert pod['kind'] == 'Pod' and pod['apiVersion'] == 'v1' and 'status' not in pod
    assert not set(manifests.SERVER_METADATA) & set(pod['metadata'])
    spec = pod['spec']
    assert 'nodeName' not in spec and spec['initContainers'] and spec['tolerations'] and spec['securityContext']
    assert spec['containers'][0]['env'] and spec['containers'][0]['ports']
    assert [v['name'] for v in spec['volumes']] == ['a', 'b', 'cache']
    assert spec['containers'][0]['volumeMounts'] == [{'name': 'a', 'mountPath': '/a'}]
    pv = manifests.clean_manifest(kube.get_pv('pv-a'), 'PersistentVolume')
    assert 'annotations' not in pv['metadata'] and 'finalizers' not in pv['metadata']


def test_cinder_source():
    assert manifests.cinder_source({'spec': {'cinder': {'volumeID': 'v'}}}) == ('v', 'in-tree')
    assert manifests.cinder_source({'spec': {'csi': {'driver': manifests.CSI_DRIVER, 'volumeHandle': 'v'}}}) == ('v', 'csi')
    assert manifests.cinder_source({'spec': {'csi': {'driver': 'ebs.csi.aws.com', 'volumeHandle': 'v'}}})[0] is None
    assert manifests.cinder_source({'spec': {'hostPath': {'path': '/x'}, 'capacity': {}}}) == (None, 'hostPath')


def test_protect_check_mode_then_protect_then_idempotent(env):
    driver, _kube = env
    planned = driver.protect((NS, 'app'), 'nightly', {}, dry_run=True)
    assert planned.changed and planned.data['checkpoint']['id'] is None
    assert driver.bank.list() == [] and driver.snapshots.snaps == {}
    done = driver.protect((NS, 'app'), 'nightly', {'description': 'd'})
    cp = done.data['checkpoint']
    assert done.changed and cp['status'] == 'available'
    assert set(cp['extra']['volumes']) == {'vol-a', 'vol-b'}
    assert {v['source'] for v in cp['extra']['volumes'].values()} == {'in-tree', 'csi'}
    saved = driver.bank.resources(driver.bank.get(cp['id']))
    assert set(saved) == {'pod', 'persistentvolumeclaim', 'persistentvolume', 'volume'}
    assert saved['volume']['vol-a']['snapshot_id'] == 'snap-vol-a'
    assert driver.snapshots.descriptions == ['d', 'd']
    again = driver.protect((NS, 'app'), 'nightly', {})
    assert not again.changed and again.data['checkpoint']['id'] == cp['id']
    assert not driver.protect((NS, 'app'), 'nightly', {}, dry_run=True).changed


def test_snapshot_failure_midway_leaves_no_checkpoint(env):
    driver, _kube = env
    driver.snapshots.fail_on.add('vol-b')
    with pytest.raises(ProtectionError) as err:
        driver.protect((NS, 'app'), 'nightly', {})
    assert 'vol-b' in err.value.msg and 'were removed' in err.value.msg
    assert driver.bank.list() == []
    assert driver.snapshots.snaps == {}  # the first volume's snapshot was removed too


def test_unbound_claim_and_foreign_pv_are_refused_before_anything_is_made(env):
    driver, kube = env
    kube.objects[('pvc', NS, 'data-b')]['status']['phase'] = 'Pending'
    with pytest.raises(ProtectionError, match='data-b is Pending, not Bound'):
        driver.protect((NS, 'app'), 'n', {})
    kube.objects[('pvc', NS, 'data-b')]['status']['phase'] = 'Bound'
    kube.objects[('pv', None, 'pv-b')]['spec'] = {'nfs': {'server': 'x'}}
    with pytest.raises(ProtectionError, match='not a Cinder volume'):
        driver.protect((NS, 'app'), 'n', {})
    assert driver.bank.list() == [] and driver.snapshots.snaps == {}
    with pytest.raises(NotFoundError):
        driver.protect((NS, 'nope'), 'n', {})


def test_restore_other_namespace_maps_everything(env):
    driver, kube = env
    driver.protect((NS, 'app'), 'nightly', {})
    plan = driver.restore((NS, 'app'), 'nightly', {'restore_namespace': 'copy'}, dry_run=True)
    assert plan.changed and kube.writes == [] and plan.data['resource_map']['pods'] == {'shop/app': 'copy/app'}
    done = driver.restore((NS, 'app'), 'nightly', {'restore_namespace': 'copy'})
    rmap = done.data['resource_map']
    assert done.changed and done.data['restored']['phase'] == 'Running'
    assert rmap['persistentvolumeclaims'] == {'shop/data-a': 'copy/data-a', 'shop/data-b': 'copy/data-b'}
    new_a = rmap['volumes']['vol-a']
    pv = kube.get_pv(rmap['persistentvolumes']['pv-a'])
    assert pv['spec']['cinder']['volumeID'] == new_a and pv['spec']['persistentVolumeReclaimPolicy'] == 'Retain'
    assert pv['spec']['claimRef'] == {'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim', 'namespace': 'copy',
                                      'name': 'data-a'}
    assert kube.get_pv(rmap['persistentvolumes']['pv-b'])['spec']['csi']['volumeHandle'] == rmap['volumes']['vol-b']
    pod = kube.get_pod('copy', 'app')
    assert pod['metadata']['annotations'][manifests.ANN_ORIGINAL_NAMESPACE] == NS
    assert pod['metadata']['annotations']['team'] == 'db' and 'ownerReferences' not in pod['metadata']
    assert pod['spec']['securityContext'] == {'runAsUser': 999}
    again = driver.restore((NS, 'app'), 'nightly', {'restore_namespace': 'copy'})
    assert not again.changed and again.data['resource_map'] == rmap


def test_restore_collision_fails_or_renames(env):
    driver, kube = env
    driver.protect((NS, 'app'), 'nightly', {})
    with pytest.raises(ConflictError, match='pod shop/app already exists'):
        driver.restore((NS, 'app'), 'nightly', {})
    assert kube.writes == []
    done = driver.restore((NS, 'app'), 'nightly', {'on_collision': 'rename'})
    cp8 = done.data['checkpoint']['id'][:8]
    assert done.data['restored']['name'] == 'app-' + cp8
    assert done.data['resource_map']['persistentvolumeclaims']['shop/data-a'] == 'shop/data-a-' + cp8
    assert done.data['restored']['annotations'][manifests.ANN_ORIGINAL_NAME] == 'app'
    again = driver.restore((NS, 'app'), 'nightly', {'on_collision': 'rename'})
    assert not again.changed


def test_failed_pod_is_cleaned_up_or_kept(env):
    driver, kube = env
    driver.protect((NS, 'app'), 'nightly', {})
    kube.pod_phase = 'Failed'
    with pytest.raises(ProtectionError) as err:
        driver.restore((NS, 'app'), 'nightly', {'restore_namespace': 'copy'})
    assert 'reached status Failed' in err.value.msg and 'removed what this run created' in err.value.msg
    assert kube.get_pod('copy', 'app') is None and kube.get_namespace('copy') is None
    assert len(driver.backups.removed) == 2
    with pytest.raises(ProtectionError, match='kept for inspection'):
        driver.restore((NS, 'app'), 'nightly', {'restore_namespace': 'copy2', 'keep_on_failure': True})
    assert kube.get_pod('copy2', 'app') is not None


def test_absent_removes_checkpoints_and_snapshots(env):
    driver, _kube = env
    cp = driver.protect((NS, 'app'), 'nightly', {}).data['checkpoint']
    assert driver.delete((NS, 'app'), 'nightly', dry_run=True).changed and driver.bank.list()
    gone = driver.delete((NS, 'app'), 'nightly')
    assert gone.changed and gone.data['deleted'] == [cp['id']]
    assert driver.bank.list() == [] and driver.snapshots.snaps == {}
    assert not driver.delete((NS, 'app'), 'nightly').changed


def test_protectables(env):
    driver, kube = env
    kube.add('pod', {'metadata': {'name': 'plain', 'namespace': 'other'}, 'spec': {'containers': []}})
    pods = dict((p['name'], p) for p in driver.protectables())
    assert pods['app']['protectable'] and [v['cinder_volume_id'] for v in pods['app']['volumes']] == ['vol-a', 'vol-b']
    assert pods['plain']['protectable'] and pods['plain']['volumes'] == []
    assert [p['name'] for p in driver.protectables('other')] == ['plain']


# -- per-step timings ---------------------------------------------------------------------------------------------
def steps(driver):
    assert all(isinstance(t['seconds'], float) and t['seconds'] >= 0 for t in driver.timings.steps)
    return [t['step'] for t in driver.timings.as_list()]


def test_protect_records_its_steps(env):
    driver, _kube = env
    driver.protect((NS, 'app'), 'nightly', {}, dry_run=True)
    assert steps(driver) == []
    driver.protect((NS, 'app'), 'nightly', {})
    assert steps(driver) == ['create checkpoint', 'save manifests', 'snapshot volume vol-a', 'save volume vol-a',
                             'snapshot volume vol-b', 'save volume vol-b', 'mark checkpoint available']


def test_failed_protect_records_the_failed_step_and_the_cleanup(env):
    driver, _kube = env
    driver.snapshots.fail_on.add('vol-b')
    with pytest.raises(ProtectionError):
        driver.protect((NS, 'app'), 'nightly', {})
    assert steps(driver)[-2:] == ['snapshot volume vol-b', 'clean up']


def test_restore_records_its_steps(env):
    driver, _kube = env
    driver.protect((NS, 'app'), 'nightly', {})
    driver.timings.steps.clear()
    done = driver.restore((NS, 'app'), 'nightly', {'restore_namespace': 'copy'})
    rmap = done.data['resource_map']
    assert steps(driver) == [
        'create namespace copy',
        'restore volume vol-a', 'create persistentvolume %s' % rmap['persistentvolumes']['pv-a'],
        'restore volume vol-b', 'create persistentvolume %s' % rmap['persistentvolumes']['pv-b'],
        'create persistentvolumeclaim copy/data-a', 'create persistentvolumeclaim copy/data-b',
        'wait for serviceaccount copy/default', 'create pod copy/app', 'wait for claims Bound', 'wait for pod Running']


def test_failed_restore_records_the_wait_and_the_cleanup(env):
    driver, kube = env
    driver.protect((NS, 'app'), 'nightly', {})
    driver.timings.steps.clear()
    kube.pod_phase = 'Failed'
    with pytest.raises(ProtectionError):
        driver.restore((NS, 'app'), 'nightly', {'restore_namespace': 'copy'})
    assert steps(driver)[-2:] == ['wait for pod Running', 'clean up']


def test_undo_waits_for_the_pod_to_go_and_the_volumes_to_detach(env):
    """A real cluster detaches a pod's volumes only after the pod is gone: deleting them sooner fails (400)."""
    driver, kube = env
    driver.protect((NS, 'app'), 'nightly', {})
    kube.pod_phase = 'Failed'
    kube.lingering_polls = 3
    driver.backups.attached_polls = 4
    with pytest.raises(ProtectionError) as err:
        driver.restore((NS, 'app'), 'nightly', {'restore_namespace': 'copy'})
    assert 'removed what this run created' in err.value.msg, err.value.msg
    assert len(driver.backups.removed) == 2 and kube.get_namespace('copy') is None
    removals = [i for i, e in enumerate(driver.backups.events) if e[0] == 'remove']
    last_in_use = max(i for i, e in enumerate(driver.backups.events) if e[0] == 'in-use')
    assert min(removals) > last_in_use  # never asked Cinder to delete an attached volume


def test_undo_names_a_volume_that_stays_attached_and_keeps_the_namespace(tmp_path):
    kube = FakeKube()
    seed(kube)
    driver = k8s_pod.K8sPodDriver(None, kube, open_bank({'path': str(tmp_path)}), wait=True, timeout=0.3,
                                  poll_interval=0.01)
    driver.snapshots, driver.backups = FakeSnapshots(), FakeBackups()
    driver.protect((NS, 'app'), 'nightly', {})
    kube.pod_phase = 'Failed'
    driver.backups.attached_polls = 10 ** 6
    with pytest.raises(ProtectionError) as err:
        driver.restore((NS, 'app'), 'nightly', {'restore_namespace': 'copy'})
    msg = err.value.msg
    assert 'these objects could not be removed' in msg and 'to be detached' in msg, msg
    for new_id in err.value.result['resource_map']['volumes'].values():
        assert 'volume %s' % new_id in msg
    assert ('remove', new_id) not in driver.backups.events  # never asked while attached
    assert kube.get_namespace('copy') is not None  # the namespace stays with what is in it


def test_restore_waits_for_the_default_service_account(env):
    driver, kube = env
    driver.protect((NS, 'app'), 'nightly', {})
    kube.account_polls = 3
    done = driver.restore((NS, 'app'), 'nightly', {'restore_namespace': 'copy'})
    assert done.changed and done.data['restored']['phase'] == 'Running'
    writes = kube.writes
    assert writes.index(('pod', 'app')) > max(i for i, w in enumerate(writes) if w[0] == 'poll-serviceaccount')


def test_restore_gives_up_on_a_default_service_account_that_never_comes(tmp_path):
    kube = FakeKube()
    seed(kube)
    driver = k8s_pod.K8sPodDriver(None, kube, open_bank({'path': str(tmp_path)}), wait=True, timeout=0.2,
                                  poll_interval=0.01)
    driver.snapshots, driver.backups = FakeSnapshots(), FakeBackups()
    driver.protect((NS, 'app'), 'nightly', {})
    kube.account_polls = 10 ** 6
    with pytest.raises(ProtectionError) as err:
        driver.restore((NS, 'app'), 'nightly', {'restore_namespace': 'copy'})
    assert 'waiting for serviceaccount copy/default to exist' in err.value.msg, err.value.msg
    assert 'removed what this run created' in err.value.msg and kube.get_namespace('copy') is None


def test_manifests_keep_user_annotations_and_drop_ephemeral_containers():
    claim = {'metadata': {'name': 'c', 'namespace': NS, 'annotations': {
        'volume.beta.kubernetes.io/storage-class': 'legacy', 'pv.kubernetes.io/bind-completed': 'yes',
        'pv.kubernetes.io/bound-by-controller': 'yes', 'volume.kubernetes.io/storage-provisioner': 'x',
        'volume.beta.kubernetes.io/storage-provisioner': 'x', 'kubectl.kubernetes.io/last-applied-configuration': '{}',
        'team': 'db'}}, 'spec': {}}
    kept = manifests.clean_manifest(claim, 'PersistentVolumeClaim')['metadata']['annotations']
    assert kept == {'volume.beta.kubernetes.io/storage-class': 'legacy',
                    'kubectl.kubernetes.io/last-applied-configuration': '{}', 'team': 'db'}
    restored = manifests.restored_pvc(claim, 'c', 'copy', 'pv-new', 'cp')
    assert restored['metadata']['annotations']['volume.beta.kubernetes.io/storage-class'] == 'legacy'
    debugged = {'metadata': {'name': 'p', 'namespace': NS}, 'spec': {
        'containers': [{'name': 'c', 'image': 'i'}],
        'ephemeralContainers': [{'name': 'debugger', 'image': 'busybox', 'targetContainerName': 'c'}]},
        'status': {'ephemeralContainerStatuses': [{'name': 'debugger'}]}}
    pod = manifests.restored_pod(debugged, 'p', 'copy', {}, 'cp', 'p')
    assert 'ephemeralContainers' not in pod['spec'] and 'status' not in pod


def test_retain_rotates_checkpoints_after_the_new_one_is_available(env):
    driver, _kube = env
    rotating = {'retain': 2}
    ids = [driver.protect((NS, 'app'), 'hourly', rotating).data['checkpoint']['id'] for _ in range(2)]
    assert len(set(ids)) == 2 and [c['id'] for c in driver.checkpoints((NS, 'app'), 'hourly')] == ids
    planned = driver.protect((NS, 'app'), 'hourly', rotating, dry_run=True)
    assert planned.changed and planned.data['deleted'] == [ids[0]] and planned.data['rotation_skipped'] is False
    assert [c['id'] for c in driver.checkpoints((NS, 'app'), 'hourly')] == ids
    third = driver.protect((NS, 'app'), 'hourly', rotating)
    assert third.changed and third.data['deleted'] == [ids[0]]
    kept = [c['id'] for c in driver.checkpoints((NS, 'app'), 'hourly')]
    assert kept == [ids[1], third.data['checkpoint']['id']]
    # the rotated-out checkpoint's volume snapshots went with it, the others stay
    assert sorted(name for (_vid, name) in driver.snapshots.snaps) == sorted(['dp-%s' % k for k in kept] * 2)


def test_min_age_skips_the_new_checkpoint_and_still_trims(env):
    driver, _kube = env
    for _ in range(3):
        driver.protect((NS, 'app'), 'daily', {'retain': 3})
    ids = [c['id'] for c in driver.checkpoints((NS, 'app'), 'daily')]
    skipped = driver.protect((NS, 'app'), 'daily', {'retain': 3, 'min_age': 3600})
    assert not skipped.changed and skipped.data['rotation_skipped'] is True and skipped.data['deleted'] == []
    assert skipped.data['checkpoint']['id'] == ids[-1]
    # fewer kept: the oldest go although no new checkpoint is due; check mode predicts it and touches nothing
    planned = driver.protect((NS, 'app'), 'daily', {'retain': 1, 'min_age': 3600}, dry_run=True)
    assert planned.changed and planned.data['deleted'] == ids[:2]
    assert [c['id'] for c in driver.checkpoints((NS, 'app'), 'daily')] == ids
    trimmed = driver.protect((NS, 'app'), 'daily', {'retain': 1, 'min_age': 3600})
    assert trimmed.changed and trimmed.data['deleted'] == ids[:2]
    assert [c['id'] for c in driver.checkpoints((NS, 'app'), 'daily')] == ids[2:]

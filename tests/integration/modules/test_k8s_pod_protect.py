"""k8s_pod_protect, k8s_pod_protectable_info and checkpoint_info through real ansible-playbook runs.

Kubernetes is the API emulator of the local cloud (tests/k8s_emulator), Cinder and Swift are the real local
services. Volumes are created as a member user (``localcloud-demo2``: the ``demo`` project's quota of 10
volumes is shared with every other module's tests). Everything a test creates carries its unique name and
is removed at teardown; the emulator is never reset (other suites use it at the same time).
"""
import json
import os
import time

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from conftest import get_or_none, no_traceback, wait_status
from playbook_runner import ROOT, run_module

MODULE = 'dataprotection.openstack.k8s_pod_protect'
INFO = 'dataprotection.openstack.k8s_pod_protectable_info'
CHECKPOINTS = 'dataprotection.openstack.checkpoint_info'
CLOUD = 'localcloud-demo2'
CSI = 'cinder.csi.openstack.org'


@pytest.fixture
def kubeconfig(localcloud):
    return localcloud.get('kubeconfig') or os.path.join(ROOT, '.localcloud', 'kubeconfig')


@pytest.fixture
def core(kubeconfig):
    cfg = k8s_client.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    return k8s_client.CoreV1Api(k8s_client.ApiClient(cfg))


@pytest.fixture
def storage(kubeconfig):
    cfg = k8s_client.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    return k8s_client.StorageV1Api(k8s_client.ApiClient(cfg))


@pytest.fixture
def conn(lc_demo2):
    return lc_demo2


@pytest.fixture
def bank_dir(tmp_path):
    return str(tmp_path / 'bank')


@pytest.fixture
def cluster(core, storage, conn, admin_conn, unique):
    """Namespaces/PVs named after ``unique``; at teardown they, and the Cinder volumes/backups named so, go."""
    state = dict(namespaces=set(), pvs=set())
    yield state
    for sc in storage.list_storage_class().items:
        if sc.metadata.name.startswith(unique):
            _ignore_404(storage.delete_storage_class, sc.metadata.name)
    for namespace in [n.metadata.name for n in core.list_namespace().items if n.metadata.name.startswith(unique)]:
        _ignore_404(core.delete_namespace, namespace)
    for pv in core.list_persistent_volume().items:
        if unique in pv.metadata.name:
            _ignore_404(core.delete_persistent_volume, pv.metadata.name)
    bs = admin_conn.block_storage
    mine = [v for v in bs.volumes(details=True, all_projects=True) if unique in (v.name or '')]
    for backup in bs.backups(details=True, all_projects=True):
        if backup.volume_id in {v.id for v in mine} or unique in (backup.name or ''):
            bs.delete_backup(backup.id, ignore_missing=True, force=True)
    for volume in sorted(mine, key=lambda v: v.snapshot_id is None):  # restored volumes first
        for snapshot in bs.snapshots(details=True, all_projects=True, volume_id=volume.id):
            bs.delete_snapshot(snapshot.id, ignore_missing=True)
            wait_status(lambda s=snapshot: get_or_none(bs.get_snapshot, s.id), {'gone'})
        if volume.status not in ('available', 'error'):
            bs.reset_volume_status(volume, status='available', attach_status='detached', migration_status=None)
        bs.delete_volume(volume.id, ignore_missing=True)


def _ignore_404(call, *args):
    try:
        return call(*args)
    except ApiException as exc:
        if exc.status != 404:
            raise
        return None


def make_volume(conn, name, metadata=None, availability_zone=None):
    volume = conn.block_storage.create_volume(name=name, size=1, metadata=metadata or {},
                                              availability_zone=availability_zone)
    volume = wait_status(lambda: get_or_none(conn.block_storage.get_volume, volume.id), {'available', 'error'})
    assert volume.status == 'available', volume
    return volume


def seed_pod(core, namespace, pod, claims, annotations=None, wait_phase='Running'):
    """A namespace, PVs/PVCs for ``claims`` [(claim, pv, cinder id, 'in-tree'|'csi')] and a pod mounting them."""
    if _ignore_404(core.read_namespace, namespace) is None:
        core.create_namespace({'metadata': {'name': namespace}})
        wait_account(core, namespace)
    volumes, mounts = [], []
    for index, (claim, pv, volume_id, kind) in enumerate(claims):
        source = ({'cinder': {'volumeID': volume_id, 'fsType': 'ext4'}} if kind == 'in-tree'
                  else {'csi': {'driver': CSI, 'volumeHandle': volume_id, 'fsType': 'ext4'}})
        # the in-tree PV is Delete (as dynamically provisioned ones are): restored PVs must come back Retain
        core.create_persistent_volume({'metadata': {'name': pv, 'labels': {'disk': str(index)}}, 'spec': dict(
            source, capacity={'storage': '1Gi'}, accessModes=['ReadWriteOnce'], storageClassName='csi-cinder-sc',
            persistentVolumeReclaimPolicy='Delete' if kind == 'in-tree' else 'Retain')})
        core.create_namespaced_persistent_volume_claim(namespace, {'metadata': {'name': claim}, 'spec': {
            'accessModes': ['ReadWriteOnce'], 'storageClassName': 'csi-cinder-sc', 'volumeName': pv,
            'resources': {'requests': {'storage': '1Gi'}}}})
        volumes.append({'name': 'vol%d' % index, 'persistentVolumeClaim': {'claimName': claim}})
        mounts.append({'name': 'vol%d' % index, 'mountPath': '/data%d' % index})
    volumes.append({'name': 'scratch', 'emptyDir': {}})
    mounts.append({'name': 'scratch', 'mountPath': '/scratch'})
    core.create_namespaced_pod(namespace, {
        'metadata': {'name': pod, 'labels': {'app': pod}, 'annotations': dict(annotations or {}, team='storage')},
        'spec': {'containers': [{'name': 'db', 'image': 'postgres:16', 'env': [{'name': 'PGDATA', 'value': '/data0'}],
                                 'ports': [{'containerPort': 5432}], 'volumeMounts': mounts,
                                 'securityContext': {'runAsUser': 999}}],
                 'initContainers': [{'name': 'init', 'image': 'busybox', 'command': ['true']}],
                 'tolerations': [{'key': 'dedicated', 'operator': 'Equal', 'value': 'db', 'effect': 'NoSchedule'}],
                 'volumes': volumes}})
    if wait_phase:
        wait_phase_of(core, namespace, pod, {wait_phase})


def wait_account(core, namespace, name='default', timeout=30):
    """A new namespace's ``default`` service account comes shortly after it; pods are refused until then."""
    deadline = time.monotonic() + timeout
    while _ignore_404(core.read_namespaced_service_account, name, namespace) is None:
        assert time.monotonic() < deadline, 'no serviceaccount %s/%s' % (namespace, name)
        time.sleep(0.2)


def leftovers(core, storage, conn, target, timeout=60):
    """What a restore into namespace ``target`` left: the namespace, PVs claimed there, their VolumeAttachments and
    Cinder volumes named after it (a restore names its volumes ``<namespace>-<claim>-<checkpoint>``). Waits (bounded)
    for deletions under way, then returns what is still there."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        if _ignore_404(core.read_namespace, target) is not None:
            found.append('namespace %s' % target)
        pvs = [pv.metadata.name for pv in core.list_persistent_volume().items
               if pv.spec.claim_ref is not None and pv.spec.claim_ref.namespace == target]
        found += ['persistentvolume %s' % pv for pv in pvs]
        found += ['volumeattachment %s' % va.metadata.name for va in storage.list_volume_attachment().items
                  if va.spec.source.persistent_volume_name in pvs]
        found += ['cinder volume %s (%s, %s)' % (v.id, v.name, v.status) for v in conn.block_storage.volumes(details=True)
                  if (v.name or '').startswith(target + '-')]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def wait_phase_of(core, namespace, pod, phases, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        found = _ignore_404(core.read_namespaced_pod, pod, namespace)
        phase = found.status.phase if found is not None else 'gone'
        if phase in phases:
            return found
        assert time.monotonic() < deadline, 'pod %s/%s still %s' % (namespace, pod, phase)
        time.sleep(0.3)


def protect(env_args, check=False, diff=False, module=MODULE, env=None, **args):
    kubeconfig, bank, cloud_env = env_args
    env = env or cloud_env
    args.setdefault('cloud', CLOUD)
    if kubeconfig is not None and module != CHECKPOINTS:
        args.setdefault('kubeconfig', kubeconfig)
    args.setdefault('bank', {'path': bank})
    if module == MODULE:
        args.setdefault('timeout', 60)
        args.setdefault('poll_interval', 0.5)
    args = dict((k, v) for k, v in args.items() if v is not None)
    run = run_module(module, args, check=check, diff=diff, env=env)
    no_traceback(run)
    return run


@pytest.fixture
def ctx(cloud_env, kubeconfig, bank_dir):
    return kubeconfig, bank_dir, cloud_env


def bank_index(bank_dir):
    root = os.path.join(bank_dir, 'checkpoints')
    if not os.path.isdir(root):
        return []
    found = []
    for checkpoint in sorted(os.listdir(root)):
        with open(os.path.join(root, checkpoint, 'index.json')) as handle:
            found.append(json.load(handle))
    return found


def snapshots_of(conn, volume_id):
    return list(conn.block_storage.snapshots(details=True, volume_id=volume_id))


def test_two_pvs_protect_restore_absent(ctx, core, conn, cluster, unique, bank_dir, cloud_env, kubeconfig):
    ns = unique
    vol_a, vol_b = make_volume(conn, unique + '-a'), make_volume(conn, unique + '-b')
    seed_pod(core, ns, 'db', [('data-a', unique + '-pv-a', vol_a.id, 'in-tree'),
                              ('data-b', unique + '-pv-b', vol_b.id, 'csi')])
    source = dict(namespace=ns, pod='db', backup_name='nightly')

    # protectable listing, credentials through K8S_AUTH_KUBECONFIG as an AWX credential injects them
    listed = protect((None, bank_dir, cloud_env), module=INFO, namespace=ns, cloud=None, bank=None,
                     env=dict(cloud_env, K8S_AUTH_KUBECONFIG=kubeconfig))
    assert not listed.failed, listed
    (pod,) = listed['pods']
    assert pod['protectable'] and pod['phase'] == 'Running'
    assert [(v['pvc'], v['source'], v['cinder_volume_id']) for v in pod['volumes']] == [
        ('data-a', 'in-tree', vol_a.id), ('data-b', 'csi', vol_b.id)]

    check = protect(ctx, check=True, diff=True, description='nightly of db', **source)
    assert check.changed and not check.failed, check
    assert check['checkpoint']['status'] == '(would be created)'
    assert bank_index(bank_dir) == [] and snapshots_of(conn, vol_a.id) == [] and snapshots_of(conn, vol_b.id) == []

    first = protect(ctx, diff=True, description='nightly of db', **source)
    assert first.changed and not first.failed, first
    cp = first['checkpoint']
    (index,) = bank_index(bank_dir)
    assert index['id'] == cp['id'] and index['status'] == 'available' and first['diff']['before'] == {}
    snaps = dict((v, snapshots_of(conn, v)) for v in (vol_a.id, vol_b.id))
    for volume_id, found in snaps.items():
        assert [s.status for s in found] == ['available']
        assert cp['extra']['volumes'][volume_id]['snapshot_id'] == found[0].id
        assert found[0].metadata['dataprotection_checkpoint'] == cp['id']
    assert protect(ctx, **source).changed is False
    assert protect(ctx, check=True, **source).changed is False

    shown = protect(ctx, module=CHECKPOINTS, checkpoint_id=cp['id'])
    saved = shown['checkpoint']['resource_data']
    manifest = saved['pod']['%s/db' % ns]
    assert manifest['spec']['containers'][0]['env'] == [{'name': 'PGDATA', 'value': '/data0'}]
    assert manifest['spec']['initContainers'] and manifest['spec']['tolerations']
    assert 'uid' not in manifest['metadata'] and 'nodeName' not in manifest['spec']
    listed = protect(ctx, module=CHECKPOINTS, resource='%s/db' % ns, status='available')
    assert [c['id'] for c in listed['checkpoints']] == [cp['id']]

    # same namespace: the name is taken -> clear failure, nothing created; then rename
    taken = protect(ctx, state='restored', **source)
    assert taken.failed and 'pod %s/db already exists' % ns in taken['msg'], taken
    renamed = protect(ctx, state='restored', on_collision='rename', **source)
    assert renamed.changed and not renamed.failed, renamed
    new_name = renamed['restored']['name']
    assert new_name == 'db-' + cp['id'][:8] and renamed['restored']['phase'] == 'Running'
    live = core.read_namespaced_pod(new_name, ns)
    assert live.metadata.annotations['dataprotection.openstack/original-name'] == 'db'

    # another namespace (created by the restore)
    target = unique + '-copy'
    args = dict(source, state='restored', restore_namespace=target, restore_description='restore test')
    planned = protect(ctx, check=True, **args)
    assert planned.changed and planned['resource_map']['pods'] == {'%s/db' % ns: '%s/db' % target}, planned
    assert _ignore_404(core.read_namespace, target) is None
    restored = protect(ctx, diff=True, **args)
    assert restored.changed and not restored.failed, restored
    rmap = restored['resource_map']
    assert restored['restored']['phase'] == 'Running'
    assert wait_phase_of(core, target, 'db', {'Running'}).spec.node_name == 'node-1'
    for old, kind in ((vol_a.id, 'in-tree'), (vol_b.id, 'csi')):
        new_id = rmap['volumes'][old]
        new_volume = conn.block_storage.get_volume(new_id)
        # attached to the node of the running restored pod, as on a real cluster
        assert new_id != old and new_volume.status == 'in-use' and len(new_volume.attachments) == 1
        assert new_volume.snapshot_id == snaps[old][0].id
        pv_name = rmap['persistentvolumes'][cp['extra']['volumes'][old]['pv']]
        pv = core.read_persistent_volume(pv_name)
        held = pv.spec.cinder.volume_id if kind == 'in-tree' else pv.spec.csi.volume_handle
        assert held == new_id and pv.spec.persistent_volume_reclaim_policy == 'Retain'
        assert pv.status.phase == 'Bound' and pv.spec.claim_ref.namespace == target
    for old_claim, new_claim in rmap['persistentvolumeclaims'].items():
        new_ns, new_pvc = new_claim.split('/')
        assert new_ns == target and core.read_namespaced_persistent_volume_claim(new_pvc, target).status.phase == 'Bound'
    pod = core.read_namespaced_pod('db', target)
    assert pod.spec.containers[0].security_context.run_as_user == 999 and pod.spec.init_containers
    assert pod.metadata.annotations['team'] == 'storage'
    again = protect(ctx, **args)
    assert again.changed is False and again['resource_map'] == rmap, again

    check_absent = protect(ctx, check=True, state='absent', **source)
    assert check_absent.changed and len(bank_index(bank_dir)) == 1
    absent = protect(ctx, state='absent', **source)
    assert absent.changed and absent['deleted'] == [cp['id']], absent
    assert bank_index(bank_dir) == [] and snapshots_of(conn, vol_a.id) == [] and snapshots_of(conn, vol_b.id) == []
    assert protect(ctx, state='absent', **source).changed is False
    # the restored pod and its volumes are the user's now: untouched
    assert conn.block_storage.get_volume(rmap['volumes'][vol_a.id]).status == 'in-use'


def test_pod_without_pvs_and_unbound_claim(ctx, core, conn, cluster, unique, bank_dir):
    ns = unique
    seed_pod(core, ns, 'web', [])
    done = protect(ctx, namespace=ns, pod='web', backup_name='b')
    assert done.changed and not done.failed and done['checkpoint']['extra']['volumes'] == {}, done
    # restore_point: an id or a time at/after the checkpoint selects it; a time before it names the oldest
    for point in (done['checkpoint']['id'], '2999-01-01'):
        planned = protect(ctx, check=True, namespace=ns, pod='web', backup_name='b', state='restored',
                          restore_namespace=ns + '-r', restore_point=point)
        assert planned.changed and planned['checkpoint']['id'] == done['checkpoint']['id'], planned
    early = protect(ctx, namespace=ns, pod='web', backup_name='b', state='restored', restore_namespace=ns + '-r',
                    restore_point='2000-01-01')
    assert early.failed and 'restore_point 2000-01-01' in early['msg'] and done['checkpoint']['id'] in early['msg']
    restored = protect(ctx, namespace=ns, pod='web', backup_name='b', state='restored', restore_namespace=ns + '-r')
    assert restored.changed and restored['restored']['phase'] == 'Running', restored
    assert restored['resource_map']['volumes'] == {}

    core.create_namespaced_persistent_volume_claim(ns, {'metadata': {'name': 'orphan'}, 'spec': {
        'accessModes': ['ReadWriteOnce'], 'storageClassName': 'csi-cinder-sc',
        'resources': {'requests': {'storage': '1Gi'}}}})
    core.create_namespaced_pod(ns, {'metadata': {'name': 'waiting'}, 'spec': {
        'containers': [{'name': 'c', 'image': 'busybox', 'volumeMounts': [{'name': 'v', 'mountPath': '/v'}]}],
        'volumes': [{'name': 'v', 'persistentVolumeClaim': {'claimName': 'orphan'}}]}})
    refused = protect(ctx, namespace=ns, pod='waiting', backup_name='b')
    assert refused.failed and 'persistentvolumeclaim %s/orphan is Pending, not Bound' % ns in refused['msg'], refused
    assert [c['resource']['name'] for c in bank_index(bank_dir)] == ['web']
    missing = protect(ctx, namespace=ns, pod='nope', backup_name='b')
    assert missing.failed and missing['msg'] == 'pod %s/nope not found' % ns


def test_restored_pod_fails_or_times_out(ctx, core, storage, conn, cluster, unique, bank_dir):
    """The restored pod's new volumes are attached (in-use) and detached only seconds after the pod is gone: the
    undo waits for that before deleting them (Cinder refuses an attached volume), and leaves nothing behind."""
    ns = unique
    volume = make_volume(conn, unique + '-f')
    seed_pod(core, ns, 'crash', [('data', unique + '-pv-f', volume.id, 'in-tree')],
             annotations={'emulator.localcloud/fail': 'true', 'emulator.localcloud/fail-message': 'disk is corrupt'},
             wait_phase='Failed')
    assert protect(ctx, namespace=ns, pod='crash', backup_name='b').changed
    target = unique + '-r'
    failed = protect(ctx, namespace=ns, pod='crash', backup_name='b', state='restored', restore_namespace=target)
    assert failed.failed, failed
    assert 'reached status Failed' in failed['msg'] and 'disk is corrupt' in failed['msg'], failed['msg']
    assert 'removed what this run created' in failed['msg']
    new_id = failed['resource_map']['volumes'][volume.id]
    assert new_id in failed['msg']
    assert wait_status(lambda: get_or_none(conn.block_storage.get_volume, new_id), {'gone'}) is None  # removed
    new_pv = failed['resource_map']['persistentvolumes'][unique + '-pv-f']
    assert failed['created']['persistentvolumes'] == [new_pv]
    pv_left = _ignore_404(core.read_persistent_volume, new_pv)
    assert pv_left is None or pv_left.metadata.deletion_timestamp
    ns_left = _ignore_404(core.read_namespace, target)
    assert ns_left is None or ns_left.status.phase == 'Terminating'
    assert leftovers(core, storage, conn, target) == []

    # a pod that never runs: scheduled, so its volume is attached, then deleted by the undo
    slow_volume = make_volume(conn, unique + '-s')
    seed_pod(core, ns, 'slow', [('slowdata', unique + '-pv-s', slow_volume.id, 'csi')],
             annotations={'emulator.localcloud/start-delay': '600'}, wait_phase='Pending')
    assert protect(ctx, namespace=ns, pod='slow', backup_name='b').changed
    started = time.monotonic()
    late = protect(ctx, namespace=ns, pod='slow', backup_name='b', state='restored', restore_namespace=target + 'x',
                   timeout=20, poll_interval=0.5)
    assert late.failed and 'timed out after 20s waiting for pod %sx/slow to be Running' % target in late['msg'], late
    assert 'removed what this run created' in late['msg'], late['msg']
    assert late.seconds < 150 and time.monotonic() - started < 200  # bounded by timeout, not the 600 s delay
    assert leftovers(core, storage, conn, target + 'x') == []


def test_cinder_failure_midway_and_api_down(ctx, core, conn, cluster, unique, bank_dir):
    ns = unique
    good = make_volume(conn, unique + '-good')
    bad = make_volume(conn, unique + '-bad', metadata={'localcloud_fail': 'snapshot'})
    seed_pod(core, ns, 'db', [('a', unique + '-pv-1', good.id, 'csi'), ('b', unique + '-pv-2', bad.id, 'csi')])
    failed = protect(ctx, namespace=ns, pod='db', backup_name='b')
    assert failed.failed and bad.id in failed['msg'] and 'reached status error' in failed['msg'], failed
    assert 'were removed' in failed['msg']
    assert bank_index(bank_dir) == []
    assert snapshots_of(conn, good.id) == [] and snapshots_of(conn, bad.id) == []

    down = protect(ctx, namespace=ns, pod='db', backup_name='b', kubeconfig=None, host='http://127.0.0.1:1',
                   api_key='sekrit-kube-token')
    assert down.failed and 'cannot reach the Kubernetes API' in down['msg'], down
    assert 'sekrit-kube-token' not in json.dumps(down.result) and 'sekrit-kube-token' not in down.stdout


def test_swift_bank_and_cinder_backups(ctx, core, conn, cluster, unique, bank_dir):
    ns = unique
    volume = make_volume(conn, unique + '-bk', availability_zone='nova')
    seed_pod(core, ns, 'db', [('data', unique + '-pv-bk', volume.id, 'in-tree')])
    bank = {'type': 'swift', 'container': unique + '-bank'}
    source = dict(namespace=ns, pod='db', backup_name='weekly', backup_mode='backup', bank=bank, timeout=120)
    try:
        done = protect(ctx, **source)
        assert done.changed and not done.failed, done
        cp = done['checkpoint']
        backup = conn.block_storage.get_backup(cp['extra']['volumes'][volume.id]['backup_id'])
        assert backup.status == 'available' and backup.volume_id == volume.id
        objects = [o.name for o in conn.object_store.objects(unique + '-bank')]
        assert 'checkpoints/%s/index.json' % cp['id'] in objects
        assert protect(ctx, **source).changed is False
        listed = protect(ctx, module=CHECKPOINTS, bank=bank, plugin='k8s_pod')
        assert [c['id'] for c in listed['checkpoints']] == [cp['id']] and 'swift' in listed['bank']

        restored = protect(ctx, state='restored', restore_namespace=ns + '-r', **source)
        assert restored.changed and restored['restored']['phase'] == 'Running', restored
        new_id = restored['resource_map']['volumes'][volume.id]
        assert conn.block_storage.get_volume(new_id).metadata['dataprotection_restored_from'] == backup.id
        pv = core.read_persistent_volume(restored['resource_map']['persistentvolumes'][unique + '-pv-bk'])
        assert pv.spec.cinder.volume_id == new_id

        absent = protect(ctx, state='absent', **source)
        assert absent.changed and absent['deleted'] == [cp['id']]
        assert get_or_none(conn.block_storage.get_backup, backup.id) is None
        assert [o.name for o in conn.object_store.objects(unique + '-bank')] == []
    finally:
        for obj in list(conn.object_store.objects(unique + '-bank')):
            conn.object_store.delete_object(obj, container=unique + '-bank')
        conn.object_store.delete_container(unique + '-bank', ignore_missing=True)


def test_restore_into_new_namespace_waits_for_its_service_account(ctx, core, storage, conn, cluster, unique, bank_dir):
    """The ``default`` account of a namespace the restore creates comes shortly after it (403 before); an account
    that will never come is a clear failure that leaves nothing behind."""
    ns = unique
    seed_pod(core, ns, 'web', [])
    assert protect(ctx, namespace=ns, pod='web', backup_name='b').changed
    restored = protect(ctx, namespace=ns, pod='web', backup_name='b', state='restored', restore_namespace=ns + '-sa')
    assert restored.changed and not restored.failed and restored['restored']['phase'] == 'Running', restored

    core.create_namespaced_service_account(ns, {'metadata': {'name': 'robot'}})
    core.create_namespaced_pod(ns, {'metadata': {'name': 'bot'}, 'spec': {
        'serviceAccountName': 'robot', 'containers': [{'name': 'c', 'image': 'busybox'}]}})
    wait_phase_of(core, ns, 'bot', {'Running'})
    assert protect(ctx, namespace=ns, pod='bot', backup_name='b').changed
    refused = protect(ctx, namespace=ns, pod='bot', backup_name='b', state='restored', restore_namespace=ns + '-nosa')
    assert refused.failed, refused
    assert ('error looking up service account %s-nosa/robot: serviceaccount "robot" not found' % ns
            in refused['msg']), refused['msg']
    assert 'removed what this run created' in refused['msg']
    assert leftovers(core, storage, conn, ns + '-nosa') == []


def test_debugged_pod_and_legacy_class_annotation(ctx, core, storage, conn, cluster, unique, bank_dir):
    """A pod debugged with ``kubectl debug`` (ephemeral containers: 422 on create) whose claim names its class with
    the legacy annotation ``volume.beta.kubernetes.io/storage-class`` (it wins over spec.storageClassName) restores,
    Running and Bound."""
    ns, legacy = unique, unique + '-legacy'
    storage.create_storage_class({'metadata': {'name': legacy}, 'provisioner': CSI, 'reclaimPolicy': 'Retain'})
    volume = make_volume(conn, unique + '-lg')
    core.create_namespace({'metadata': {'name': ns}})
    wait_account(core, ns)
    core.create_persistent_volume({'metadata': {'name': unique + '-pv-lg'}, 'spec': {
        'csi': {'driver': CSI, 'volumeHandle': volume.id}, 'capacity': {'storage': '1Gi'},
        'accessModes': ['ReadWriteOnce'], 'storageClassName': legacy}})
    core.create_namespaced_persistent_volume_claim(ns, {'metadata': {'name': 'data', 'annotations': {
        'volume.beta.kubernetes.io/storage-class': legacy}}, 'spec': {
        'accessModes': ['ReadWriteOnce'], 'volumeName': unique + '-pv-lg', 'resources': {'requests': {'storage': '1Gi'}}}})
    core.create_namespaced_pod(ns, {'metadata': {'name': 'app'}, 'spec': {
        'containers': [{'name': 'app', 'image': 'busybox', 'volumeMounts': [{'name': 'd', 'mountPath': '/d'}]}],
        'volumes': [{'name': 'd', 'persistentVolumeClaim': {'claimName': 'data'}}]}})
    wait_phase_of(core, ns, 'app', {'Running'})
    core.patch_namespaced_pod_ephemeralcontainers('app', ns, {'spec': {'ephemeralContainers': [
        {'name': 'debugger', 'image': 'busybox', 'targetContainerName': 'app', 'stdin': True, 'tty': True}]}})
    assert core.read_namespaced_pod('app', ns).spec.ephemeral_containers
    assert protect(ctx, namespace=ns, pod='app', backup_name='b').changed

    target = ns + '-dbg'
    restored = protect(ctx, namespace=ns, pod='app', backup_name='b', state='restored', restore_namespace=target)
    assert restored.changed and not restored.failed and restored['restored']['phase'] == 'Running', restored
    pod = core.read_namespaced_pod('app', target)
    assert not pod.spec.ephemeral_containers
    claim = core.read_namespaced_persistent_volume_claim('data', target)
    assert claim.status.phase == 'Bound'
    assert claim.metadata.annotations['volume.beta.kubernetes.io/storage-class'] == legacy
    assert 'pv.kubernetes.io/bind-completed' in claim.metadata.annotations  # set again by this cluster, not copied
    new_id = restored['resource_map']['volumes'][volume.id]
    assert core.read_persistent_volume(claim.spec.volume_name).spec.csi.volume_handle == new_id

    # the user removes the restore; once the pod is gone its volume is detached and can be deleted
    core.delete_namespace(target)
    core.delete_persistent_volume(claim.spec.volume_name)
    deadline = time.monotonic() + 60
    while conn.block_storage.get_volume(new_id).status != 'available':
        assert time.monotonic() < deadline, 'volume %s never detached' % new_id
        time.sleep(0.5)
    conn.block_storage.delete_volume(new_id)
    assert leftovers(core, storage, conn, target) == []


# -- application-consistent hooks (pods/exec through the emulator; its exec log is the witness) ------------------
FREEZE = ['fsfreeze', '--freeze', '/data0']
THAW = ['fsfreeze', '--unfreeze', '/data0']


def exec_log(kubeconfig, namespace):
    """The emulator's record of every exec in ``namespace`` and the paths still frozen (GET /emulator/exec-log)."""
    import urllib.request
    with open(kubeconfig) as handle:
        config = json.load(handle)
    server = config['clusters'][0]['cluster']['server']
    token = config['users'][0]['user']['token']
    request = urllib.request.Request('%s/emulator/exec-log?namespace=%s' % (server, namespace),
                                     headers={'Authorization': 'Bearer %s' % token})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def _stamp(value):
    """Seconds since the epoch of an ISO time (Cinder's created_at is UTC without a zone, to the second)."""
    from datetime import datetime, timezone
    value = value.rstrip('Z')
    parsed = datetime.strptime(value, '%Y-%m-%dT%H:%M:%S.%f' if '.' in value else '%Y-%m-%dT%H:%M:%S')
    return parsed.replace(tzinfo=timezone.utc).timestamp()


def test_hooks_freeze_around_the_snapshot_and_velero_annotations(ctx, core, conn, cluster, unique, bank_dir,
                                                                 kubeconfig):
    ns = unique
    vol = make_volume(conn, unique + '-h')
    seed_pod(core, ns, 'db', [('data', unique + '-pv-h', vol.id, 'csi')])
    hooks = dict(pre=[dict(container='db', command=FREEZE, timeout=10)], post=[dict(command=THAW)])
    source = dict(namespace=ns, pod='db', backup_name='consistent', hooks=hooks)

    check = protect(ctx, check=True, **source)
    assert check.changed and not check.failed, check
    assert [(h['phase'], h['status'], h['container']) for h in check['hooks']] == [
        ('pre', '(would run)', 'db'), ('post', '(would run)', 'db')]
    assert exec_log(kubeconfig, ns)['execs'] == [] and snapshots_of(conn, vol.id) == []

    run = protect(ctx, **source)
    assert run.changed and not run.failed, run
    assert [(h['phase'], h['command'], h['status'], h['exit_code'], h['source']) for h in run['hooks']] == [
        ('pre', FREEZE, 'succeeded', 0, 'hooks'), ('post', THAW, 'succeeded', 0, 'hooks')]
    assert all(h['seconds'] >= 0 for h in run['hooks'])
    log = exec_log(kubeconfig, ns)
    assert [(e['pod'], e['container'], e['command'], e['exitCode']) for e in log['execs']] == [
        ('db', 'db', FREEZE, 0), ('db', 'db', THAW, 0)] and log['frozen'] == []
    (snapshot,) = snapshots_of(conn, vol.id)
    taken = _stamp(snapshot.created_at)
    freeze, thaw = log['execs']
    # Cinder keeps created_at to the whole second (its database rounds or truncates the fraction): frozen before it,
    # thawed after it, within that second; the checkpoint's own taken_at (microseconds) is checked exactly below
    assert _stamp(freeze['finishedAt']) - 1 <= taken <= _stamp(thaw['startedAt']) + 1, (freeze, snapshot.created_at,
                                                                                        thaw)
    taken_at = run['checkpoint']['extra']['volumes'][vol.id]['taken_at']
    assert _stamp(freeze['finishedAt']) <= _stamp(taken_at) <= _stamp(thaw['startedAt'])
    assert 'pre hook in pod %s/db' % ns in [t['step'] for t in run['timings']]
    assert protect(ctx, **source).changed is False
    assert len(exec_log(kubeconfig, ns)['execs']) == 2  # an unchanged rerun runs no hook

    # Velero's annotations on the pod replace the option's hooks for their phase
    vol2 = make_volume(conn, unique + '-v')
    seed_pod(core, ns, 'velero', [('vdata', unique + '-pv-v', vol2.id, 'csi')], annotations={
        'pre.hook.backup.velero.io/command': json.dumps(['sh', '-c', 'echo flushed']),
        'pre.hook.backup.velero.io/timeout': '20s',
        'post.hook.backup.velero.io/command': 'true',
        'post.hook.backup.velero.io/on-error': 'Continue'})
    run = protect(ctx, namespace=ns, pod='velero', backup_name='velero', hooks=hooks)
    assert run.changed and not run.failed, run
    assert [(h['phase'], h['command'], h['source'], h['timeout'], h['on_error'], h['stdout']) for h in run['hooks']] == [
        ('pre', ['sh', '-c', 'echo flushed'], 'annotation', 20, 'fail', 'flushed\n'),
        ('post', ['true'], 'annotation', 30, 'continue', '')]
    assert [e['command'] for e in exec_log(kubeconfig, ns)['execs'] if e['pod'] == 'velero'] == [
        ['sh', '-c', 'echo flushed'], ['true']]
    ignored = protect(ctx, namespace=ns, pod='velero', backup_name='velero-off',
                      hooks=dict(velero_annotations=False))
    assert ignored.changed and ignored['hooks'] == [], ignored


def test_hooks_failing_pre_hook_or_timeout_leave_nothing_behind(ctx, core, conn, cluster, unique, bank_dir,
                                                                kubeconfig):
    ns = unique
    vol = make_volume(conn, unique + '-f')
    seed_pod(core, ns, 'db', [('data', unique + '-pv-f', vol.id, 'csi')])
    flush = ['sh', '-c', 'echo flush failed: disk full >&2; exit 3']
    failed = protect(ctx, namespace=ns, pod='db', backup_name='consistent',
                     hooks=dict(pre=[dict(command=FREEZE), dict(command=flush)], post=[dict(command=THAW)]))
    assert failed.failed and not failed.changed, failed
    msg = failed['msg']
    for words in ('pre hook %s' % json.dumps(flush), 'container db', 'pod %s/db' % ns, 'exited with code 3',
                  'stderr: flush failed: disk full', 'no volume was protected', 'the post hooks ran (1 succeeded)',
                  'were removed'):
        assert words in msg, (words, msg)
    assert [(h['phase'], h['status']) for h in failed['hooks']] == [('pre', 'succeeded'), ('pre', 'failed'),
                                                                   ('post', 'succeeded')]
    assert bank_index(bank_dir) == [] and snapshots_of(conn, vol.id) == []
    log = exec_log(kubeconfig, ns)
    assert [e['command'] for e in log['execs']] == [FREEZE, flush, THAW] and log['frozen'] == []

    # a hook that never ends is stopped at its timeout; with on_error fail the protection fails
    started = time.monotonic()
    slow = protect(ctx, namespace=ns, pod='db', backup_name='consistent',
                   hooks=dict(pre=[dict(command=['sleep', '3600'], timeout=2)], post=[dict(command=['true'])]))
    assert slow.failed and 'did not finish within its timeout of 2s' in slow['msg'], slow
    assert time.monotonic() - started < 240  # a hang limit (the hook sleeps 3600 s); start-up under load ~40 s
    assert slow['hooks'][0]['status'] == 'timed out' and slow['hooks'][0]['exit_code'] is None
    assert bank_index(bank_dir) == [] and snapshots_of(conn, vol.id) == []
    entries = [e for e in exec_log(kubeconfig, ns)['execs'] if e['command'] == ['sleep', '3600']]
    assert [e['state'] for e in entries] == ['client-closed']

    # with on_error continue the timeout and a missing executable are recorded and the snapshot is taken
    run = protect(ctx, namespace=ns, pod='db', backup_name='consistent', hooks=dict(
        pre=[dict(command=['sleep', '3600'], timeout=1, on_error='continue'),
             dict(command=['pg_dump'], on_error='continue')]))
    assert run.changed and not run.failed, run
    assert [(h['status'], h['exit_code']) for h in run['hooks']] == [('timed out', None), ('error', None)]
    assert 'executable file not found in $PATH' in run['hooks'][1]['error']
    assert [s.status for s in snapshots_of(conn, vol.id)] == ['available']

    # a pod that is not running: the kubelet refuses the exec, named in the message
    core.create_namespaced_pod(ns, {'metadata': {'name': 'broken', 'annotations': {'emulator.localcloud/fail': 'true'}},
                                    'spec': {'containers': [{'name': 'c', 'image': 'busybox'}]}})
    wait_phase_of(core, ns, 'broken', {'Failed'})
    refused = protect(ctx, namespace=ns, pod='broken', backup_name='b', hooks=dict(pre=[dict(command=['true'])]))
    assert refused.failed and 'container not found ("c")' in refused['msg'], refused
    assert [c for c in bank_index(bank_dir) if c['resource']['name'] == 'broken'] == []

"""k8s_app_protect through real ansible-playbook runs: a Deployment with a ConfigMap, a Secret, a ServiceAccount and
a Service, and a StatefulSet with 2 replicas and volume claim templates, on real Cinder volumes (the local cloud's
Kubernetes emulator attaches them in Cinder), protected by namespace and by label selector, restored into another
namespace, rerun unchanged, deleted; and a restore that fails half-way leaving nothing behind.
"""
import base64
import os
import subprocess
import time

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from conftest import get_or_none, wait_status
from playbook_runner import ROOT, base_env
from test_k8s_pod_protect import (  # noqa: F401  (fixtures)
    CSI,
    _ignore_404,
    bank_dir,
    bank_index,
    cluster,
    conn,
    core,
    ctx,
    kubeconfig,
    leftovers,
    make_volume,
    protect,
    snapshots_of,
    storage,
    wait_account,
)

MODULE = 'dataprotection.openstack.k8s_app_protect'


@pytest.fixture
def apps(kubeconfig):
    cfg = k8s_client.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    return k8s_client.AppsV1Api(k8s_client.ApiClient(cfg))


def app(ctx, **args):
    args.setdefault('timeout', 90)
    args.setdefault('poll_interval', 0.5)
    return protect(ctx, module=MODULE, **args)


def static_claim(core, namespace, claim, pv, volume_id, labels=None):
    """A PV on the Cinder volume (CSI) and a claim bound to it: what a CSI provisioner would have made."""
    core.create_persistent_volume({'metadata': {'name': pv}, 'spec': {
        'csi': {'driver': CSI, 'volumeHandle': volume_id, 'fsType': 'ext4'}, 'capacity': {'storage': '1Gi'},
        'accessModes': ['ReadWriteOnce'], 'storageClassName': 'csi-cinder-sc', 'persistentVolumeReclaimPolicy': 'Retain',
        'claimRef': {'namespace': namespace, 'name': claim}}})
    core.create_namespaced_persistent_volume_claim(namespace, {'metadata': {'name': claim, 'labels': labels or {}},
                                                               'spec': {'accessModes': ['ReadWriteOnce'],
                                                                        'storageClassName': 'csi-cinder-sc',
                                                                        'volumeName': pv,
                                                                        'resources': {'requests': {'storage': '1Gi'}}}})


def seed_shop(core, apps, conn, unique, ns, web_annotations=None):
    """web: Deployment (1 replica) on claim web-data, with config, secret, account and a NodePort service;
    db: StatefulSet (2 replicas, claims data-db-0/1 from its template) behind a headless service; Cinder volumes."""
    core.create_namespace({'metadata': {'name': ns}})
    wait_account(core, ns)
    volumes = dict((name, make_volume(conn, '%s-%s' % (unique, name))) for name in ('web', 'db0', 'db1'))
    static_claim(core, ns, 'web-data', unique + '-pv-web', volumes['web'].id)
    for ordinal in (0, 1):
        static_claim(core, ns, 'data-db-%d' % ordinal, '%s-pv-db%d' % (unique, ordinal),
                     volumes['db%d' % ordinal].id, labels={'app': 'db'})
    core.create_namespaced_config_map(ns, {'metadata': {'name': 'web-config'}, 'data': {'MODE': 'shop'}})
    core.create_namespaced_secret(ns, {'metadata': {'name': 'web-secret'}, 'stringData': {'password': 's3cr3t'}})
    core.create_namespaced_service_account(ns, {'metadata': {'name': 'web-sa'}})
    core.create_namespaced_config_map(ns, {'metadata': {'name': 'unrelated'}, 'data': {'x': '1'}})
    core.create_namespaced_service(ns, {'metadata': {'name': 'web'}, 'spec': {
        'type': 'NodePort', 'selector': {'app': 'web'}, 'ports': [{'port': 80, 'targetPort': 8080}]}})
    core.create_namespaced_service(ns, {'metadata': {'name': 'db'}, 'spec': {
        'clusterIP': 'None', 'selector': {'app': 'db'}, 'ports': [{'port': 5432}]}})
    apps.create_namespaced_deployment(ns, {'metadata': {'name': 'web', 'labels': {'app': 'web'}}, 'spec': {
        'replicas': 1, 'selector': {'matchLabels': {'app': 'web'}},
        'template': {'metadata': {'labels': {'app': 'web', 'tier': 'web'}, 'annotations': web_annotations or {}},
                     'spec': {'serviceAccountName': 'web-sa', 'containers': [{
                         'name': 'web', 'image': 'nginx', 'ports': [{'containerPort': 8080}],
                         'envFrom': [{'configMapRef': {'name': 'web-config'}}],
                         'env': [{'name': 'PASSWORD', 'valueFrom': {'secretKeyRef': {'name': 'web-secret',
                                                                                     'key': 'password'}}}],
                         'volumeMounts': [{'name': 'data', 'mountPath': '/data'}]}],
                         'volumes': [{'name': 'data', 'persistentVolumeClaim': {'claimName': 'web-data'}}]}}}})
    apps.create_namespaced_stateful_set(ns, {'metadata': {'name': 'db'}, 'spec': {
        'replicas': 2, 'serviceName': 'db', 'selector': {'matchLabels': {'app': 'db'}},
        'template': {'metadata': {'labels': {'app': 'db'}}, 'spec': {'containers': [{
            'name': 'db', 'image': 'postgres:16', 'volumeMounts': [{'name': 'data', 'mountPath': '/var/lib/pg'}]}]}},
        'volumeClaimTemplates': [{'metadata': {'name': 'data'}, 'spec': {
            'accessModes': ['ReadWriteOnce'], 'storageClassName': 'csi-cinder-sc',
            'resources': {'requests': {'storage': '1Gi'}}}}]}})
    return volumes


def wait_app_ready(apps, ns, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        web = _ignore_404(apps.read_namespaced_deployment, 'web', ns)
        db = _ignore_404(apps.read_namespaced_stateful_set, 'db', ns)
        if web and db and (web.status.available_replicas or 0) >= 1 and (db.status.ready_replicas or 0) >= 2:
            return web, db
        assert time.monotonic() < deadline, 'shop in %s not ready: %s %s' % (ns, web and web.status,
                                                                              db and db.status)
        time.sleep(0.5)


def claim_volume(core, ns, claim):
    pvc = core.read_namespaced_persistent_volume_claim(claim, ns)
    assert pvc.status.phase == 'Bound', pvc.status
    return core.read_persistent_volume(pvc.spec.volume_name).spec.csi.volume_handle


def test_namespace_and_selector_protect_restore_rerun_absent(ctx, core, apps, storage, conn, cluster, unique, bank_dir):
    ns, target = unique + '-shop', unique + '-copy'
    volumes = seed_shop(core, apps, conn, unique, ns)
    wait_app_ready(apps, ns)
    original_web_ip = core.read_namespaced_service('web', ns).spec.cluster_ip

    # a selection is required; an empty one is refused
    refused = app(ctx, namespace=ns, protection='all')
    assert refused.failed and 'needs a selection' in refused['msg'], refused
    refused = app(ctx, namespace=ns, protection='all', pods=[])
    assert refused.failed and 'empty' in refused['msg'], refused

    planned = app(ctx, check=True, diff=True, namespace=ns, whole_namespace=True, protection='all')
    assert planned.changed and not planned.failed, planned
    assert bank_index(bank_dir) == []
    assert all(snapshots_of(conn, v.id) == [] for v in volumes.values())

    done = app(ctx, diff=True, namespace=ns, whole_namespace=True, protection='all')
    assert done.changed and not done.failed, done
    objects = done['checkpoint']['extra']['objects']
    for key in ('ServiceAccount/%s/web-sa', 'ConfigMap/%s/web-config', 'ConfigMap/%s/unrelated', 'Secret/%s/web-secret',
                'PersistentVolumeClaim/%s/web-data', 'PersistentVolumeClaim/%s/data-db-0',
                'PersistentVolumeClaim/%s/data-db-1', 'Service/%s/web', 'Service/%s/db', 'Deployment/%s/web',
                'StatefulSet/%s/db'):
        assert key % ns in objects, (key, objects)
    assert not [k for k in objects if k.startswith('Pod/') or k.startswith('ReplicaSet/')], objects
    assert 'ServiceAccount/%s/default' % ns not in objects and 'ConfigMap/%s/kube-root-ca.crt' % ns not in objects
    recorded = done['checkpoint']['extra']['volumes']
    assert set(recorded) == set(v.id for v in volumes.values())
    assert sorted(r['order'] for r in recorded.values()) == [1, 2, 3] and all(r['taken_at'] for r in recorded.values())
    for volume in volumes.values():
        assert [s.status for s in snapshots_of(conn, volume.id)] == ['available']
    assert app(ctx, namespace=ns, whole_namespace=True, protection='all').changed is False

    # by selector: the web tier only (its owner, claim, config, secret, account and service; not db, not unrelated)
    web_only = app(ctx, namespace=ns, label_selector='tier=web', protection='web', exclude_kinds=['Secret'])
    assert web_only.changed and not web_only.failed, web_only
    web_objects = sorted(web_only['checkpoint']['extra']['objects'])
    assert web_objects == sorted(k % ns for k in ('ServiceAccount/%s/web-sa', 'ConfigMap/%s/web-config',
                                                  'PersistentVolumeClaim/%s/web-data', 'Service/%s/web',
                                                  'Deployment/%s/web')), web_objects

    # restore into the original namespace: every object is still there -> refused before anything is made
    clash = app(ctx, namespace=ns, protection='all', state='restored')
    assert clash.failed and 'already exist' in clash['msg'] and 'Deployment/%s/web' % ns in clash['msg'], clash

    mapping = {ns: target}
    preview = app(ctx, check=True, namespace=ns, protection='all', state='restored', namespace_map=mapping)
    assert preview.changed and _ignore_404(core.read_namespace, target) is None, preview

    restored = app(ctx, diff=True, namespace=ns, protection='all', state='restored', namespace_map=mapping)
    assert restored.changed and not restored.failed, restored
    statuses = dict((o['restored_as'], o['status']) for o in restored['restored']['objects'])
    assert statuses['Deployment/%s/web' % target] == 'created' and statuses['StatefulSet/%s/db' % target] == 'created'
    web, db = wait_app_ready(apps, target, timeout=5)  # the module waited: ready already
    assert db.status.ready_replicas == 2
    new_ids = restored['resource_map']['volumes']
    assert set(new_ids) == set(v.id for v in volumes.values()) and None not in new_ids.values()
    for claim, original in (('web-data', 'web'), ('data-db-0', 'db0'), ('data-db-1', 'db1')):
        new_id = claim_volume(core, target, claim)
        assert new_id == new_ids[volumes[original].id]
        assert conn.block_storage.get_volume(new_id).snapshot_id  # made from the protection's snapshot
    pod = [p for p in core.list_namespaced_pod(target, label_selector='app=web').items][0]
    assert pod.spec.service_account_name == 'web-sa'
    secret = core.read_namespaced_secret('web-secret', target)
    assert base64.b64decode(secret.data['password']) == b's3cr3t'
    assert core.read_namespaced_config_map('web-config', target).data == {'MODE': 'shop'}
    web_svc = core.read_namespaced_service('web', target)
    assert web_svc.spec.cluster_ip and web_svc.spec.cluster_ip != original_web_ip
    assert core.read_namespaced_service('db', target).spec.cluster_ip == 'None'
    assert restored['resource_map']['objects']['Service/%s/web' % ns] == 'Service/%s/web' % target

    again = app(ctx, namespace=ns, protection='all', state='restored', namespace_map=mapping)
    assert again.changed is False and not again.failed, again
    assert set(o['status'] for o in again['restored']['objects']) == {'exists'}

    # the ready-to-run playbook, as an operator runs it (OS_CLOUD / K8S_AUTH_KUBECONFIG from the environment)
    kubeconfig_path, _bank, cloud_env = ctx
    env = base_env(dict(cloud_env, OS_CLOUD='localcloud-demo2', K8S_AUTH_KUBECONFIG=kubeconfig_path))
    play = subprocess.run([os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook'), '-i', 'localhost,',
                           os.path.join(ROOT, 'playbooks', 'protect_namespace.yml'), '-e', 'app_namespace=' + ns,
                           '-e', 'label_selector=tier=web', '-e', 'protection=pb', '-e', 'restore_to=%s-pb' % unique,
                           '-e', 'bank_path=' + bank_dir, '-e', 'task_timeout=90'],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert play.returncode == 0, play.stdout[-3000:] + play.stderr[-2000:]
    assert 'Deployment/%s-pb/web' % unique in play.stdout and 'Traceback' not in play.stdout + play.stderr
    assert apps.read_namespaced_deployment('web', unique + '-pb').status.available_replicas == 1
    assert app(ctx, namespace=ns, protection='pb', state='absent').changed

    gone = app(ctx, namespace=ns, protection='all', state='absent')
    assert gone.changed and gone['deleted'] == [done['checkpoint']['id']], gone
    assert [s.status for s in snapshots_of(conn, volumes['web'].id)] == ['available']  # the 'web' protection's
    for name in ('db0', 'db1'):
        assert wait_status(lambda v=volumes[name]: (snapshots_of(conn, v.id) or [None])[0], {'gone'}) is None
    assert app(ctx, namespace=ns, protection='web', state='absent').changed
    for volume in volumes.values():
        assert wait_status(lambda v=volume: (snapshots_of(conn, v.id) or [None])[0], {'gone'}) is None
    assert bank_index(bank_dir) == []
    assert app(ctx, namespace=ns, protection='all', state='absent').changed is False
    assert apps.read_namespaced_deployment('web', target)  # restored objects are not touched


def test_restore_failing_half_way_leaves_nothing(ctx, core, apps, storage, conn, cluster, unique, bank_dir):
    """The restored Deployment's pod never starts: after the timeout the undo removes the owners (their pods go),
    waits for the new volumes to be detached, deletes them, the PVs, the claims and the namespace."""
    ns, target = unique + '-slow', unique + '-slowcopy'
    seed_shop(core, apps, conn, unique, ns, web_annotations={'emulator.localcloud/start-delay': '600'})
    assert app(ctx, namespace=ns, label_selector='tier=web', protection='p').changed
    started = time.monotonic()
    failed = app(ctx, namespace=ns, protection='p', state='restored', namespace_map={ns: target}, timeout=20)
    assert failed.failed, failed
    assert 'timed out after 20s waiting for deployment %s/web to be ready' % target in failed['msg'], failed['msg']
    assert 'removed' in failed['msg'] and 'Deployment/%s/web' % target in failed['msg'], failed['msg']
    assert time.monotonic() - started < 200
    new_id = failed['resource_map']['volumes'][next(iter(failed['resource_map']['volumes']))]
    assert wait_status(lambda: get_or_none(conn.block_storage.get_volume, new_id), {'gone'}) is None
    assert leftovers(core, storage, conn, target) == []


def test_retention_sealed_secrets_and_services_answering(ctx, core, apps, storage, conn, cluster, unique, bank_dir):
    """retain/min_age rotate whole checkpoints (their Cinder snapshots with them); encrypt_secrets keeps the secret
    out of the bank and of the output, and a restore needs the passphrase; a restored Service selects the restored
    pods (its Endpoints list them)."""
    ns, target = unique + '-keep', unique + '-keepcopy'
    volumes = seed_shop(core, apps, conn, unique, ns)
    wait_app_ready(apps, ns)
    web_volume = volumes['web'].id
    key = 'correct horse battery staple %s' % unique
    base = dict(namespace=ns, label_selector='tier=web', protection='hourly', retain=2, encrypt_secrets=True,
                secrets_key=key)

    runs = [app(ctx, **base) for _ in range(2)]
    assert all(r.changed and not r.failed and r['rotation_skipped'] is False for r in runs), runs
    first, second = [r['checkpoint']['id'] for r in runs]
    assert runs[1]['deleted'] == []
    planned = app(ctx, check=True, **base)
    assert planned.changed and planned['deleted'] == [first], planned
    third = app(ctx, diff=True, **base)
    assert third.changed and third['deleted'] == [first], third
    kept = sorted(c['id'] for c in bank_index(bank_dir))
    assert kept == sorted([second, third['checkpoint']['id']])
    # the rotated-out checkpoint's snapshot is gone, the two kept ones stay
    deadline = time.monotonic() + 60
    while len(snapshots_of(conn, web_volume)) != 2:
        assert time.monotonic() < deadline, snapshots_of(conn, web_volume)
        time.sleep(1)
    skipped = app(ctx, min_age=3600, **base)
    assert skipped.changed is False and skipped['rotation_skipped'] is True, skipped
    assert skipped['checkpoint']['id'] == third['checkpoint']['id']
    refused = app(ctx, namespace=ns, label_selector='tier=web', protection='x', min_age=60)
    assert refused.failed and 'set retain as well' in refused['msg'], refused

    # the secret is sealed in the bank and never in the output; the passphrase neither
    bank_text = ''
    for root, _dirs, files in os.walk(bank_dir):
        for name in files:
            with open(os.path.join(root, name), encoding='utf-8', errors='replace') as handle:
                bank_text += handle.read()
    assert 's3cr3t' not in bank_text and base64.b64encode(b's3cr3t').decode() not in bank_text
    assert key not in bank_text
    for run in runs + [third, skipped]:
        assert key not in run.stdout and 's3cr3t' not in run.stdout

    mapping = {ns: target}
    no_key = app(ctx, namespace=ns, protection='hourly', state='restored', namespace_map=mapping)
    assert no_key.failed and 'holds sealed secrets' in no_key['msg'], no_key
    wrong = app(ctx, namespace=ns, protection='hourly', state='restored', namespace_map=mapping,
                secrets_key=key + '?')
    assert wrong.failed and 'does not open the secrets of checkpoint %s' % third['checkpoint']['id'] in wrong['msg']
    assert key not in wrong.stdout and _ignore_404(core.read_namespace, target) is None
    restored = app(ctx, namespace=ns, protection='hourly', state='restored', namespace_map=mapping, secrets_key=key)
    assert restored.changed and not restored.failed, restored
    assert key not in restored.stdout
    assert base64.b64decode(core.read_namespaced_secret('web-secret', target).data['password']) == b's3cr3t'

    # the restored Service answers: its Endpoints list the restored web pod's IP
    pod = core.list_namespaced_pod(target, label_selector='app=web').items[0]
    deadline = time.monotonic() + 30
    while True:
        endpoints = _ignore_404(core.read_namespaced_endpoints, 'web', target)
        ips = [a.ip for s in (endpoints.subsets or []) for a in (s.addresses or [])] if endpoints else []
        if pod.status.pod_ip in ips:
            break
        assert time.monotonic() < deadline, (endpoints, pod.status.pod_ip)
        time.sleep(0.5)

    # on_collision: rename - into the original namespace, which holds every object: a namespace of its own
    renamed_ns = '%s-%s' % (ns, third['checkpoint']['id'][:8])
    renamed = app(ctx, namespace=ns, protection='hourly', state='restored', on_collision='rename', secrets_key=key)
    assert renamed.changed and renamed['restored']['namespace'] == renamed_ns, renamed
    assert apps.read_namespaced_deployment('web', renamed_ns).status.available_replicas == 1
    assert app(ctx, namespace=ns, protection='hourly', state='restored', on_collision='rename',
               secrets_key=key).changed is False

    gone = app(ctx, namespace=ns, protection='hourly', state='absent')
    assert gone.changed and sorted(gone['deleted']) == kept, gone
    assert bank_index(bank_dir) == []
    deadline = time.monotonic() + 60
    while snapshots_of(conn, web_volume):
        assert time.monotonic() < deadline, snapshots_of(conn, web_volume)
        time.sleep(1)


def test_hooks_in_every_running_pod_of_the_selection(ctx, core, conn, cluster, unique, bank_dir, kubeconfig):
    from test_k8s_pod_protect import FREEZE, THAW, _stamp, exec_log, seed_pod
    ns = unique
    vol_a, vol_b = make_volume(conn, unique + '-ha'), make_volume(conn, unique + '-hb')
    seed_pod(core, ns, 'db-a', [('data-a', unique + '-pv-ha', vol_a.id, 'csi')])
    seed_pod(core, ns, 'db-b', [('data-b', unique + '-pv-hb', vol_b.id, 'csi')])
    hooks = dict(pre=[dict(command=FREEZE)], post=[dict(command=THAW)])
    run = app(ctx, namespace=ns, pods=['db-a', 'db-b'], protection='consistent', hooks=hooks)
    assert run.changed and not run.failed, run
    assert [(h['pod'], h['phase'], h['status']) for h in run['hooks']] == [
        ('%s/db-a' % ns, 'pre', 'succeeded'), ('%s/db-b' % ns, 'pre', 'succeeded'),
        ('%s/db-a' % ns, 'post', 'succeeded'), ('%s/db-b' % ns, 'post', 'succeeded')]
    log = exec_log(kubeconfig, ns)
    assert [(e['pod'], e['command']) for e in log['execs']] == [('db-a', FREEZE), ('db-b', FREEZE), ('db-a', THAW),
                                                                 ('db-b', THAW)] and log['frozen'] == []
    last_freeze, first_thaw = _stamp(log['execs'][1]['finishedAt']), _stamp(log['execs'][2]['startedAt'])
    for volume in (vol_a, vol_b):
        (snapshot,) = snapshots_of(conn, volume.id)
        assert last_freeze - 1 <= _stamp(snapshot.created_at) <= first_thaw + 1  # created_at: whole seconds
    taken = [v['taken_at'] for v in run['checkpoint']['extra']['volumes'].values()]
    assert all(last_freeze <= _stamp(t) <= first_thaw for t in taken) and len(taken) == 2

    # a pre hook failing in the second pod (its filesystem is already frozen): the first pod is thawed, and so is
    # the second (its pre hooks had started), no new checkpoint or snapshot is left
    from kubernetes.stream import stream
    stream(core.connect_get_namespaced_pod_exec, 'db-b', ns, command=FREEZE, container='db', stderr=True,
           stdin=False, stdout=True, tty=False)
    assert [f['pod'] for f in exec_log(kubeconfig, ns)['frozen']] == ['db-b']
    before = bank_index(bank_dir)
    failed = app(ctx, namespace=ns, pods=['db-a', 'db-b'], protection='broken', hooks=hooks)
    assert failed.failed and not failed.changed, failed
    assert 'pod %s/db-b exited with code 1; stderr: fsfreeze: /data0: freeze failed' % ns in failed['msg'], failed
    assert [(h['pod'][-4:], h['phase'], h['status']) for h in failed['hooks']] == [
        ('db-a', 'pre', 'succeeded'), ('db-b', 'pre', 'failed'), ('db-a', 'post', 'succeeded'),
        ('db-b', 'post', 'succeeded')]
    assert bank_index(bank_dir) == before and len(snapshots_of(conn, vol_a.id)) == 1
    assert len(snapshots_of(conn, vol_b.id)) == 1 and exec_log(kubeconfig, ns)['frozen'] == []

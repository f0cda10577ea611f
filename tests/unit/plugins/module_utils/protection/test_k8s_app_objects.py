"""What an application selection picks (owners, config, services, claims) and how objects are restored.

In-memory objects; the real API server emulator and Cinder run in tests/integration/modules/test_k8s_app_protect.py.
"""
import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s import app_objects

NS = 'shop'


def meta(name, labels=None, owner=None, **extra):
    data = dict(name=name, namespace=NS, uid='uid-' + name, labels=labels or {}, **extra)
    if owner:
        data['ownerReferences'] = [dict(kind=owner[0], name=owner[1], uid='uid-' + owner[1], controller=True)]
    return data


def pod(name, labels, owner=None, claims=(), spec=None):
    spec = dict(spec or {}, containers=[dict(name='c', image='i')] + (spec or {}).get('containers', []))
    spec['volumes'] = [dict(name=c, persistentVolumeClaim=dict(claimName=c)) for c in claims]
    return dict(metadata=meta(name, labels, owner), spec=spec, status=dict(phase='Running'))


class Objects:
    """list/get of a KubeObjects over dicts; label selectors of the form k=v."""

    def __init__(self, **by_kind):
        self.by_kind = by_kind

    def list(self, kind, namespace, label_selector=None):
        found = [o for o in self.by_kind.get(kind, []) if o['metadata']['namespace'] == namespace]
        if label_selector:
            key, value = label_selector.split('=')
            found = [o for o in found if o['metadata'].get('labels', {}).get(key) == value]
        return found

    def get(self, kind, namespace, name):
        return next((o for o in self.list(kind, namespace) if o['metadata']['name'] == name), None)


class Kube:
    """get_pvc/get_pv: every claim is Bound to a CSI Cinder PV ``pv-<claim>`` on volume ``vol-<claim>``."""

    def get_pvc(self, namespace, name):
        return dict(metadata=dict(name=name, namespace=namespace), spec=dict(volumeName='pv-' + name),
                    status=dict(phase='Bound'))

    def get_pv(self, name):
        return dict(metadata=dict(name=name), spec=dict(csi=dict(driver='cinder.csi.openstack.org',
                                                                 volumeHandle='vol-' + name[3:])))


def shop():
    template = dict(metadata=dict(labels=dict(app='web')), spec=dict(
        serviceAccountName='web-sa', imagePullSecrets=[dict(name='registry')],
        containers=[dict(name='web', image='nginx', envFrom=[dict(configMapRef=dict(name='web-config'))],
                         env=[dict(name='P', valueFrom=dict(secretKeyRef=dict(name='web-secret', key='p')))])],
        volumes=[dict(name='data', persistentVolumeClaim=dict(claimName='web-data'))]))
    return Objects(
        Pod=[pod('web-5d8f-abcde', dict(app='web'), ('ReplicaSet', 'web-5d8f'), ['web-data'], template['spec']),
             pod('db-0', dict(app='db'), ('StatefulSet', 'db'), ['data-db-0']),
             pod('db-1', dict(app='db'), ('StatefulSet', 'db'), ['data-db-1']),
             pod('report-1', dict(app='report'), ('Job', 'report')),
             pod('debug', dict(app='debug'))],
        ReplicaSet=[dict(metadata=meta('web-5d8f', owner=('Deployment', 'web')), spec={})],
        Deployment=[dict(metadata=meta('web', dict(app='web')), spec=dict(replicas=1, template=template))],
        StatefulSet=[dict(metadata=meta('db'), spec=dict(replicas=2, template=dict(spec=dict(containers=[]))))],
        DaemonSet=[],
        ServiceAccount=[dict(metadata=meta('default')), dict(metadata=meta('web-sa')), dict(metadata=meta('other'))],
        ConfigMap=[dict(metadata=meta('kube-root-ca.crt')), dict(metadata=meta('web-config')),
                   dict(metadata=meta('unrelated'))],
        Secret=[dict(metadata=meta('web-secret'), type='Opaque'), dict(metadata=meta('registry')),
                dict(metadata=meta('web-sa-token'), type='kubernetes.io/service-account-token')],
        Service=[dict(metadata=meta('web'), spec=dict(selector=dict(app='web'))),
                 dict(metadata=meta('db'), spec=dict(selector=dict(app='db'), clusterIP='None')),
                 dict(metadata=meta('external'), spec=dict(type='ExternalName'))],
    )


def test_a_replica_set_pod_is_protected_through_its_deployment_with_what_its_template_needs():
    app = app_objects.collect(shop(), Kube(), NS, label_selector='app=web')
    assert app.keys() == ['ServiceAccount/shop/web-sa', 'ConfigMap/shop/web-config', 'Secret/shop/registry',
                          'Secret/shop/web-secret', 'PersistentVolumeClaim/shop/web-data', 'Service/shop/web',
                          'Deployment/shop/web']
    assert app.members == {'Deployment/shop/web': ['web-5d8f-abcde']}
    assert [v['cinder_volume_id'] for v in app.volumes] == ['vol-web-data']
    assert app.problems == []


def test_one_pod_of_a_statefulset_selects_the_statefulset_with_every_replica_claim():
    app = app_objects.collect(shop(), Kube(), NS, pods=['db-1'])
    assert app.keys() == ['PersistentVolumeClaim/shop/data-db-0', 'PersistentVolumeClaim/shop/data-db-1',
                          'Service/shop/db', 'StatefulSet/shop/db']
    assert app.members == {'StatefulSet/shop/db': ['db-0', 'db-1']}


def test_whole_namespace_takes_every_kind_except_what_the_cluster_makes_and_names_a_job_pod():
    app = app_objects.collect(shop(), Kube(), NS)
    keys = app.keys()
    for expected in ('ServiceAccount/shop/other', 'ConfigMap/shop/unrelated', 'Service/shop/external',
                     'Deployment/shop/web', 'StatefulSet/shop/db', 'Pod/shop/debug'):
        assert expected in keys
    for system in ('ServiceAccount/shop/default', 'ConfigMap/shop/kube-root-ca.crt', 'Secret/shop/web-sa-token',
                   'Pod/shop/web-5d8f-abcde', 'ReplicaSet/shop/web-5d8f', 'Pod/shop/report-1'):
        assert system not in keys
    assert app.problems == ['pod shop/report-1 cannot be protected: it is owned by Job report']


def test_kinds_can_be_left_out_and_missing_pods_are_named():
    app = app_objects.collect(shop(), Kube(), NS, label_selector='app=web', kinds=('ConfigMap', 'Service'))
    assert [k for k in app.keys() if k.startswith(('Secret', 'ServiceAccount'))] == []
    with pytest.raises(NotFoundError, match='pod.s. nope, gone not found in namespace shop'):
        app_objects.collect(shop(), Kube(), NS, pods=['nope', 'debug', 'gone'])


def test_a_selector_that_picks_nothing_selects_nothing():
    app = app_objects.collect(shop(), Kube(), NS, label_selector='app=none')
    assert app.keys() == [] and app.volumes == []


def test_restored_service_gets_new_ips_and_node_ports_headless_stays_headless():
    service = dict(apiVersion='v1', kind='Service', metadata=meta('web', resourceVersion='9'), spec=dict(
        type='NodePort', clusterIP='10.96.0.7', clusterIPs=['10.96.0.7'], selector=dict(app='web'),
        ports=[dict(port=80, nodePort=30080)]), status=dict(loadBalancer={}))
    body = app_objects.restored_object('Service', service, 'copy', 'cp-1')
    assert 'clusterIP' not in body['spec'] and 'clusterIPs' not in body['spec']
    assert body['spec']['ports'] == [dict(port=80)] and 'status' not in body
    assert body['metadata']['namespace'] == 'copy' and 'resourceVersion' not in body['metadata']
    assert body['metadata']['labels']['dataprotection.openstack/checkpoint'] == 'cp-1'
    assert body['metadata']['annotations']['dataprotection.openstack/original-namespace'] == NS
    headless = dict(service, spec=dict(clusterIP='None', clusterIPs=['None'], selector={}))
    assert app_objects.restored_object('Service', headless, 'copy', 'cp-1')['spec']['clusterIP'] == 'None'
    deployment = dict(metadata=meta('web', annotations={'deployment.kubernetes.io/revision': '3', 'team': 'a'}),
                      spec={})
    restored = app_objects.restored_object('Deployment', deployment, 'copy', 'cp-1')
    assert restored['apiVersion'] == 'apps/v1' and 'deployment.kubernetes.io/revision' not in \
        restored['metadata']['annotations'] and restored['metadata']['annotations']['team'] == 'a'


@pytest.mark.parametrize('kind, obj, expected', [
    ('Deployment', dict(metadata=dict(generation=2), spec=dict(replicas=2),
                        status=dict(observedGeneration=2, availableReplicas=2)), True),
    ('Deployment', dict(metadata=dict(generation=2), spec=dict(replicas=2),
                        status=dict(observedGeneration=1, availableReplicas=2)), False),
    ('StatefulSet', dict(spec=dict(replicas=2), status=dict(readyReplicas=1)), False),
    ('StatefulSet', dict(spec=dict(replicas=0), status={}), True),
    ('DaemonSet', dict(status=dict(desiredNumberScheduled=1, numberReady=1)), True),
    ('Pod', dict(status=dict(phase='Pending')), False),
    ('PersistentVolumeClaim', dict(status=dict(phase='Bound')), True),
])
def test_ready(kind, obj, expected):
    assert app_objects.ready(kind, obj)[0] is expected

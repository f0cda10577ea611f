"""Freezer backups and bank checkpoints as protections (fleet_kinds.py, fleet.py) and their report rows (report.py),
without a cloud: fakes count the listing calls, which must not grow with the number of resources."""
import datetime
import json
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils import fleet, fleet_kinds, report
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError

NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.timezone.utc)
MANAGED = {'dataprotection_managed': 'true', 'dataprotection_protection': 'nightly'}


def ago(hours):
    return (NOW - datetime.timedelta(hours=hours)).strftime('%Y-%m-%dT%H:%M:%S.%f')


class Obj:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


def cinder_backup(bid, volume_id, name, hours, status='available', record=None, freezer=True):
    metadata = dict(created_by='freezer', freezer_backup_id=record) if freezer else {}
    return Obj(id=bid, volume_id=volume_id, name=name, status=status, created_at=ago(hours), metadata=metadata)


def freezer_record(rid, volume_id, name, hours, status='available'):
    stamp = int((NOW - datetime.timedelta(hours=hours)).timestamp())
    return dict(backup_id=rid, status=status, backup_metadata=dict(
        backup_name=name, cindernative_vol_id=volume_id, mode='cindernative', time_stamp=stamp))


# -- Freezer -------------------------------------------------------------------------------------------------------
def test_freezer_attempts_newest_available_and_failures():
    backups = [cinder_backup('b-old', 'v1', 'nightly', 30, record='r-old'),
               cinder_backup('b-new', 'v1', 'nightly', 2, record='r-new'),
               cinder_backup('b-weekly', 'v1', 'weekly', 5),
               cinder_backup('b-foreign', 'v1', 'nightly', 0.5, freezer=False),   # not Freezer's: no protection
               cinder_backup('b-v2', 'v2', 'nightly', 1, status='error')]
    records = [freezer_record('r-old', 'v1', 'nightly', 30), freezer_record('r-new', 'v1', 'nightly', 2),
               freezer_record('r-gone', 'v1', 'nightly', 40),                    # its Cinder backup was removed
               freezer_record('r-fail', 'v3', 'nightly', 1, status='error'),     # the agent failed: no Cinder backup
               freezer_record('r-run', 'v4', 'nightly', 0.1, status='creating')]
    attempts = fleet_kinds.freezer_attempts(backups, records)
    assert sorted(attempts) == ['v1', 'v2', 'v3', 'v4']
    assert sorted(a['id'] for a in attempts['v1']['nightly']) == ['b-new', 'b-old']
    found = dict((v, fleet.newest_per_name('freezer_backup', attempts[v], NOW)) for v in attempts)
    v1 = found['v1']['nightly']
    assert (v1['kind'], v1['snapshot_id'], v1['snapshot_name'], v1['age_seconds']) == (
        'freezer_backup', 'b-new', 'nightly', 7200)
    assert v1['available'] == 2 and v1['last_failed'] is False
    assert found['v1']['weekly']['snapshot_id'] == 'b-weekly'
    assert found['v2']['nightly']['snapshot_id'] is None and found['v2']['nightly']['last_failed'] is True
    v3 = found['v3']['nightly']
    assert v3['last_id'] == 'r-fail' and v3['last_failed'] is True and v3['snapshot_id'] is None
    v4 = found['v4']['nightly']
    assert v4['last_status'] == 'creating' and v4['last_failed'] is False and v4['snapshot_id'] is None


def test_freezer_record_in_error_fails_its_cinder_backup():
    attempts = fleet_kinds.freezer_attempts(
        [cinder_backup('b1', 'v1', 'nightly', 3, record='r1'), cinder_backup('b2', 'v1', 'nightly', 1, record='r2')],
        [freezer_record('r1', 'v1', 'nightly', 3), freezer_record('r2', 'v1', 'nightly', 1, status='error')])
    found = fleet.newest_per_name('freezer_backup', attempts['v1'], NOW)['nightly']
    assert found['snapshot_id'] == 'b1' and found['last_id'] == 'b2' and found['last_failed'] is True


def test_best_of_takes_the_youngest_kind():
    snaps = fleet.protections_of([dict(id='s', name='s', status='available', created_at=ago(5), metadata=MANAGED)],
                                 now=NOW)
    frozen = fleet.newest_per_name('freezer_backup', {'nightly': [dict(id='b', name='nightly', status='available',
                                                                       created_at=ago(1))]}, NOW)
    broken = fleet.newest_per_name('freezer_backup', {'weekly': [dict(id='e', name='weekly', status='error',
                                                                      created_at=ago(1))]}, NOW)
    best = fleet.best_of({'snapshot': snaps, 'freezer_backup': dict(frozen, **broken)})
    assert best['nightly']['kind'] == 'freezer_backup' and best['nightly']['snapshot_id'] == 'b'
    assert best['weekly']['last_failed'] is True
    assert fleet.best_of({'snapshot': snaps})['nightly']['kind'] == 'snapshot'


# -- a fake cloud: the listing calls are counted ---------------------------------------------------------------------
class Response:
    def __init__(self, status, body):
        self.status_code, self._body = status, body
        self.content = json.dumps(body).encode()

    def json(self):
        return self._body


class Cloud:
    """Volumes, snapshots, backups and freezer-api backup records of one project; ``calls`` names every request."""

    def __init__(self, volumes, backups, records, freezer=True):
        self.calls = []
        self.current_project_id = 'demo-id'
        self.config = Obj(config={'auth': {'project_name': 'demo'}})
        cloud = self

        def listing(what, items):
            def call(**kwargs):
                cloud.calls.append(what)
                return list(items)
            return call

        self.block_storage = Obj(volumes=listing('volumes', volumes), snapshots=listing('snapshots', []),
                                 backups=listing('backups', backups))
        self.identity = Obj(projects=lambda: [Obj(id=i, name=n) for i, n in (
            ('demo-id', 'demo'), ('d2-id', 'demo2'), ('d3-id', 'demo3'))])

        class Session:
            def get_endpoint(self, service_type=None, interface=None):
                return 'http://freezer:9090' if freezer and service_type == 'backup' else None

            def request(self, url, method, raise_exc=True, params=None, **kwargs):
                cloud.calls.append('%s %s' % (method, url))
                return Response(200, {'backups': records})
        self.session = Session()


def volume(vid, name, project_id='demo-id'):
    return Obj(id=vid, name=name, project_id=project_id, availability_zone='nova', size=1, status='available',
               metadata={}, created_at=ago(100))


@pytest.mark.parametrize('count', [2, 40])
def test_fleet_reads_freezer_protections_with_bounded_requests(count):
    volumes = [volume('v%d' % i, 'vol%d' % i) for i in range(count)]
    backups = [cinder_backup('b%d' % i, 'v%d' % i, 'nightly', 1 + i % 3, record='r%d' % i) for i in range(count)]
    records = [freezer_record('r%d' % i, 'v%d' % i, 'nightly', 1 + i % 3) for i in range(count)]
    cloud = Cloud(volumes, backups, records)
    reader = fleet.Fleet(cloud)
    found = reader.read(['volume'], now=NOW)
    assert cloud.calls == ['volumes', 'snapshots', 'backups', 'GET http://freezer:9090/v2/demo-id/backups']
    assert reader.skipped == [] and len(found) == count
    first = found[0]
    assert first['protections_by_kind'] == {'freezer_backup': first['protections']}
    assert first['protections']['nightly']['kind'] == 'freezer_backup'
    rows, summary = report.build(found, None, 2.5 * 3600)
    assert set(r['protection_kind'] for r in rows) == {'freezer_backup'}
    stale = sum(1 for i in range(count) if i % 3 == 2)  # 3 hours old
    assert (summary['protected'], summary['stale']) == (count - stale, stale)


def test_freezer_records_read_only_for_projects_owning_a_volume():
    cloud = Cloud([volume('v1', 'vol1', 'd2-id')], [cinder_backup('b1', 'v1', 'nightly', 1, record='r1')],
                  [freezer_record('r1', 'v1', 'nightly', 1)])
    found = fleet.Fleet(cloud, all_projects=True).read(['volume'], now=NOW)
    assert cloud.calls == ['volumes', 'snapshots', 'backups', 'GET http://freezer:9090/v2/d2-id/backups']
    assert found[0]['project_name'] == 'demo2' and found[0]['protections']['nightly']['snapshot_id'] == 'b1'


def test_fleet_without_freezer_api_skips_the_kind():
    cloud = Cloud([volume('v1', 'vol1')], [cinder_backup('b1', 'v1', 'nightly', 1)], [], freezer=False)
    reader = fleet.Fleet(cloud)
    found = reader.read(['volume'], now=NOW)
    assert cloud.calls == ['volumes', 'snapshots']
    assert reader.skipped == ['freezer_backup'] and 'freezer-api' in reader.warnings[0]
    assert found[0]['protections'] == {}
    assert fleet.Fleet(Cloud([], [], [])).read(['volume'], now=NOW, freezer=False) == []
    empty = Cloud([], [], [])
    assert fleet.Fleet(empty).read(['volume'], now=NOW) == [] and empty.calls == ['volumes', 'snapshots']


# -- Kubernetes checkpoints ------------------------------------------------------------------------------------------
def checkpoint(cid, plugin, key, name, hours, status='available'):
    return dict(id=cid, plugin=plugin, status=status, created_at=ago(hours) + 'Z', protection=dict(name=name),
                resource=dict(key=key))


INDEXES = [checkpoint('c1', 'k8s_pod', 'shop/db', 'nightly', 30), checkpoint('c2', 'k8s_pod', 'shop/db', 'nightly', 2),
           checkpoint('c3', 'k8s_pod', 'shop/db', 'nightly', 0.1, status='deleting'),
           checkpoint('c4', 'k8s_pod', 'shop/cache', 'nightly', 3),
           checkpoint('c5', 'k8s_pod', 'shop/cache', 'nightly', 1, status='error'),
           checkpoint('c6', 'k8s_app', 'shop', 'daily', 1), checkpoint('c7', 'k8s_app', 'billing', 'daily', 1),
           checkpoint('c8', 'other', 'x', 'daily', 1)]


def test_checkpoint_attempts():
    attempts = fleet_kinds.checkpoint_attempts(INDEXES)
    assert sorted(attempts) == [('application', 'billing'), ('application', 'shop'), ('pod', 'shop/cache'),
                                ('pod', 'shop/db')]
    assert [a['id'] for a in attempts[('pod', 'shop/db')]['nightly']] == ['c1', 'c2']  # deleting is no attempt


class Bank:
    def __init__(self, indexes):
        self.indexes, self.calls = indexes, 0

    def list(self):
        self.calls += 1
        return list(self.indexes)


class Kube:
    def __init__(self, pods, namespaces):
        self.pods, self.namespaces, self.calls = pods, namespaces, []
        self.api = Obj(list_namespace=lambda: {'items': [
            {'metadata': {'name': n, 'uid': 'ns-' + n, 'labels': {'team': n}}, 'status': {'phase': 'Active'}}
            for n in namespaces]})

    def list_pods(self, namespace=None):
        self.calls.append('pods %s' % namespace)
        return [p for p in self.pods if namespace in (None, p['metadata']['namespace'])]

    def call(self, what, func, *args):
        self.calls.append(what)
        return func(*args)


def pod(namespace, name, phase='Running'):
    return {'metadata': {'namespace': namespace, 'name': name, 'uid': 'uid-' + name, 'labels': {'app': name},
                         'creationTimestamp': '2026-12-01T00:00:00Z'}, 'status': {'phase': phase}}


def test_kube_records_with_checkpoints_and_report():
    kube = Kube([pod('shop', 'db'), pod('shop', 'cache'), pod('shop', 'web'), pod('dev', 'job', 'Failed')],
                ['shop', 'dev', 'kube-system'])
    bank = Bank(INDEXES)
    records, attempts = fleet_kinds.kube_records(kube, bank, ('pod', 'application'))
    records = fleet.with_checkpoints(records, attempts, NOW)
    assert kube.calls == ['pods None', 'list namespaces'] and bank.calls == 1
    by_name = dict(((r['kind'], r['name']), r) for r in records)
    # applications: namespaces holding an application checkpoint (billing is gone from the cluster)
    assert sorted(k for k in by_name if k[0] == 'application') == [('application', 'shop')]
    db = by_name[('pod', 'shop/db')]
    assert db['namespace'] == 'shop' and db['protections']['nightly']['snapshot_id'] == 'c2'
    assert db['protections']['nightly']['age_seconds'] == 7200 and db['metadata'] == {'app': 'db'}
    assert by_name[('pod', 'dev/job')]['protectable'] is False

    rows, summary = report.build(records, ['nightly', 'daily'], 24 * 3600)
    states = dict(((r['name'], r['protection']), (r['state'], r['protection_kind'])) for r in rows)
    assert states[('shop/db', 'nightly')] == ('protected', 'checkpoint')
    assert states[('shop/cache', 'nightly')] == ('failed', 'checkpoint')
    assert states[('shop/web', 'nightly')] == ('never', None)
    assert states[('shop', 'daily')] == ('protected', 'checkpoint')
    assert states[('dev/job', 'nightly')][0] == 'failed'
    cache = [r for r in rows if r['name'] == 'shop/cache' and r['protection'] == 'nightly'][0]
    assert cache['reason'] == 'newest checkpoint c5 of the protection is error' and cache['snapshot_id'] == 'c4'
    assert summary['projects']['namespace shop']['protected'] == 2
    md = report.markdown(rows, summary, '24h', NOW.isoformat())
    assert '| protection kind |' in md and '| checkpoint |' in md and '| namespace shop |' in md
    suite = ET.fromstring(report.junit(rows, summary, '24h', NOW.isoformat())).find('testsuite')
    kinds = [p.get('value') for p in suite.iter('property') if p.get('name') == 'protection_kind']
    assert 'checkpoint' in kinds
    assert any(c.get('classname') == 'namespace shop.pod' and c.get('name').endswith('[checkpoint]')
               for c in suite.iter('testcase'))

    only = fleet_kinds.kube_records(Kube([pod('shop', 'db'), pod('dev', 'x')], ['shop', 'dev']), Bank([]),
                                    ('application', 'pod'), namespaces=['dev'])[0]
    assert sorted((r['kind'], r['name']) for r in only) == [('application', 'dev'), ('pod', 'dev/x')]
    with pytest.raises(ProtectionError):
        fleet_kinds.kube_records(kube, bank, ('volume',))


def test_report_one_row_per_kind_of_a_name():
    snaps = fleet.protections_of([dict(id='s', name='s', status='available', created_at=ago(30), metadata=MANAGED)],
                                 now=NOW)
    frozen = fleet.newest_per_name('freezer_backup', {'nightly': [dict(id='b', name='nightly', status='available',
                                                                       created_at=ago(1))]}, NOW)
    item = dict(kind='volume', id='v', name='vol', project_id='p', project_name='demo', status='available',
                protectable=True, protections=fleet.best_of({'snapshot': snaps, 'freezer_backup': frozen}),
                protections_by_kind={'snapshot': snaps, 'freezer_backup': frozen})
    rows, summary = report.build([item], ['nightly'], 24 * 3600)
    assert [(r['protection_kind'], r['state']) for r in rows] == [('freezer_backup', 'protected'),
                                                                  ('snapshot', 'stale')]
    assert summary['rows'] == 2 and summary['resources'] == 1

"""fleet.py (durations, slices, newest protections, filters, project scope) and report.py (compliance, Markdown,
JUnit) without a cloud."""
import datetime
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils import fleet, report
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError

NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.timezone.utc)
MANAGED = {'dataprotection_managed': 'true', 'dataprotection_protection': 'nightly'}


def snap(sid, hours_ago, status='available', metadata=MANAGED, name=None):
    created = (NOW - datetime.timedelta(hours=hours_ago)).strftime('%Y-%m-%dT%H:%M:%S.%f')
    return dict(id=sid, name=name or sid, status=status, created_at=created, metadata=dict(metadata))


def rec(rid, name, protections=None, status='available', project='demo', metadata=None, az='nova', kind='volume'):
    return dict(kind=kind, id=rid, name=name, project_id=project + '-id', project_name=project, status=status,
                availability_zone=az, size=1, metadata=metadata or {}, created_at=None,
                protectable=status not in fleet.UNPROTECTABLE_STATUSES[kind], protections=protections or {})


@pytest.mark.parametrize('text,seconds', [('24h', 86400), ('1d12h', 129600), ('90m', 5400), ('1w', 604800),
                                          ('3600', 3600), (' 2h 30m ', 9000), ('1.5h', 5400)])
def test_parse_duration(text, seconds):
    assert fleet.parse_duration(text) == seconds


@pytest.mark.parametrize('text', ['', 'soon', '24x', '0', '-1h', '1h soon', None])
def test_parse_duration_refuses(text):
    with pytest.raises(ProtectionError) as info:
        fleet.parse_duration(text)
    assert 'rpo must be' in info.value.msg


def test_slices_are_disjoint_stable_and_cover():
    ids = ['%08d-0000-0000-0000-000000000000' % i for i in range(200)]
    slices = [set(i for i in ids if fleet.slice_of(i, 3) == k) for k in (1, 2, 3)]
    assert set().union(*slices) == set(ids) and sum(len(s) for s in slices) == 200
    assert all(len(s) > 30 for s in slices)
    assert [fleet.slice_of(i, 3) for i in ids] == [fleet.slice_of(i, 3) for i in ids]


def test_protections_newest_available_and_failed_attempt():
    found = fleet.protections_of([
        snap('old', 30), snap('new', 2), snap('err', 1, status='error'), snap('creating', 0.5, status='creating'),
        snap('foreign', 0.1, metadata={}), snap('other', 5, metadata=dict(MANAGED, dataprotection_protection='weekly')),
        snap('unmanaged', 0.2, metadata={'dataprotection_protection': 'nightly'})], now=NOW)
    assert sorted(found) == ['nightly', 'weekly']
    nightly = found['nightly']
    assert nightly['snapshot_id'] == 'new' and nightly['age_seconds'] == 7200 and nightly['available'] == 2
    assert nightly['last_id'] == 'creating' and nightly['last_failed'] is False
    failed = fleet.protections_of([snap('a', 3), snap('b', 1, status='error')], now=NOW)['nightly']
    assert failed['snapshot_id'] == 'a' and failed['last_failed'] is True
    only_error = fleet.protections_of([snap('b', 1, status='error')], now=NOW)['nightly']
    assert only_error['snapshot_id'] is None and only_error['age_seconds'] is None


RECORDS = [rec('1', 'db-a', metadata={'tier': 'gold'}), rec('2', 'db-b', az='az2'), rec('3', 'web', status='error'),
           rec('4', 'files', kind='share', project='demo2', metadata={'tier': 'gold'})]


def ids(found):
    return [r['id'] for r in found]


def test_select_filters():
    assert ids(fleet.select(RECORDS)) == ['1', '2', '4']
    assert ids(fleet.select(RECORDS, include_unprotectable=True)) == ['1', '2', '3', '4']
    assert ids(fleet.select(RECORDS, metadata={'tier': 'gold'})) == ['1', '4']
    assert ids(fleet.select(RECORDS, availability_zones=['az2'])) == ['2']
    assert ids(fleet.select(RECORDS, statuses=['error'], include_unprotectable=True)) == ['3']
    assert ids(fleet.select(RECORDS, name_pattern='^db-')) == ['1', '2']
    assert ids(fleet.select(RECORDS, query="[?project_name=='demo2']")) == ['4']
    first = ids(fleet.select(RECORDS, slice_count=2, slice_index=1))
    both = first + ids(fleet.select(RECORDS, slice_count=2, slice_index=2))
    assert sorted(both) == ['1', '2', '4']


@pytest.mark.parametrize('kwargs,words', [
    (dict(name_pattern='('), 'not a valid regular expression'),
    (dict(query='[?'), 'not a valid JMESPath'),
    (dict(query='[].name'), 'must return a list of resources'),
    (dict(slice_count=2), 'slice_count and slice_index go together'),
    (dict(slice_count=2, slice_index=3), '1 <= slice_index <= slice_count'),
])
def test_select_refuses(kwargs, words):
    with pytest.raises(ProtectionError) as info:
        fleet.select(RECORDS, **kwargs)
    assert words in info.value.msg


class _Conn:
    """current project demo; project listing allowed (admin) or 403."""

    def __init__(self, admin):
        self.current_project_id = 'demo-id'
        self.config = type('C', (), {'config': {'auth': {'project_name': 'demo'}}})()
        self.admin = admin

    @property
    def identity(self):
        conn = self

        class Identity:
            def projects(self):
                if not conn.admin:
                    error = Exception('403')
                    error.status_code = 403
                    raise error
                return [type('P', (), dict(id=i, name=n))() for i, n in (('demo-id', 'demo'), ('d2-id', 'demo2'))]
        return Identity()


def test_scope():
    assert fleet.Fleet(_Conn(True)).scope() == ['demo-id']
    assert fleet.Fleet(_Conn(True), all_projects=True).scope() is None
    assert fleet.Fleet(_Conn(False), all_projects=True).scope() == ['demo-id']
    assert fleet.Fleet(_Conn(True), projects=['demo2', 'demo-id']).scope() == ['d2-id', 'demo-id']
    with pytest.raises(ProtectionError) as info:
        fleet.Fleet(_Conn(False), projects=['demo2']).scope()
    assert 'not visible to these credentials: demo2' in info.value.msg
    with pytest.raises(ProtectionError):
        fleet.Fleet(_Conn(True), all_projects=True, projects=['demo'])
    with pytest.raises(ProtectionError):
        fleet.Fleet(_Conn(True), projects=[])


def test_report_states_summary_and_files(tmp_path):
    nightly = fleet.protections_of([snap('fresh', 1)], now=NOW)
    stale = fleet.protections_of([snap('old', 30)], now=NOW)
    failed = fleet.protections_of([snap('ok', 2), snap('bad', 1, status='error')], now=NOW)
    records = [rec('1', 'fresh', nightly), rec('2', 'old', stale), rec('3', 'none'), rec('4', 'bad', failed),
               rec('5', 'broken', status='error', project='demo2')]
    rows, summary = report.build(records, ['nightly'], 24 * 3600)
    states = dict((r['name'], r['state']) for r in rows)
    assert states == dict(fresh='protected', old='stale', none='never', bad='failed', broken='failed')
    assert (summary['protected'], summary['stale'], summary['never'], summary['failed']) == (1, 1, 1, 2)
    assert summary['projects']['demo2'] == dict(protected=0, stale=0, never=0, failed=1)
    assert summary['compliant'] is False
    # default: every protection name found; no name at all: one never row per resource
    assert [r['protection'] for r in report.build(records[:2], None, 3600)[0]] == ['nightly', 'nightly']
    assert [(r['protection'], r['state']) for r in report.build([rec('9', 'x')], None, 3600)[0]] == [(None, 'never')]

    xml = report.junit(rows, summary, '24h', NOW.isoformat())
    suite = ET.fromstring(xml).find('testsuite')
    assert suite.get('tests') == '5' and suite.get('failures') == '4'
    md = report.markdown(rows, summary, '24h', NOW.isoformat())
    assert '1 protected, 1 stale, 1 never, 2 failed' in md and '| demo2 | 0 | 0 | 0 | 1 |' in md
    paths = report.write(str(tmp_path / 'out'), {'a.md': md, 'a.xml': xml})
    assert open(paths['a.xml']).read() == xml and sorted((tmp_path / 'out').iterdir()) == sorted(
        [tmp_path / 'out' / 'a.md', tmp_path / 'out' / 'a.xml'])


def test_junit_escapes_names():
    rows, summary = report.build([rec('1', 'a<b>&"c"')], ['nightly'], 60)
    case = ET.fromstring(report.junit(rows, summary, '1m', 'now')).find('testsuite/testcase')
    assert 'a<b>&"c"' in case.get('name') and case.find('failure').get('type') == 'never'

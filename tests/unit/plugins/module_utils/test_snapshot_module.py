"""The snapshot protection modules' glue: options, dispatch to the driver, bulk selection, results, warnings."""
import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils import base
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result
from ansible_collections.dataprotection.openstack.plugins.module_utils.args import snapshot_argument_spec
from ansible_collections.dataprotection.openstack.plugins.module_utils.snapshot_module import (
    SnapshotProtectModule,
    selection_kwargs,
)
from ansible_collections.dataprotection.openstack.tests.unit.fakes import Obj, run_module

CALLS = []


class FakeDriver:
    """Records every call; answers like a snapshot driver would."""

    resource_kind, snapshot_kind, snapshot_key, source_ref_key = 'volume', 'snapshot', 'snapshot', 'volume_ref'
    sources = []

    def __init__(self, conn, **wait):
        CALLS.append(('init', conn, wait))

    @staticmethod
    def source_view(source):
        return dict(id=source.id, name=source.name, metadata=source.metadata)

    def list_sources(self, all_projects=False):
        CALLS.append(('list', all_projects))
        return list(self.sources)

    def current_project_id(self):
        return 'p-own'

    def prefetch_snapshots(self, ids):
        CALLS.append(('prefetch', ids))

    def protect(self, source, name, options, dry_run=False):
        CALLS.append(('protect', source, name, options, dry_run))
        return Result(True, snapshot={'id': 's', 'name': name}, before=None, after={'id': 's'},
                      foreign_snapshots=['f1'])

    def delete(self, source, name, dry_run=False):
        CALLS.append(('delete', source, name, dry_run))
        return Result(True, snapshot=None, deleted=['s'], before=[{'id': 's'}], after=[], foreign_snapshots=['f1'])

    def restore(self, source, name, options, dry_run=False):
        CALLS.append(('restore', source, name, options, dry_run))
        return Result(True, restored={'id': 'r'}, duplicates=['r2'], before=None, after={'id': 'r'})


def acted(kind):
    """(source id, protection, dry_run) of every per-source call of ``kind``, sorted (bulk calls run in threads)."""
    return sorted((c[1].id, c[2], c[-1]) for c in CALLS if c[0] == kind)


class Module(SnapshotProtectModule):
    driver_class = FakeDriver
    source_option, names_option, metadata_option = 'volume', 'volumes', 'volume_metadata'
    extra_options = ('restore_volume_type',)
    argument_spec = dict(snapshot_argument_spec('volume', 'volumes', 'volume_metadata'),
                         restore_volume_type=dict(type='str'))
    module_kwargs = dict(**selection_kwargs('volume', 'volumes', 'volume_metadata'))
    conn = 'the-connection'


@pytest.fixture(autouse=True)
def _reset():
    del CALLS[:]
    FakeDriver.sources = [Obj(id='v1', name='db', metadata={'tier': 'gold'}),
                          Obj(id='v2', name='web', metadata={'tier': 'gold'}),
                          Obj(id='v3', name='tmp', metadata={})]


def run(capsys, **args):
    return run_module(Module, dict(args), capsys)


def test_protection_is_the_option_and_snapshot_name_its_alias(capsys):
    spec = Module.full_argument_spec()
    assert spec['protection']['aliases'] == ['snapshot_name'] and spec['protection']['required'] is True
    for key in ('protection', 'snapshot_name'):
        out = run(capsys, volume='db', **{key: 'daily'})
        assert out['rc'] == 0 and CALLS[-1][:3] == ('protect', 'db', 'daily'), out


def test_single_resource_dispatch_and_check_mode(capsys):
    out = run(capsys, volume='db', protection='daily', description='d', restore_volume_type='ssd', timeout=9,
              _ansible_check_mode=True)
    name, source, protection, options, dry_run = CALLS[-1]
    assert (name, source, protection, dry_run) == ('protect', 'db', 'daily', True)
    assert options['description'] == 'd' and options['restore_volume_type'] == 'ssd' and options['retain'] is None
    assert CALLS[0] == ('init', 'the-connection', dict(wait=True, timeout=9, poll_interval=2.0))
    assert out['changed'] is True and out['snapshot'] == {'id': 's', 'name': 'daily'} and out['deleted'] == []
    run(capsys, volume='db', protection='daily', state='absent')
    assert CALLS[-1] == ('delete', 'db', 'daily', False)
    out = run(capsys, volume='db', protection='daily', state='restored', restore_name='db-r')
    assert CALLS[-1][0] == 'restore' and CALLS[-1][3]['restore_name'] == 'db-r'
    assert out['restored'] == {'id': 'r'}


def test_diff_from_the_drivers_before_and_after(capsys):
    out = run(capsys, volume='db', protection='daily', _ansible_diff=True)
    assert out['diff'] == {'before': {}, 'after': {'id': 's'}} and 'before' not in out
    out = run(capsys, volume='db', protection='daily', state='absent', _ansible_diff=True)
    assert out['diff'] == {'before': {'snapshots': [{'id': 's'}]}, 'after': {'snapshots': []}}


def test_warnings_for_what_was_left_alone(capsys, monkeypatch):
    warned = []
    monkeypatch.setattr(base._AnsibleModule, 'warn', lambda self, msg: warned.append(msg))
    run(capsys, volume='db', protection='daily', state='absent')
    assert len(warned) == 1 and 'that this collection did not create were left in place: f1' in warned[0]
    run(capsys, volume='db', protection='daily')
    assert len(warned) == 1  # foreign snapshots are only worth a warning when removing
    run(capsys, volume='db', protection='daily', state='restored', restore_name='db-r')
    assert len(warned) == 2 and 'restored from the same snapshot besides r' in warned[1] and 'r2' in warned[1]


def test_bulk_selects_prefetches_once_and_summarizes(capsys):
    out = run(capsys, volume_metadata={'tier': 'gold'}, protection='nightly', concurrency=2, _ansible_diff=True)
    assert [c for c in CALLS if c[0] == 'prefetch'] == [('prefetch', ['v1', 'v2'])]
    assert ('list', False) in CALLS and 'projects' not in out
    assert acted('protect') == [('v1', 'nightly', False), ('v2', 'nightly', False)]
    assert out['changed'] is True and [e['volume_ref'] for e in out['snapshots']] == ['v1', 'v2']
    assert out['diff'] == {'before': {'v1': 'absent', 'v2': 'absent'}, 'after': {'v1': 'nightly', 'v2': 'nightly'}}
    # where the time went, step by step (AWX job output shows it)
    assert [t['step'] for t in out['timings']] == ['select', 'projects', 'calls', 'shared waits', 'last steps']
    assert all(t['seconds'] >= 0 for t in out['timings'])
    out = run(capsys, volumes=['tmp'], protection='nightly', state='absent')
    assert acted('delete') == [('v3', 'nightly', False)] and out['changed'] is True


def test_bulk_restore_refused(capsys):
    out = run(capsys, volumes=['db'], protection='nightly', state='restored', restore_name='x')
    assert out['failed'] is True and out['msg'] == 'state=restored takes a single volume'
    assert not [c for c in CALLS if c[0] != 'init']


def test_absent_sweep_of_every_resource_refused_unless_asked(capsys):
    out = run(capsys, query='[?name]', protection='nightly', state='absent')
    assert out['failed'] is True and "say so with query: '[*]'" in out['msg'] and 'nightly' in out['msg']
    assert not acted('delete')
    out = run(capsys, query='[*]', protection='nightly', state='absent')
    assert out['rc'] == 0 and [a[0] for a in acted('delete')] == ['v1', 'v2', 'v3']
    del CALLS[:]
    out = run(capsys, query='[?name]', protection='nightly')
    assert out['rc'] == 0 and [a[0] for a in acted('protect')] == ['v1', 'v2', 'v3']


@pytest.mark.parametrize('args,words', [
    (dict(retain=0), ['retain']),
    (dict(min_age=60), ['min_age', 'retain']),
    (dict(concurrency=0), ['concurrency']),
    (dict(snapshot_name=' daily'), ['snapshot_name', 'whitespace']),
    (dict(restore_name=''), ['restore_name']),
])
def test_refusals_before_any_call(capsys, args, words):
    args = dict(dict(volume='db', protection='daily'), **args)
    if 'snapshot_name' in args:
        del args['protection']
    out = run(capsys, **args)
    assert out['failed'] is True and all(w in out['msg'] for w in words), out
    assert CALLS == []


def test_selection_options_are_exclusive(capsys):
    out = run(capsys, volume='db', volumes=['web'], protection='daily')
    assert out['failed'] is True and 'mutually exclusive' in out['msg']
    out = run(capsys, protection='daily')
    assert out['failed'] is True and 'one of the following is required' in out['msg']


def test_all_projects_acts_as_each_project_and_isolates_a_project_it_cannot_enter(capsys, monkeypatch):
    """Issue 16: an admin's bulk run across projects re-scopes to each volume's project (the snapshot must live
    there); a project the user has no role on fails alone, named; counts per project."""
    from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection

    class ScopedConn:
        def __init__(self, project_id):
            if project_id == 'p-locked':
                raise os_connection.ProtectionError('Keystone refused: no role on project p-locked (HTTP 401)')
            self.current_project_id = project_id

    scoped = []
    monkeypatch.setattr(os_connection, 'connect', lambda params, project_id=None: scoped.append(project_id) or
                        ScopedConn(project_id))
    FakeDriver.sources = [Obj(id='v1', name='a', metadata={'b': '1'}, project_id='p-own'),
                          Obj(id='v2', name='b', metadata={'b': '1'}, project_id='p-other'),
                          Obj(id='v3', name='c', metadata={'b': '1'}, project_id='p-locked'),
                          Obj(id='v4', name='d', metadata={}, project_id='p-other')]
    out = run(capsys, volume_metadata={'b': '1'}, protection='nightly', all_projects=True)
    # the projects are prepared side by side (tokens and listings in parallel): the order of calls is not fixed
    assert ('list', True) in CALLS and sorted(scoped) == ['p-locked', 'p-other']
    assert [a[0] for a in acted('protect')] == ['v1', 'v2']
    assert [e['volume_ref'] for e in out['snapshots']] == ['v1', 'v2', 'v3']
    assert out['failed'] is True and '1 of 3 volumes failed' in out['msg']
    assert 'volume v3: not protected: these credentials cannot act in its project p-locked' in out['msg']
    assert 'no role on project p-locked' in out['msg']
    assert out['projects'] == {'p-own': dict(selected=1, changed=1, failed=0),
                               'p-other': dict(selected=1, changed=1, failed=0),
                               'p-locked': dict(selected=1, changed=0, failed=1)}
    assert sorted((e['volume_ref'], e['project_id']) for e in out['snapshots']) == [
        ('v1', 'p-own'), ('v2', 'p-other'), ('v3', 'p-locked')]


def test_all_projects_is_for_bulk_mode_only(capsys):
    out = run(capsys, volume='db', protection='nightly', all_projects=True)
    assert out['failed'] is True and 'all_projects selects across projects in bulk mode' in out['msg']
    assert not [c for c in CALLS if c[0] in ('protect', 'list')]


def test_all_projects_share_one_bounded_pool(capsys, monkeypatch):
    """Projects are not run one after the other: every selected volume goes through one pool of ``concurrency``
    workers (a slow project never holds up the others), and no more than ``concurrency`` calls are in flight."""
    import threading
    import time
    from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection

    monkeypatch.setattr(os_connection, 'connect', lambda params, project_id=None: Obj(current_project_id=project_id))
    FakeDriver.sources = [Obj(id='v%d%d' % (p, i), name='n%d%d' % (p, i), metadata={'b': '1'}, project_id='p%d' % p)
                          for p in range(3) for i in range(2)]
    lock, flight = threading.Lock(), dict(now=0, peak=0, projects=set())
    original = FakeDriver.protect

    def slow_protect(self, source, name, options, dry_run=False):
        with lock:
            flight['now'] += 1
            flight['peak'] = max(flight['peak'], flight['now'])
            flight['projects'].add(source.project_id)
            seen_projects = len(flight['projects'])
        time.sleep(0.2 if seen_projects < 3 else 0.05)
        with lock:
            flight['now'] -= 1
        return original(self, source, name, options, dry_run)
    monkeypatch.setattr(FakeDriver, 'protect', slow_protect)
    out = run(capsys, volume_metadata={'b': '1'}, protection='nightly', all_projects=True, concurrency=4)
    assert out['rc'] == 0 and len(acted('protect')) == 6
    assert flight['peak'] == 4, flight
    assert [e['volume_ref'] for e in out['snapshots']] == ['v00', 'v01', 'v10', 'v11', 'v20', 'v21']
    assert out['projects'] == dict((pid, dict(selected=2, changed=2, failed=0)) for pid in ('p0', 'p1', 'p2'))

"""Central scheduler driver against an in-memory freezer-api that behaves like 19.0.0's (the real one is in
tests/integration/modules/test_freezer_central_scheduler.py and the molecule scenario)."""
import copy

import pytest

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ConflictError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import central_scheduler as cs
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.api import (
    FreezerAPI,
    FreezerAPIError,
)

SERVICE = 'p-service'


class FakeFreezerAPI(FreezerAPI):
    """The real REST client over an in-memory freezer-api 19.0.0: one row per (client_id, hostname); GET by id and
    DELETE take the first visible row; a central POST updates the row of the same (client_id, hostname) -
    capabilities and description only - or adds a row."""

    def __init__(self, project_id=SERVICE, can_central=True):  # pylint: disable=super-init-not-called
        self.project_id = project_id
        self.can_central = can_central
        self.rows, self.job_docs, self.calls = [], [], []

    @property
    def clients(self):
        """client_id -> the first row (what GET /clients/{id} answers)."""
        found = {}
        for row in self.rows:
            found.setdefault(row['client']['client_id'], row)
        return found

    def add(self, project_id=SERVICE, **client):
        self.rows.append(dict(project_id=project_id, user_id='u-' + project_id,
                              client=dict(client, uuid='uuid-%s%s' % (client['client_id'], '-%d' % len(self.rows) if self.rows else ''))))

    def _visible(self, client_id=None):
        return [r for r in self.rows if (client_id is None or r['client']['client_id'] == client_id) and
                (r['project_id'] == self.project_id or r['client'].get('is_central'))]

    def request(self, method, *parts, **kwargs):
        self.calls.append((method,) + parts)
        if parts[0] != 'clients':
            raise AssertionError(parts)
        if method == 'GET' and len(parts) == 1:
            offset, limit = kwargs['params']['offset'], kwargs['params']['limit']
            return dict(clients=copy.deepcopy(self._visible()[offset:offset + limit]))
        if method == 'GET':
            rows = self._visible(parts[1])
            if not rows:
                if kwargs.get('missing_ok'):
                    return None
                raise FreezerAPIError('404', status=404)
            return copy.deepcopy(rows[0])
        if method == 'DELETE':
            rows = self._visible(parts[1])
            if rows and rows[0]['project_id'] != self.project_id:
                raise FreezerAPIError('freezer-api DELETE client: HTTP 403: not permitted', status=403)
            if rows:
                self.rows.remove(rows[0])
            return {}
        if method == 'POST':
            doc = kwargs['json']
            if doc.get('is_central') and not self.can_central:
                raise FreezerAPIError('freezer-api POST clients: HTTP 403: Access denied', status=403)
            if doc.get('is_central'):
                same = [r for r in self.rows if r['client']['client_id'] == doc['client_id'] and
                        r['client']['hostname'] == doc['hostname']]
            else:
                same = self._visible(doc['client_id'])
            if same:
                existing = same[0]
                if existing['project_id'] != self.project_id:
                    raise FreezerAPIError('freezer-api POST clients: HTTP 409: already registered', status=409)
                for name in cs.CAPABILITIES + ('description',):  # is_central and hostname are NOT updated
                    existing['client'][name] = doc.get(name)
                return {'client_id': doc['client_id']}
            self.add(self.project_id, **doc)
            return {'client_id': doc['client_id']}
        raise AssertionError(method)

    def list_jobs(self, page=100):
        return copy.deepcopy(self.job_docs)

    def mutations(self):
        return [c for c in self.calls if c[0] != 'GET']


def driver(api):
    return cs.CentralSchedulerRegistration(conn=None, api=api)


def job(job_id, project, trust=True, client_id='central', status='scheduled', **action):
    action = dict(dict(action='backup', mode='cindernative', cindernative_vol_id='v-' + job_id), **action)
    doc = dict(job_id=job_id, project_id=project, user_id='u-' + project, client_id=client_id,
               description='job ' + job_id, job_schedule=dict(status=status, result=''),
               job_actions=[dict(freezer_action=action)])
    if trust:
        doc['user_credentials'] = dict(trust_id='secret-trust-' + job_id, trustor_user_id='u-' + project)
    return doc


def test_normalize_capabilities_defaults_sorted_and_validated():
    assert cs.normalize_capabilities(None) == dict(supported_actions=['admin', 'backup', 'restore'],
                                                   supported_modes=['cindernative'], supported_storages=['swift'],
                                                   supported_engines=['tar'])
    assert cs.normalize_capabilities(dict(supported_modes=['nova', 'cindernative', 'nova']))['supported_modes'] == [
        'cindernative', 'nova']
    with pytest.raises(ProtectionError, match='supported_modes: unsupported value.*tape'):
        cs.normalize_capabilities(dict(supported_modes=['tape']))
    with pytest.raises(ProtectionError, match='unknown capabilities colour'):
        cs.normalize_capabilities(dict(colour=['red']))


def test_registration_needs_hostname():
    with pytest.raises(ProtectionError, match='hostname is required to register client c1'):
        cs.registration_doc('c1', None, None)


def test_create_then_idempotent_and_check_mode_predicts():
    api = FakeFreezerAPI()
    check = driver(api).ensure('central', 'backup01', dry_run=True)
    assert check.changed is True and api.mutations() == [] and check.data['action'] == 'created'
    assert check.data['client']['is_central'] is True and check.data['client']['supported_modes'] == ['cindernative']

    first = driver(api).ensure('central', 'backup01')
    assert first.changed is True and first.data['action'] == 'created'
    assert api.mutations() == [('POST', 'clients')]
    stored = api.clients['central']['client']
    assert stored['is_central'] is True and stored['supported_actions'] == ['admin', 'backup', 'restore']
    assert first.data['before'] is None and first.data['after']['uuid'] == 'uuid-central'

    api.calls = []
    again = driver(api).ensure('central', 'backup01')
    assert again.changed is False and again.data['action'] == 'unchanged' and api.mutations() == []
    assert driver(api).ensure('central', 'backup01', dry_run=True).changed is False


def test_non_central_registration_is_deleted_and_registered_again():
    api = FakeFreezerAPI()
    api.add(client_id='central', hostname='backup01', is_central=False, supported_actions=['backup'],
            supported_modes=['cindernative'], supported_storages=['swift'], supported_engines=['tar'])
    check = driver(api).ensure('central', 'backup01', dry_run=True)
    assert check.changed is True and check.data['action'] == 'recreated' and api.mutations() == []
    assert any('non-central' in r for r in check.data['drift'])
    result = driver(api).ensure('central', 'backup01')
    assert result.changed is True and api.mutations() == [('DELETE', 'clients', 'central'), ('POST', 'clients')]
    assert api.clients['central']['client']['is_central'] is True
    assert result.data['before']['is_central'] is False and result.data['after']['is_central'] is True


def test_wider_capabilities_are_reported_and_repaired():
    api = FakeFreezerAPI()
    api.add(client_id='central', hostname='backup01', is_central=True, supported_actions=list(cs.ALL_ACTIONS),
            supported_modes=list(cs.ALL_MODES), supported_storages=['swift'], supported_engines=['tar'])
    result = driver(api).ensure('central', 'backup01')
    assert result.changed is True and result.data['action'] == 'recreated'
    assert 'supported_modes wider than wanted: also cinder, fs, glance, mongo, mysql, nova, sqlserver' in \
        result.data['drift']
    assert 'supported_actions wider than wanted: also exec, info' in result.data['drift']
    assert api.clients['central']['client']['supported_modes'] == ['cindernative']


def test_other_hostname_is_drift():
    api = FakeFreezerAPI()
    driver(api).ensure('central', 'old-host')
    result = driver(api).ensure('central', 'backup01')
    assert result.changed and 'hostname is old-host, wanted backup01' in result.data['drift']
    assert api.clients['central']['client']['hostname'] == 'backup01'


def test_a_silently_ignored_update_fails_clearly():
    """freezer-api answers 201 but keeps is_central: the driver reads back and says so."""
    api = FakeFreezerAPI()
    real_request = api.request

    def request(method, *parts, **kwargs):
        if method == 'DELETE':  # pretend the delete did nothing and the POST only updated
            api.calls.append((method,) + parts)
            return {}
        return real_request(method, *parts, **kwargs)

    api.request = request
    api.add(client_id='central', hostname='backup01', is_central=False, **cs.DEFAULTS)
    with pytest.raises(ProtectionError, match='central is still registered after DELETE'):
        driver(api).ensure('central', 'backup01')


def test_client_of_another_project_is_not_touched():
    api = FakeFreezerAPI(project_id='p-admin')
    api.add('p-service', client_id='central', hostname='backup01', is_central=True,
            supported_actions=list(cs.ALL_ACTIONS), supported_modes=['cindernative'], supported_storages=['swift'],
            supported_engines=['tar'])
    with pytest.raises(ConflictError, match='registered by project p-service.*credentials of the scheduler'):
        driver(api).ensure('central', 'backup01')
    assert api.mutations() == []
    with pytest.raises(ConflictError):
        driver(api).absent('central')


def test_forbidden_registration_names_the_roles():
    api = FakeFreezerAPI(can_central=False)
    with pytest.raises(ProtectionError, match='HTTP 403.*roles service and member'):
        driver(api).ensure('central', 'backup01')


def test_job_report_flags_untrusted_and_unsupported_jobs_without_trust_ids():
    api = FakeFreezerAPI()
    api.job_docs = [job('j1', 'p-demo'), job('j2', 'p-demo2', trust=False), job('j3', 'p-demo2', mode='fs'),
                    job('j4', 'p-demo', client_id='other'), job('j5', 'p-demo', status='completed'),
                    job('j6', 'p-demo2', engine_name='rsync')]
    result = driver(api).ensure('central', 'backup01')
    reports = dict((r['job_id'], r) for r in result.data['jobs'])
    assert sorted(reports) == ['j1', 'j2', 'j3', 'j5', 'j6']
    assert reports['j1']['served'] is True and reports['j1']['has_trust'] is True and reports['j1']['reasons'] == []
    assert reports['j2']['served'] is False and 'no user_credentials.trust_id' in reports['j2']['reasons'][0]
    assert reports['j3']['reasons'] == ["mode fs is not in the client's supported_modes (cindernative)"]
    assert reports['j5']['reasons'] == ['job_schedule.status is completed']
    assert "engine_name rsync is not in the client's supported_engines (tar)" in reports['j6']['reasons']
    assert result.data['untrusted_jobs'] == ['j2']
    assert sorted(result.data['unserved_jobs']) == ['j2', 'j3', 'j5', 'j6']
    assert result.data['projects'] == ['p-demo']
    assert 'secret-trust' not in repr(result.as_dict())


def test_absent_deletes_and_is_idempotent():
    api = FakeFreezerAPI()
    driver(api).ensure('central', 'backup01')
    api.calls = []
    check = driver(api).absent('central', dry_run=True)
    assert check.changed is True and api.mutations() == [] and 'central' in api.clients
    gone = driver(api).absent('central')
    assert gone.changed is True and gone.data['action'] == 'deleted' and 'central' not in api.clients
    again = driver(api).absent('central')
    assert again.changed is False and again.data['before'] is None


# -- issue 17: every row of a client_id, and no empty client_id ----------------------------------------------------
WIDE = dict(supported_actions=list(cs.ALL_ACTIONS), supported_modes=['cindernative', 'fs'],
            supported_storages=['swift'], supported_engines=['tar'])


def test_rows_of_one_client_id_with_other_hostnames_are_all_converged_in_one_run():
    """A wanted row plus a wide row of another hostname: before, the driver saw only the first and said unchanged."""
    api = FakeFreezerAPI()
    api.add(client_id='central', hostname='backup01', is_central=True, **cs.DEFAULTS)
    api.add(client_id='central', hostname='old-host', is_central=True, **WIDE)
    check = driver(api).ensure('central', 'backup01', dry_run=True)
    assert check.changed is True and api.mutations() == []
    assert sorted(r['hostname'] for r in check.data['removed']) == ['backup01', 'old-host']
    result = driver(api).ensure('central', 'backup01')
    assert result.changed is True and result.data['action'] == 'recreated'
    assert '2 registrations of client_id central' in result.data['drift'][0]
    assert any(d.startswith('old-host: supported_modes wider than wanted: also fs') for d in result.data['drift'])
    assert sorted(r['hostname'] for r in result.data['removed']) == ['backup01', 'old-host']
    assert [(r['client']['hostname'], r['client']['supported_modes']) for r in api.rows] == \
        [('backup01', ['cindernative'])]
    assert driver(api).ensure('central', 'backup01').changed is False


def test_absent_removes_every_row_and_reports_them():
    api = FakeFreezerAPI()
    api.add(client_id='central', hostname='a', is_central=True, **cs.DEFAULTS)
    api.add(client_id='central', hostname='b', is_central=False, **WIDE)
    api.add(client_id='other', hostname='a', is_central=True, **cs.DEFAULTS)
    gone = driver(api).absent('central', report_jobs=False)
    assert gone.changed is True and sorted(r['hostname'] for r in gone.data['removed']) == ['a', 'b']
    assert [r['client']['client_id'] for r in api.rows] == ['other']
    assert driver(api).absent('central').changed is False


@pytest.mark.parametrize('client_id', ['', '   ', None])
@pytest.mark.parametrize('dry_run', [True, False])
def test_empty_client_id_is_refused_in_every_state(client_id, dry_run):
    api = FakeFreezerAPI()
    api.add(client_id='central', hostname='a', is_central=True, **cs.DEFAULTS)
    with pytest.raises(ProtectionError, match='client_id must not be empty'):
        driver(api).absent(client_id, dry_run=dry_run)
    with pytest.raises(ProtectionError, match='client_id must not be empty'):
        driver(api).ensure(client_id, 'a', dry_run=dry_run)
    assert api.calls == [] and len(api.rows) == 1


def test_the_rest_client_never_sends_an_empty_id():
    api = FakeFreezerAPI()
    with pytest.raises(FreezerAPIError, match='empty id'):
        FreezerAPI.request(api, 'DELETE', 'clients', ' ')

"""freezer_central_scheduler through real ansible-playbook runs against the real local freezer-api and Keystone.

Everything asserted is read back from freezer-api. The scheduler process itself (service mode, trusts, real
Cinder backups in two projects) is proven by the molecule scenario extensions/molecule/freezer_scheduler.
"""
import configparser
import os
import uuid

import openstack
import pytest
import yaml

from conftest import no_traceback
from playbook_runner import ROOT, run_module

MODULE = 'dataprotection.openstack.freezer_central_scheduler'
FREEZER = 'http://127.0.0.1:9090'


def service_auth():
    """freezer-api's own keystone_authtoken user: the user a central scheduler must use."""
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(os.path.join(ROOT, '.localcloud', 'etc', 'freezer', 'freezer-api.conf'))
    sec = conf['keystone_authtoken']
    return dict(auth_url=sec['auth_url'], username=sec['username'], password=sec['password'],
                project_name=sec['project_name'], user_domain_name=sec['user_domain_name'],
                project_domain_name=sec['project_domain_name'])


class Freezer:
    def __init__(self, conn):
        self.conn = conn
        self.base = '%s/v2/%s' % (FREEZER, conn.current_project_id)

    def call(self, method, path, **kwargs):
        response = self.conn.session.request(self.base + path, method, raise_exc=False, **kwargs)
        return response.status_code, (response.json() if response.content else {})

    def client(self, client_id):
        status, body = self.call('GET', '/clients/' + client_id)
        return body if status == 200 else None

    def create_job(self, client_id, name, mode='cindernative'):
        action = dict(action='backup', mode=mode, backup_name=name)
        if mode == 'cindernative':
            action['cindernative_vol_id'] = str(uuid.uuid4())
        else:
            action.update(path_to_backup='/etc', storage='local', container='/tmp/' + name)
        doc = dict(client_id=client_id, description=name, job_schedule={}, job_actions=[dict(freezer_action=action)])
        status, body = self.call('POST', '/jobs', json=doc)
        assert status == 201, body
        return body['job_id']

    def job(self, job_id):
        status, body = self.call('GET', '/jobs/' + job_id)
        return body if status == 200 else None

    def delete_job(self, job_id):
        job = self.job(job_id)
        self.call('DELETE', '/jobs/' + job_id)
        for entry in (job or {}).get('job_actions') or []:
            self.call('DELETE', '/actions/' + entry['action_id'])


@pytest.fixture(scope='module')
def svc_auth(localcloud):
    return service_auth()


@pytest.fixture(scope='module')
def svc_env(svc_auth, tmp_path_factory):
    """A clouds.yaml with the service user's cloud, as operators would pass it (``cloud: freezer-service``).

    Passing the same credentials as ``auth`` works too, but Ansible then masks every no_log value in the
    output - and the service user is usually named ``freezer``, so "freezer-api" would print as "********-api".
    """
    path = tmp_path_factory.mktemp('central') / 'clouds.yaml'
    path.write_text(yaml.safe_dump({'clouds': {'freezer-service': {'auth': svc_auth, 'region_name': 'RegionOne',
                                                                   'identity_api_version': 3}}}))
    path.chmod(0o600)
    return {'OS_CLIENT_CONFIG_FILE': str(path)}


@pytest.fixture(scope='module')
def svc(svc_auth):
    return Freezer(openstack.connect(load_yaml_config=False, load_envvars=False, region_name='RegionOne',
                                     auth=svc_auth))


@pytest.fixture(scope='module')
def demo(lc_demo):
    return Freezer(lc_demo)


@pytest.fixture(scope='module')
def demo2(lc_demo2):
    return Freezer(lc_demo2)


@pytest.fixture
def client_id(svc):
    cid = 'it-central-%s' % uuid.uuid4().hex[:8]
    yield cid
    svc.call('DELETE', '/clients/' + cid)


@pytest.fixture
def jobs():
    made = []

    def track(freezer, job_id):
        made.append((freezer, job_id))
        return job_id

    yield track
    for freezer, job_id in made:
        freezer.delete_job(job_id)


def central(svc_env, check=False, diff=False, **args):
    args.setdefault('cloud', 'freezer-service')
    return run_module(MODULE, args, check=check, diff=diff, env=svc_env)


def test_register_check_mode_idempotent_diff_and_absent(svc, svc_env, svc_auth, client_id):
    check = central(svc_env, check=True, diff=True, client_id=client_id, hostname='backup01')
    assert check.changed is True and not check.failed, check
    assert check['action'] == 'created' and check['diff']['before'] == {}
    assert svc.client(client_id) is None  # check mode registered nothing

    first = central(svc_env, diff=True, client_id=client_id, hostname='backup01')
    assert first.changed is True and not first.failed and first['action'] == 'created', first
    stored = svc.client(client_id)
    assert stored['project_id'] == svc.conn.current_project_id
    client = stored['client']
    assert client['is_central'] is True and client['hostname'] == 'backup01'
    assert sorted(client['supported_actions']) == ['admin', 'backup', 'restore']
    assert client['supported_modes'] == ['cindernative'] and client['supported_storages'] == ['swift']
    assert client['supported_engines'] == ['tar']
    assert first['client']['uuid'] == client['uuid'] and first['diff']['after']['is_central'] is True
    assert first['jobs'] == [] and first['untrusted_jobs'] == []
    assert svc_auth['password'] not in first.stdout

    again = central(svc_env, client_id=client_id, hostname='backup01')
    assert again.changed is False and again['action'] == 'unchanged' and again['drift'] == [], again
    assert central(svc_env, check=True, client_id=client_id, hostname='backup01').changed is False
    assert svc.client(client_id)['client']['uuid'] == client['uuid']  # not re-registered

    check_absent = central(svc_env, check=True, client_id=client_id, state='absent')
    assert check_absent.changed is True and svc.client(client_id) is not None
    gone = central(svc_env, client_id=client_id, state='absent')
    assert gone.changed is True and gone['action'] == 'deleted' and gone['client'] is None
    assert svc.client(client_id) is None
    assert central(svc_env, client_id=client_id, state='absent').changed is False


def test_non_central_wide_registration_is_replaced(svc, svc_env, svc_auth, client_id):
    status, body = svc.call('POST', '/clients', json=dict(client_id=client_id, hostname='backup01',
                                                          is_central=False, supported_modes=['fs', 'cindernative'],
                                                          supported_actions=['backup', 'exec']))
    assert status == 201, body
    assert svc.client(client_id)['client']['is_central'] is False

    check = central(svc_env, check=True, client_id=client_id, hostname='backup01')
    assert check.changed is True and check['action'] == 'recreated'
    assert svc.client(client_id)['client']['is_central'] is False
    fixed = central(svc_env, client_id=client_id, hostname='backup01')
    assert fixed.changed is True and fixed['action'] == 'recreated', fixed
    assert 'registered as a non-central client (freezer-api cannot change is_central)' in fixed['drift']
    assert 'supported_modes wider than wanted: also fs' in fixed['drift']
    client = svc.client(client_id)['client']
    assert client['is_central'] is True and client['supported_modes'] == ['cindernative']
    assert sorted(client['supported_actions']) == ['admin', 'backup', 'restore']
    assert central(svc_env, client_id=client_id, hostname='backup01').changed is False


def test_jobs_report_across_projects_with_trust_status(svc, svc_env, svc_auth, demo, demo2, client_id, jobs):
    # Jobs POSTed while the client is not central get no trust: the central scheduler would skip them.
    # (A non-central client is visible to its own project only, so those jobs live in the service project.)
    status, body = svc.call('POST', '/clients', json=dict(client_id=client_id, hostname='backup01',
                                                          supported_modes=['cindernative', 'fs']))
    assert status == 201, body
    untrusted = jobs(svc, svc.create_job(client_id, 'it-untrusted-' + client_id))
    fs_job = jobs(svc, svc.create_job(client_id, 'it-fs-' + client_id, mode='fs'))
    assert not (svc.job(untrusted).get('user_credentials') or {}).get('trust_id')

    assert central(svc_env, client_id=client_id, hostname='backup01').changed is True
    trusted = jobs(demo, demo.create_job(client_id, 'it-trusted-' + client_id))
    assert demo.job(trusted)['user_credentials']['trust_id']  # freezer-api made a trust for the central client
    # Now that the client only supports cindernative, freezer-api refuses an fs job outright.
    status, body = demo2.call('POST', '/jobs', json=dict(client_id=client_id, description='fs', job_schedule={},
                                                         job_actions=[dict(freezer_action=dict(
                                                             action='backup', mode='fs', backup_name='x',
                                                             path_to_backup='/etc', storage='local',
                                                             container='/tmp/x'))]))
    assert status == 422 and 'does not support mode: fs' in body['description'], body

    report = central(svc_env, client_id=client_id, hostname='backup01')
    assert report.changed is False and not report.failed, report
    by_id = dict((j['job_id'], j) for j in report['jobs'])
    assert sorted(by_id) == sorted([untrusted, trusted, fs_job])
    assert by_id[trusted]['served'] is True and by_id[trusted]['has_trust'] is True
    assert by_id[trusted]['project_id'] == demo.conn.current_project_id
    assert by_id[trusted]['trustor_user_id'] == demo.conn.current_user_id
    assert by_id[untrusted]['served'] is False and by_id[untrusted]['project_id'] == svc.conn.current_project_id
    assert 'no user_credentials.trust_id' in by_id[untrusted]['reasons'][0]
    assert by_id[fs_job]['served'] is False and by_id[fs_job]['has_trust'] is False
    assert "mode fs is not in the client's supported_modes (cindernative)" in by_id[fs_job]['reasons']
    assert sorted(report['untrusted_jobs']) == sorted([untrusted, fs_job])
    assert sorted(report['unserved_jobs']) == sorted([untrusted, fs_job])
    assert report['projects'] == [demo.conn.current_project_id]
    trust_id = demo.job(trusted)['user_credentials']['trust_id']
    assert trust_id not in report.stdout


def test_member_cannot_register_a_central_client(lc_demo, clouds_yaml, demo, client_id):
    run = run_module(MODULE, dict(cloud='localcloud-demo', client_id=client_id, hostname='backup01'),
                     env={'OS_CLIENT_CONFIG_FILE': clouds_yaml})
    assert run.failed
    assert run['msg'].startswith('cannot register central freezer client %s: freezer-api POST clients: HTTP 403'
                                 % client_id), run['msg']
    assert 'roles service and member' in run['msg']
    no_traceback(run)
    assert demo.client(client_id) is None


# -- issue 17: empty client_id; several rows of one client_id ------------------------------------------------------
def rows_of(svc, client_id):
    """Every registration row of the client_id freezer-api lists (one per hostname)."""
    status, body = svc.call('GET', '/clients', params=dict(limit=1000))
    assert status == 200, body
    return [r for r in body['clients'] if r['client']['client_id'] == client_id]


def delete_every_row(svc, client_id):
    for _row in rows_of(svc, client_id):
        svc.call('DELETE', '/clients/' + client_id)


def test_empty_client_id_is_refused_in_every_state(svc, svc_env):
    """Before: state=absent in check mode predicted deleting nothing and a real run got HTTP 405 (DELETE /clients/).
    (Whitespace-only ids: tests/unit/plugins/module_utils/protection/test_central_scheduler.py.)"""
    for state in ('present', 'absent'):
        for check in (True, False):
            result = central(svc_env, check=check, client_id='', hostname='backup01', state=state)
            assert result.failed and result.changed is False, result
            assert 'client_id must not be empty or only whitespace' in result['msg'], result['msg']
            assert 'HTTP' not in result['msg']
            no_traceback(result)
    rows = svc.call('GET', '/clients', params=dict(limit=1000))[1]['clients']
    assert not [r for r in rows if not (r['client'].get('client_id') or '').strip()]


def test_rows_with_other_hostnames_are_converged_in_one_run(svc, svc_env, client_id):
    """freezer-api keeps one row per (client_id, hostname): a stale wide row of another hostname must go too."""
    wanted = dict(client_id=client_id, hostname='backup01', is_central=True, supported_actions=['admin', 'backup',
                  'restore'], supported_modes=['cindernative'], supported_storages=['swift'], supported_engines=['tar'])
    stale = dict(wanted, hostname='old-backup', supported_modes=['cindernative', 'fs'],
                 supported_actions=['backup', 'exec'])
    try:
        for doc in (wanted, stale):
            status, body = svc.call('POST', '/clients', json=doc)
            assert status == 201, body
        assert sorted(r['client']['hostname'] for r in rows_of(svc, client_id)) == ['backup01', 'old-backup']

        check = central(svc_env, check=True, client_id=client_id, hostname='backup01', report_jobs=False)
        assert check.changed is True and check['action'] == 'recreated', check
        assert sorted(r['hostname'] for r in check['removed']) == ['backup01', 'old-backup']
        assert len(rows_of(svc, client_id)) == 2  # check mode removed nothing

        fixed = central(svc_env, client_id=client_id, hostname='backup01', report_jobs=False)
        assert fixed.changed is True and not fixed.failed, fixed
        assert sorted(r['hostname'] for r in fixed['registrations']) == ['backup01', 'old-backup']
        assert sorted(r['hostname'] for r in fixed['removed']) == ['backup01', 'old-backup']
        assert any('2 registrations of client_id %s' % client_id in d for d in fixed['drift']), fixed['drift']
        assert any(d.startswith('old-backup: supported_modes wider than wanted: also fs') for d in fixed['drift'])
        rows = rows_of(svc, client_id)
        assert [(r['client']['hostname'], r['client']['supported_modes']) for r in rows] == \
            [('backup01', ['cindernative'])]
        again = central(svc_env, client_id=client_id, hostname='backup01', report_jobs=False)
        assert again.changed is False and again['removed'] == [], again

        status, body = svc.call('POST', '/clients', json=stale)
        assert status == 201, body
        gone = central(svc_env, client_id=client_id, state='absent', report_jobs=False)
        assert gone.changed is True and gone['action'] == 'deleted', gone
        assert sorted(r['hostname'] for r in gone['removed']) == ['backup01', 'old-backup']
        assert rows_of(svc, client_id) == []
    finally:
        delete_every_row(svc, client_id)

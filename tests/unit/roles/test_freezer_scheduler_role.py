"""The freezer_scheduler role's defects of issue 17 that need no target host.

- service_auth.conf, rendered from the role's template, read back by the real oslo.config (the parser
  freezer-scheduler uses) gives back every password character for character ($ % # quotes spaces non-ASCII);
- freezer-api's config is read with a real INI parser (a value holding '[' such as memcached_servers = [::1]:11211);
- argument specs reject capability typos and unknown admin credential keys before any task runs;
- two hosts with one client_id are refused, before anything is touched; distinct ids pass;
- delegated tasks do not inherit the play's become; apt refreshes stale lists; the credentials file is root's.
The real-host behaviour (systemd, co-location with freezer-api, upgrade, removal) is the molecule scenario
extensions/molecule/freezer_scheduler_systemd.
"""
import json
import os
import subprocess
import sys
import textwrap

import jinja2
import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
ROLE = os.path.join(ROOT, 'roles', 'freezer_scheduler')
# oslo.config is not a dependency of the collection; the local cloud's virtualenv (make setup) has the real one.
OSLO_PYTHON = os.path.join(ROOT, '.localcloud', 'venv', 'bin', 'python')

PASSWORDS = [
    'plain',
    'dollar$sign',
    '$starts',
    'ends$',
    '${interpolated}',
    '$$double',
    'per%cent%(x)s',
    'hash # not a comment',
    '#leading-hash',
    ';semicolon',
    '"double-quoted"',
    "'single-quoted'",
    'mixed"\'quotes',
    '  leading and trailing spaces  ',
    'naïve – пароль – 密码',
    '=equals:colon',
]

OSLO_READER = textwrap.dedent('''
    import json, sys
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    names = ['os_auth_url', 'os_username', 'os_password', 'os_project_name', 'os_user_domain_name',
             'os_project_domain_name', 'os_region_name', 'os_endpoint_type', 'os_cacert']
    conf.register_opts([cfg.StrOpt(name) for name in names], group='service_auth')
    out = []
    for path in sys.argv[1:]:
        conf(['--config-file', path], project='probe', default_config_files=[], default_config_dirs=[])
        out.append({name: conf.service_auth[name] for name in names})
        conf.reset()
        conf.clear()
    print(json.dumps(out))
''')


def defaults(**overrides):
    with open(os.path.join(ROLE, 'defaults', 'main.yml'), encoding='utf-8') as handle:
        variables = yaml.safe_load(handle)
    variables.update(ansible_managed='Ansible managed', **overrides)
    return variables


def render(template, **variables):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True)
    with open(os.path.join(ROLE, 'templates', template), encoding='utf-8') as handle:
        return env.from_string(handle.read()).render(**variables)


def test_service_auth_passwords_survive_oslo_config(tmp_path):
    assert os.path.exists(OSLO_PYTHON), 'oslo.config comes from the local cloud virtualenv: run `make setup`'
    paths = []
    for number, password in enumerate(PASSWORDS):
        path = tmp_path / ('service_auth_%d.conf' % number)
        path.write_text(render('service_auth.conf.j2', **defaults(
            freezer_scheduler_service_password=password, freezer_scheduler_cacert='/etc/ssl/ca $1.pem')),
            encoding='utf-8')
        paths.append(str(path))
    proc = subprocess.run([OSLO_PYTHON, '-c', OSLO_READER] + paths, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    read = json.loads(proc.stdout)
    assert [item['os_password'] for item in read] == PASSWORDS
    assert {item['os_username'] for item in read} == {'freezer'}
    assert {item['os_cacert'] for item in read} == {'/etc/ssl/ca $1.pem'}
    assert {item['os_auth_url'] for item in read} == {'http://127.0.0.1:5000/v3'}


def read_api_conf(path):
    proc = subprocess.run([sys.executable, os.path.join(ROLE, 'files', 'read_api_conf.py'), str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_api_conf_values_with_brackets(tmp_path):
    conf = tmp_path / 'freezer-api.conf'
    conf.write_text(textwrap.dedent('''\
        [DEFAULT]
        bind_host = ::1
        [keystone_authtoken]
        memcached_servers = [::1]:11211,[fd00::2]:11211
        www_authenticate_uri = http://[::1]:5000
        username = freezer-svc
        password = not$printed
        [centralized_scheduler]
        # a comment with [brackets]
        enabled = True
        auth_section = keystone_authtoken
        '''))
    result = read_api_conf(conf)
    assert result == {'readable': True, 'error': '', 'enabled': 'True', 'auth_section': 'keystone_authtoken',
                      'username': 'freezer-svc'}
    assert 'not$printed' not in json.dumps(result)


def test_api_conf_defaults_and_unreadable(tmp_path):
    conf = tmp_path / 'freezer-api.conf'
    conf.write_text('[keystone_authtoken]\nusername = freezer\n')
    assert read_api_conf(conf)['enabled'] == 'true'
    assert read_api_conf(conf)['auth_section'] == 'keystone_authtoken'
    missing = read_api_conf(tmp_path / 'nope.conf')
    assert missing['readable'] is False and 'No such file' in missing['error']


def tasks_of(name):
    with open(os.path.join(ROLE, name), encoding='utf-8') as handle:
        stack = list(yaml.safe_load(handle) or [])
    while stack:
        task = stack.pop(0)
        yield task
        for key in ('block', 'rescue', 'always'):
            stack.extend(task.get(key, []))


ALL_TASK_FILES = sorted('tasks/' + name for name in os.listdir(os.path.join(ROLE, 'tasks'))) + ['handlers/main.yml']


def test_delegated_tasks_do_not_become_unless_asked():
    delegated = [(name, task) for name in ALL_TASK_FILES for task in tasks_of(name) if 'delegate_to' in task]
    assert len(delegated) >= 6
    for name, task in delegated:
        assert task.get('become') == '{{ freezer_scheduler_delegate_become | bool }}', (name, task['name'])
    assert defaults()['freezer_scheduler_delegate_become'] is False


def test_apt_refreshes_stale_lists():
    apt = [task for name in ALL_TASK_FILES for task in tasks_of(name) if 'ansible.builtin.apt' in task]
    assert apt
    for task in apt:
        assert task['ansible.builtin.apt']['update_cache'] is True
        assert task['ansible.builtin.apt']['cache_valid_time'] == '{{ freezer_scheduler_apt_cache_valid_time }}'


def test_credentials_file_is_roots_and_config_dir_is_the_schedulers_own():
    (task,) = [task for task in tasks_of('tasks/configure.yml')
               if task.get('ansible.builtin.template', {}).get('src') == 'service_auth.conf.j2']
    args = task['ansible.builtin.template']
    assert (args['owner'], args['group'], args['mode']) == ('root', '{{ freezer_scheduler_group }}', '0640')
    assert task['no_log'] is True
    assert defaults()['freezer_scheduler_config_dir'] == '/etc/freezer-scheduler'
    # the config directory's mode is set only when the role owns it
    (mkdir,) = [task for task in tasks_of('tasks/configure.yml')
                if task.get('ansible.builtin.file', {}).get('path') == '{{ freezer_scheduler_config_dir }}']
    assert 'freezer_scheduler_config_dir_stat.stat.exists' in mkdir['when']


def test_pip_change_restarts_the_scheduler():
    (pip,) = [task for task in tasks_of('tasks/install.yml') if 'ansible.builtin.pip' in task]
    assert pip['notify'] == 'Restart freezer-scheduler'


# --- real ansible-playbook runs of the role's validation, on two local hosts (nothing reaches a cloud) ---

def run_role(tmp_path, host_vars, role_vars):
    inventory = {'all': {'hosts': {name: dict({'ansible_connection': 'local',
                                                'ansible_python_interpreter': sys.executable}, **values)
                                       for name, values in host_vars.items()}}}
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory))
    play = [{'hosts': 'all', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.include_role': {'name': 'dataprotection.openstack.freezer_scheduler'}, 'vars': role_vars}]}]
    (tmp_path / 'play.yml').write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.venv', 'collections'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_HOME=str(tmp_path / 'ansible-home'),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'))
    playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    proc = subprocess.run([playbook, '-i', str(tmp_path / 'inventory.yml'), str(tmp_path / 'play.yml')],
                          capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def base_vars(tmp_path, **extra):
    values = {
        'freezer_scheduler_service_password': 'secret',
        'freezer_scheduler_manage_keystone': False,
        'freezer_scheduler_check_api_config': False,
        # nothing listens there: a run that passes validation stops at the service user's login
        'freezer_scheduler_auth_url': 'http://127.0.0.1:9/v3',
        'freezer_scheduler_config_dir': str(tmp_path / 'etc'),
        'freezer_scheduler_venv': str(tmp_path / 'venv'),
        'freezer_scheduler_home': str(tmp_path / 'home'),
    }
    values.update(extra)
    return values


def test_two_hosts_with_one_client_id_are_refused(tmp_path):
    rc, output = run_role(tmp_path, {'sched1': {}, 'sched2': {}}, base_vars(tmp_path))
    assert rc != 0
    assert 'freezer_scheduler_client_id central-scheduler is set for several hosts (sched1, sched2)' in output
    assert 'Log in as the service user' not in output
    assert not (tmp_path / 'etc').exists() and not (tmp_path / 'venv').exists()


def test_distinct_client_ids_pass_validation(tmp_path):
    role_vars = base_vars(tmp_path)
    role_vars['freezer_scheduler_client_id'] = '{{ my_client_id }}'
    rc, output = run_role(tmp_path, {'sched1': {'my_client_id': 'central-a'}, 'sched2': {'my_client_id': 'central-b'}},
                          role_vars)
    assert rc != 0  # stops at the login to a Keystone that is not there: validation passed
    assert 'is set for several hosts' not in output
    assert 'Log in as the service user' in output


@pytest.mark.parametrize('extra, expected', [
    ({'freezer_scheduler_supported_modes': ['cindernativ']}, 'freezer_scheduler_supported_modes'),
    ({'freezer_scheduler_supported_actions': ['backup', 'exec', 'rstore']}, 'freezer_scheduler_supported_actions'),
    ({'freezer_scheduler_supported_storages': ['swfit']}, 'freezer_scheduler_supported_storages'),
    ({'freezer_scheduler_supported_engines': ['targz']}, 'freezer_scheduler_supported_engines'),
    ({'freezer_scheduler_keystone_admin_auth': {'auth_url': 'http://k/v3', 'username': 'admin', 'passwd': 'x',
                                                'project_name': 'admin'}}, 'passwd'),
    ({'freezer_scheduler_state': 'removed'}, 'freezer_scheduler_state'),
])
def test_argument_specs_reject_typos_before_any_task(tmp_path, extra, expected):
    rc, output = run_role(tmp_path, {'sched1': {}}, base_vars(tmp_path, **extra))
    assert rc != 0
    assert "Validating arguments against arg spec 'main'" in output
    assert expected in output
    assert "Check the role's inputs" not in output and 'Log in as the service user' not in output


def test_keystone_admin_auth_keys_required_with_manage_keystone(tmp_path):
    rc, output = run_role(tmp_path, {'sched1': {}}, base_vars(
        tmp_path, freezer_scheduler_manage_keystone=True,
        freezer_scheduler_keystone_admin_auth={'auth_url': 'http://127.0.0.1:9/v3', 'username': 'admin'}))
    assert rc != 0
    assert 'freezer_scheduler_keystone_admin_auth needs auth_url, username, password' in output
    assert 'Log in as the service user' not in output

#!/usr/bin/env python3
"""`make test`: every gate and test suite, one summary line at the end.

Each gate contributes counted checks: pytest suites count their test cases
(from JUnit XML), ansible-test sanity counts each sanity test, the others
count one check each (or one per module for the ansible-doc check). Output of
each step goes to .tmp/logs/<step>.log; a failing step prints its tail.
The last line is ``N passed, N failed`` (``, N skipped`` when any were).

Steps run in three lanes at once (``--serial`` runs them one after another):
the gates that need no cloud followed by compat, the integration tests, and
the molecule scenarios (side by side). The last two mostly wait for the local
cloud's services, so on a 2-core machine they overlap with the CPU-bound
gates; each step's output is printed as one block when the step ends.
"""
import argparse
import io
import threading
import glob
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
TMP = os.path.join(ROOT, '.tmp')
LOGS = os.path.join(TMP, 'logs')
PYTHON_VERSION = '%d.%d' % sys.version_info[:2]

# Sanity runs over the collection as installed from the tarball `ansible-galaxy collection build` makes, so
# what is checked is what ships. galaxy.yml's build_ignore keeps development tooling out; this allowlist checks
# that it did (a new tool directory must not slip into the tarball unnoticed), and REQUIRED_SHIPPED that what
# users need is in it. MANIFEST.json and FILES.json are written by the build.
SHIPPED = re.compile(r'^(?:MANIFEST\.json|FILES\.json|README\.md|COPYING|CHANGELOG\.rst|requirements\.txt|bindep\.txt'
                     r'|tests/config\.yml|changelogs/(?:config\.yaml|changelog\.yaml|fragments/.*)'
                     r'|meta/.*|docs/.*|plugins/.*|roles/.*|playbooks/(?!demo|templates/).*)$')
REQUIRED_SHIPPED = ('README.md', 'COPYING', 'CHANGELOG.rst', 'requirements.txt', 'bindep.txt', 'tests/config.yml',
                    'meta/runtime.yml', 'meta/execution-environment.yml', 'changelogs/config.yaml')
_BUILT = {}


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []
        self._lock = threading.Lock()

    def add(self, step, passed, failed, skipped=0, failures=()):
        with self._lock:
            self._add(step, passed, failed, skipped, failures)

    def _add(self, step, passed, failed, skipped, failures):
        self.passed += passed
        self.failed += failed
        self.skipped += skipped
        self.failures.extend('%s: %s' % (step, name) for name in failures)


def env():
    result = dict(os.environ)
    result['PATH'] = VENV_BIN + os.pathsep + result.get('PATH', '')
    result['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(ROOT, '.venv', 'collections')
    result['ANSIBLE_PYTHON_INTERPRETER'] = os.path.join(VENV_BIN, 'python')
    result['ANSIBLE_HOME'] = os.path.join(ROOT, '.venv', 'ansible-home')
    result['PYTHONPATH'] = os.path.join(ROOT, '.venv', 'collections')
    result.setdefault('ANSIBLE_NOCOLOR', '1')
    return result


def run(step, cmd, cwd=ROOT, extra_env=None):
    """Run a command, logging its output; return (rc, output)."""
    os.makedirs(LOGS, exist_ok=True)
    log_path = os.path.join(LOGS, '%s.log' % step.replace('/', '_'))
    environment = env()
    environment.update(extra_env or {})
    started = time.monotonic()
    with open(log_path, 'w') as log:
        log.write('$ %s\n' % ' '.join(cmd))
        log.flush()
        proc = subprocess.run(cmd, cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, check=False)
    with open(log_path) as log:
        output = log.read()
    print('  %-28s rc=%s %6.1fs  (log: %s)' % (step, proc.returncode, time.monotonic() - started,
                                               os.path.relpath(log_path, ROOT)), flush=True)
    return proc.returncode, output


def show_tail(output, lines=40):
    for line in output.splitlines()[-lines:]:
        print('    | ' + line)


def count_junit(path):
    passed = failed = skipped = 0
    failures = []
    for case in ET.parse(path).getroot().iter('testcase'):
        name = '%s::%s' % (case.get('classname'), case.get('name'))
        if case.find('failure') is not None or case.find('error') is not None:
            failed += 1
            failures.append(name)
        elif case.find('skipped') is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped, failures


def pytest_step(tally, step, paths, extra_args=()):
    targets = [p for p in paths if glob.glob(os.path.join(ROOT, p, '**', 'test_*.py'), recursive=True)]
    if not targets:
        print('  %-28s no tests yet' % step)
        return
    junit = os.path.join(TMP, 'junit-%s.xml' % step)
    if os.path.exists(junit):
        os.remove(junit)
    rc, output = run(step, [os.path.join(VENV_BIN, 'python'), '-m', 'pytest', '-p', 'no:cacheprovider', '-rfEs',
                            '--junitxml', junit] + list(extra_args) + targets)
    if not os.path.exists(junit):
        tally.add(step, 0, 1, failures=['pytest did not run (rc=%s)' % rc])
        show_tail(output)
        return
    passed, failed, skipped, failures = count_junit(junit)
    if rc not in (0, 5) and not failed:
        failed, failures = 1, ['pytest exited %s' % rc]
    tally.add(step, passed, failed, skipped, failures)
    if failed:
        show_tail(output, 60)


def built_collection():
    """The collection tarball (`ansible-galaxy collection build` of this checkout), built once per run."""
    if 'tarball' not in _BUILT:
        build_dir = os.path.join(TMP, 'build')
        shutil.rmtree(build_dir, ignore_errors=True)
        rc, output = run('galaxy-build', ['ansible-galaxy', 'collection', 'build', '--output-path', build_dir, ROOT])
        tarballs = glob.glob(os.path.join(build_dir, '*.tar.gz'))
        if rc or not tarballs:
            show_tail(output)
            raise RuntimeError('ansible-galaxy collection build failed (rc=%s)' % rc)
        _BUILT['tarball'] = tarballs[0]
    return _BUILT['tarball']


def installed_env(dest):
    """Environment in which only the collection installed under dest is visible (not this checkout)."""
    return {'ANSIBLE_COLLECTIONS_PATH': dest, 'PYTHONPATH': ''}


def install_collection(step, dest):
    """Install the built tarball under dest; return (rc, the collection's directory)."""
    shutil.rmtree(dest, ignore_errors=True)
    # --force and only dest on the collections path: .venv/collections links this checkout as the same version,
    # which ansible-galaxy would otherwise take as "already installed" and install nothing.
    rc, output = run(step, ['ansible-galaxy', 'collection', 'install', '--offline', '--force', '-p', dest,
                            built_collection()], extra_env=installed_env(dest))
    if rc:
        show_tail(output)
    return rc, os.path.join(dest, 'ansible_collections', 'dataprotection', 'openstack')


def sanity_tree():
    """The collection installed from its tarball into a real ansible_collections tree, with git (ansible-test)."""
    rc, tree = install_collection('galaxy-install-sanity', os.path.join(TMP, 'sanity'))
    if rc:
        raise RuntimeError('ansible-galaxy collection install of the built tarball failed (rc=%s)' % rc)
    subprocess.run(['git', 'init', '-q'], cwd=tree, check=True)
    subprocess.run(['git', 'add', '-A'], cwd=tree, check=True)
    return tree


def shipped_files_check(tally, tree):
    """Everything in the tarball is on the SHIPPED allowlist and nothing users need is missing."""
    shipped = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = [d for d in dirnames if d != '.git']
        shipped += [os.path.relpath(os.path.join(dirpath, f), tree) for f in filenames]
    unexpected = sorted(p for p in shipped if not SHIPPED.match(p) or '__pycache__' in p or p.endswith('.pyc'))
    missing = [p for p in REQUIRED_SHIPPED if p not in shipped]
    size = os.path.getsize(built_collection())
    print('  %-28s %d files, %.0f kB tarball; %d unexpected, %d missing'
          % ('shipped files', len(shipped), size / 1024.0, len(unexpected), len(missing)))
    for path in unexpected[:30]:
        print('    | unexpected in the tarball (galaxy.yml build_ignore?): ' + path)
    for path in missing:
        print('    | missing from the tarball: ' + path)
    ok = not unexpected and not missing
    tally.add('sanity', int(ok), int(not ok), failures=[] if ok else ['shipped files (%d unexpected, %d missing)'
                                                                    % (len(unexpected), len(missing))])


def execution_environment_check(tally, tree):
    """meta/execution-environment.yml (as shipped) is a valid ansible-builder v3 definition.

    `ansible-builder create` (the build context only: no registry or container runtime here) runs on a copy of
    the file at the collection root, where its relative paths point (ansible-builder's introspection reads them
    relative to the collection root when the collection is installed into an execution environment); the
    context must carry every requirement of requirements.txt and bindep.txt and the ansible-core pin.
    """
    work = os.path.join(TMP, 'ee')
    shutil.rmtree(work, ignore_errors=True)
    source, context = os.path.join(work, 'collection'), os.path.join(work, 'context')
    os.makedirs(source)
    for name in ('requirements.txt', 'bindep.txt'):
        shutil.copy2(os.path.join(tree, name), source)
    shutil.copy2(os.path.join(tree, 'meta', 'execution-environment.yml'), source)
    rc, output = run('ansible-builder-create', ['ansible-builder', 'create', '-f',
                                                os.path.join(source, 'execution-environment.yml'), '-c', context])
    problems = [] if rc == 0 else ['ansible-builder create rc=%s' % rc]
    if rc == 0:
        import yaml
        with open(os.path.join(tree, 'meta', 'execution-environment.yml')) as handle:
            definition = yaml.safe_load(handle)
        if definition.get('version') != 3:
            problems.append('version is %r, not 3' % definition.get('version'))
        def lines(path):
            if not os.path.exists(path):
                return []
            with open(path) as handle:
                return [line.strip() for line in handle if line.strip() and not line.startswith('#')]

        for name in ('requirements.txt', 'bindep.txt'):
            got = lines(os.path.join(context, '_build', name))
            problems += ['%s: %r not in the build context' % (name, line)
                         for line in lines(os.path.join(tree, name)) if line not in got]
        text = '\n'.join(lines(os.path.join(context, 'Containerfile')) + lines(os.path.join(context, 'Dockerfile')))
        pin = definition.get('dependencies', {}).get('ansible_core', {}).get('package_pip', '')
        if not pin or pin not in text:
            problems.append('ansible-core pin %r not in the Containerfile' % pin)
    print('  %-28s %s' % ('execution environment', 'ok' if not problems else '; '.join(problems)))
    tally.add('sanity', int(not problems), int(bool(problems)),
              failures=['meta/execution-environment.yml: ' + '; '.join(problems)] if problems else [])
    if rc:
        show_tail(output)


def sanity_step(tally):
    tree = sanity_tree()
    shipped_files_check(tally, tree)
    execution_environment_check(tally, tree)
    rc, output = run('sanity', ['ansible-test', 'sanity', '--python', PYTHON_VERSION, '--color', 'no'], cwd=tree)
    tests = re.findall(r'Running sanity test ["\']([^"\']+)["\']', output)
    failed_tests = set()
    block = re.search(r'sanity test\(s\) listed below \(out of \d+\) failed[^\n]*\n((?:[a-z0-9][\w.-]*(?: [^\n]*)?\n?)+)', output)
    if block:
        failed_tests = {line.split()[0] for line in block.group(1).splitlines() if line.strip()}
    if rc != 0 and not failed_tests:
        failed_tests = {'ansible-test (rc=%s)' % rc}
    passed = len([t for t in tests if t not in failed_tests])
    tally.add('sanity', passed, len(failed_tests), failures=sorted(failed_tests))
    if failed_tests:
        for line in output.splitlines():
            if line.startswith(('ERROR:', 'FATAL:')):
                print('    | ' + line)
        if rc and not tests:
            show_tail(output)


def lint_step(tally):
    targets = [p for p in ('roles', 'playbooks') if os.path.isdir(os.path.join(ROOT, p))]
    if not targets:
        print('  %-28s nothing to lint yet' % 'ansible-lint')
        return
    rc, output = run('ansible-lint', ['ansible-lint', '--offline'] + targets)
    tally.add('ansible-lint', int(rc == 0), int(rc != 0), failures=[] if rc == 0 else ['ansible-lint'])
    if rc:
        show_tail(output)


def changelog_step(tally):
    rc, output = run('changelog-lint', ['antsibull-changelog', 'lint'])
    tally.add('changelog', int(rc == 0), int(rc != 0), failures=[] if rc == 0 else ['antsibull-changelog lint'])
    if rc:
        show_tail(output)
    # CHANGELOG.rst is generated from the fragments (hacking/changelog.py, `make changelog`) and committed.
    rc, output = run('changelog-rst', [os.path.join(VENV_BIN, 'python'), os.path.join(ROOT, 'hacking', 'changelog.py'),
                                       '--check'])
    tally.add('changelog', int(rc == 0), int(rc != 0),
              failures=[] if rc == 0 else ['CHANGELOG.rst is not what the fragments give: run `make changelog`'])
    if rc:
        show_tail(output)


# Scenarios `make test` runs only when asked (name -> environment variable that must be "1"): each is a known
# gap, counted as skipped in the summary line. None today: freezer_scheduler_systemd (a Debian 13 host booted
# with systemd, ~7 min idle, ~12 min loaded; its root filesystem cached under ~/.cache/dataprotection-openstack/)
# runs in every `make test`.
OPT_IN_SCENARIOS = {}


def molecule_step(tally):
    """Each scenario's `molecule test`, then its whole output (every stage) scanned for the local cloud's secrets.

    Secrets (hacking/secret_scan.py): freezer-api's service user password and the admin password the scenario
    gives the role, and every trust id Keystone lists - polled every second during the run (freezer-api deletes
    a job's trust with the last job using it, as the scenario's verify cleanup does) and once after it (the
    scenario's destroy only unregisters the client: it deletes no trust). A hit fails the scenario, naming the
    kind of secret and the log line; the log is rewritten with the values redacted and they are never printed.
    """
    scenarios = sorted(glob.glob(os.path.join(ROOT, 'extensions', 'molecule', '*', 'molecule.yml')))
    if not scenarios:
        print('  %-28s no scenarios yet' % 'molecule')
        return
    # The scenarios have their own targets, ports, client ids and resource names: they run side by side (each
    # mostly waits for its target and for the scheduler's polls); each one's lines are printed as one block.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(len(scenarios)) as pool:
        texts = list(pool.map(lambda path: in_own_buffer(molecule_scenario, tally, path), scenarios))
    for text in texts:
        print(text, end='')


def in_own_buffer(func, *args):
    """Run func in this thread with its prints kept apart (while lanes run); returns what it printed."""
    out = sys.stdout
    if not isinstance(out, _LaneOutput):
        func(*args)
        return ''
    out.buffers[threading.get_ident()] = io.StringIO()
    try:
        func(*args)
    finally:
        text = out.buffers.pop(threading.get_ident()).getvalue()
    return text


def molecule_scenario(tally, path):
    """One scenario: `molecule test`, then the scan of its output (molecule_step)."""
    import secret_scan  # hacking/secret_scan.py, next to this file

    name = os.path.basename(os.path.dirname(path))
    step = 'molecule-' + name
    if name in OPT_IN_SCENARIOS and os.environ.get(OPT_IN_SCENARIOS[name]) != '1':
        print('  %-28s SKIPPED: opt-in, not green yet (%s=1 runs it)' % (step, OPT_IN_SCENARIOS[name]))
        tally.add('molecule', 0, 0, 1)
        return
    watcher = None
    if os.path.exists(os.path.join(ROOT, '.localcloud', 'clouds.yaml')):
        watcher = secret_scan.TrustWatcher(secret_scan.admin_auth_of(ROOT))
        watcher.start()
    rc, output = run(step, ['molecule', 'test', '-s', name], cwd=os.path.join(ROOT, 'extensions'))
    reasons = [] if rc == 0 else ['molecule test rc=%s' % rc]
    try:
        seen = watcher.halt() if watcher else set()
        secrets, admin_auth = secret_scan.static_secrets(ROOT)
        trusts = seen | secret_scan.trust_ids(admin_auth)
        secrets += [('trust id', trust_id) for trust_id in sorted(trusts)]
        hits = secret_scan.scan(output, secrets)
        print('  %-28s %d secrets (%d trust ids; %d trust listings during the run, %d failed) -> %d leaks'
              % ('secret scan', len(secrets), len(trusts), watcher.polls if watcher else 0,
                 watcher.errors if watcher else 0, len(hits)))
    except Exception as exc:  # noqa: BLE001 - no scan is a failure, never a pass
        hits, secrets = [], []
        reasons.append('secret scan impossible (%s: %s)' % (type(exc).__name__, exc))
    if hits:
        output = secret_scan.redact(output, secrets)
        with open(os.path.join(LOGS, '%s.log' % step), 'w') as log:
            log.write(output)
        for kind, line in hits[:20]:
            print('    LEAK: %s in the output of %s, log line %d' % (kind, name, line))
        reasons += ['%s leaked at log line(s) %s' % (kind, ', '.join(str(line) for k, line in hits if k == kind))
                    for kind in sorted({kind for kind, _line in hits})]
    tally.add('molecule', int(not reasons), int(bool(reasons)),
              failures=['%s (%s)' % (name, '; '.join(reasons))] if reasons else [])
    if reasons:
        show_tail(output)


def docs_step(tally):
    """Build the collection, install the tarball, render every module with ansible-doc, lint the collection docs."""
    install_dir = os.path.join(TMP, 'installed')
    try:
        built_collection()
    except RuntimeError:
        tally.add('docs', 0, 1, failures=['ansible-galaxy collection build'])
        return
    rc, tree = install_collection('galaxy-install', install_dir)
    if rc:
        tally.add('docs', 0, 1, failures=['ansible-galaxy collection install'])
        return
    tally.add('docs', 2, 0)
    # antsibull-docs' linter on what ships: plugin and role docs render to RST for the docsite (schema, markup,
    # rstcheck) and references into this collection resolve. `make docs` builds the HTML site itself.
    rc, output = run('antsibull-docs-lint', ['antsibull-docs', 'lint-collection-docs', '--plugin-docs',
                                             '--validate-collection-refs', 'self', tree],
                     extra_env=installed_env(install_dir))
    tally.add('docs', int(rc == 0), int(rc != 0), failures=[] if rc == 0 else ['antsibull-docs lint-collection-docs'])
    if rc:
        show_tail(output)
    modules = sorted(os.path.splitext(os.path.basename(p))[0]
                     for p in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')))
    doc_env = installed_env(install_dir)
    for module in modules:
        fqcn = 'dataprotection.openstack.%s' % module
        rc, output = run('ansible-doc-' + module, ['ansible-doc', '-t', 'module', fqcn], extra_env=doc_env)
        ok = rc == 0 and 'OPTIONS' in output and 'EXAMPLES' in output and 'RETURN' in output
        tally.add('docs', int(ok), int(not ok), failures=[] if ok else ['ansible-doc ' + fqcn])
        if not ok:
            show_tail(output)


# Compat environments (hacking/compat/<env>.txt, built by `make setup` in .venv/compat/<env>): the lowest and the
# newest supported Python, ansible-core, openstacksdk, kubernetes and jmespath.
COMPAT_ENVS = ('lowest', 'newest')


def compat_pytest(step, python, paths, extra_args=(), extra_env=None):
    """One pytest run with the given Python; returns (passed, failed, skipped, failures, output)."""
    junit = os.path.join(TMP, 'junit-%s.xml' % step)
    if os.path.exists(junit):
        os.remove(junit)
    rc, output = run(step, [python, '-m', 'pytest', '-p', 'no:cacheprovider', '-rfEs', '--junitxml', junit]
                     + list(extra_args) + list(paths), extra_env=extra_env)
    if not os.path.exists(junit):
        return 0, 1, 0, ['pytest did not run (rc=%s)' % rc], output
    passed, failed, skipped, failures = count_junit(junit)
    if rc != 0 and not failed:
        failed, failures = 1, ['pytest exited %s' % rc]
    return passed, failed, skipped, failures, output


def compat_env_run(name):
    """One environment: the unit tests with its own Python and pytest, then tests/compat (smoke plays against the
    local cloud, ansible-doc) with its ansible-playbook and ansible-doc; returns [(step, compat_pytest result)]."""
    venv = os.path.join(ROOT, '.venv', 'compat', name)
    if not os.path.exists(os.path.join(venv, 'bin', 'ansible-playbook')):
        return [('compat-' + name, (0, 1, 0, ['%s is missing: run `make setup`' % os.path.relpath(venv, ROOT)], ''))]
    venv_bin_dir = os.path.join(venv, 'bin')
    # pytest.ini's addopts belong to pytest-ansible (.venv only); tests/compat/module_args_shim.py supplies the
    # tests' ansible-core >= 2.19 helper on older ansible-core
    units = compat_pytest('compat-%s-units' % name, os.path.join(venv_bin_dir, 'python'), ['tests/unit'],
                          ['-o', 'addopts=', '-p', 'module_args_shim'],
                          {'PATH': venv_bin_dir + os.pathsep + os.environ.get('PATH', ''),
                           'ANSIBLE_PYTHON_INTERPRETER': os.path.join(venv_bin_dir, 'python'),
                           'PYTHONPATH': os.pathsep.join([os.path.join(ROOT, 'tests', 'compat'),
                                                          os.path.join(ROOT, '.venv', 'collections')])})
    smoke = compat_pytest('compat-%s-smoke' % name, os.path.join(VENV_BIN, 'python'), ['tests/compat'], (),
                          {'COMPAT_ANSIBLE_PLAYBOOK': os.path.join(venv_bin_dir, 'ansible-playbook'),
                           'COMPAT_LOCK': os.path.join(ROOT, 'hacking', 'compat', name + '.txt')})
    return [('compat-%s-units' % name, units), ('compat-%s-smoke' % name, smoke)]


def compat_step(tally):
    """Both ends of the supported range: each compat environment in its own thread (the smoke plays mostly wait
    for the local cloud), counted per test case like the other pytest steps."""
    import concurrent.futures

    for name in COMPAT_ENVS:
        try:
            with open(os.path.join(ROOT, '.venv', 'compat', name, '.setup-stamp')) as stamp:
                python = stamp.read().split()[0]
            with open(os.path.join(ROOT, 'hacking', 'compat', name + '.txt')) as lock:
                pins = dict(re.findall(r'^([a-z0-9_.-]+)==(\S+)', lock.read(), re.M))
            print('  %-8s Python %s, %s' % (name, python, ', '.join(
                '%s %s' % (d, pins.get(d)) for d in ('ansible-core', 'openstacksdk', 'kubernetes', 'jmespath'))))
        except (OSError, IndexError):
            pass  # not built: compat_env_run reports it
    with concurrent.futures.ThreadPoolExecutor(len(COMPAT_ENVS)) as pool:
        results = list(pool.map(compat_env_run, COMPAT_ENVS))
    for runs in results:
        for step, (passed, failed, skipped, failures, output) in runs:
            tally.add(step, passed, failed, skipped, failures)
            if failed:
                print('  %s:' % step)
                show_tail(output, 60)


STEPS = {
    'changelog': changelog_step,
    'sanity': sanity_step,
    'units': lambda tally: pytest_step(tally, 'units', ['tests/unit']),
    # units and smoke plays on the lowest and the newest supported versions (hacking/compat)
    'compat': compat_step,
    'emulator': lambda tally: pytest_step(tally, 'emulator', ['tests/k8s_emulator/tests']),
    # Integration tests run in parallel against the one shared local cloud (they use unique names; the cloud's
    # start is locked and leased). loadfile keeps each file's module-scoped fixtures in one worker; the files start
    # longest first, in the order tests/integration/conftest.py gives them (not xdist's: most tests first).
    'integration': lambda tally: pytest_step(tally, 'integration', ['tests/integration'],
                                             ['-n', os.environ.get('INTEGRATION_WORKERS', '4'), '--dist', 'loadfile',
                                              '--no-loadscope-reorder']),
    'lint': lint_step,
    'molecule': molecule_step,
    'docs': docs_step,
}


CLOUD_STEPS = ('compat', 'integration', 'molecule')
# Lanes run at once; the steps of one lane run in order. Integration and molecule share the one local cloud
# (both use unique names); sanity and docs share the built tarball, so they stay in one lane. The machine's two
# cores are the limit (about 1.8 busy over a whole run): the integration files start longest first, and the
# molecule scenarios run side by side, so that no lane ends long after the others.
LANES = (('changelog', 'sanity', 'units', 'emulator', 'lint', 'docs', 'compat'), ('integration',), ('molecule',))


class _LaneOutput(io.TextIOBase):
    """sys.stdout while lanes run: what a lane's thread prints is kept for its step's block; the rest passes."""

    def __init__(self, real):
        super().__init__()
        self.real = real
        self.buffers = {}

    def write(self, text):
        buffer = self.buffers.get(threading.get_ident())
        return (buffer or self.real).write(text)

    def flush(self):
        self.real.flush()


def run_step(tally, name, step):
    print('== %s' % name, flush=True)
    started = time.monotonic()
    try:
        step(tally)
    except Exception as exc:  # a broken step is a failure, never a crash of the runner
        tally.add(name, 0, 1, failures=['%s: %s' % (type(exc).__name__, exc)])
        print('  %s crashed: %s' % (name, exc))
    print('  (%s: %.0fs)' % (name, time.monotonic() - started), flush=True)


def run_lanes(tally, steps):
    """Each lane in a thread; a step's output is printed as one block when the step ends."""
    out = _LaneOutput(sys.stdout)
    lock = threading.Lock()

    def lane(names):
        for name in names:
            if name not in steps:
                continue
            out.buffers[threading.get_ident()] = io.StringIO()
            run_step(tally, name, steps[name])
            text = out.buffers.pop(threading.get_ident()).getvalue()
            with lock:
                out.real.write(text)
                out.real.flush()

    sys.stdout = out
    try:
        threads = [threading.Thread(target=lane, args=(names,), name='lane-%d' % index)
                   for index, names in enumerate(LANES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.stdout = out.real


def cloud_running():
    return subprocess.run(['python3', 'localcloud/run.py', 'status'], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', action='append', choices=sorted(STEPS), help='run only these steps')
    parser.add_argument('--serial', action='store_true', help='run the steps one after another, not in lanes')
    args = parser.parse_args()
    tally = Tally()
    started = time.monotonic()
    steps = [(name, step) for name, step in STEPS.items() if not args.only or name in args.only]
    # The local cloud starts once for the whole run and is shared by every step that needs it
    # (integration tests, molecule); it is stopped at the end only if this run started it.
    cloud_needed = any(name in CLOUD_STEPS for name, _step in steps) and os.path.exists(
        os.path.join(ROOT, 'localcloud', 'run.py'))
    stop_cloud = cloud_needed and not cloud_running()
    if cloud_needed:
        os.environ['LOCALCLOUD_KEEP'] = '1'
    if cloud_needed and len(steps) > 1 and not args.serial:
        # Start the cloud once, before the lanes race to it (the start is locked, but its output belongs here).
        subprocess.run(['python3', 'localcloud/run.py', 'start'], cwd=ROOT, check=False)
    if args.serial or len(steps) == 1:
        for name, step in steps:
            run_step(tally, name, step)
    else:
        run_lanes(tally, dict(steps))
    if stop_cloud and os.environ.get('LOCALCLOUD_KEEP_AFTER_TESTS') != '1':
        subprocess.run(['python3', 'localcloud/run.py', 'stop'], cwd=ROOT, stdout=subprocess.DEVNULL, check=False)
    print('== done in %.0fs' % (time.monotonic() - started))
    for failure in tally.failures:
        print('FAILED %s' % failure)
    line = '%d passed, %d failed' % (tally.passed, tally.failed)
    if tally.skipped:
        line += ', %d skipped' % tally.skipped
    print(line)
    return 1 if tally.failed or not tally.passed else 0


if __name__ == '__main__':
    sys.exit(main())

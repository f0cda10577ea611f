#!/usr/bin/env python3
"""`make test`: every gate and test suite, one summary line at the end.

Each gate contributes counted checks: pytest suites count their test cases
(from JUnit XML), ansible-test sanity counts each sanity test, the others
count one check each (or one per module for the ansible-doc check). Output of
each step goes to .tmp/logs/<step>.log; a failing step prints its tail.
The last line is ``N passed, N failed`` (``, N skipped`` when any were).
"""
import argparse
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

# Sanity runs over what the collection ships plus its tests; these paths are
# development tooling that is neither shipped (galaxy.yml build_ignore) nor
# collection content: the local cloud, the test runner, benchmarks and the
# Kubernetes API emulator (a server with its own pytest suite).
SANITY_EXCLUDED = ('localcloud/', 'hacking/', 'benchmarks/', 'tests/k8s_emulator/', '.ci/', 'Makefile',
                   'requirements-dev.txt', 'requirements-dev.lock')


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def add(self, step, passed, failed, skipped=0, failures=()):
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


def sanity_tree():
    """Copy the shipped files and tests into a real ansible_collections tree with git."""
    tree = os.path.join(TMP, 'sanity', 'ansible_collections', 'dataprotection', 'openstack')
    shutil.rmtree(os.path.join(TMP, 'sanity'), ignore_errors=True)
    os.makedirs(tree)
    files = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split('\n')
    for rel in files:
        if not rel or rel.startswith(SANITY_EXCLUDED) or not os.path.isfile(os.path.join(ROOT, rel)):
            continue
        target = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), target)
    subprocess.run(['git', 'init', '-q'], cwd=tree, check=True)
    subprocess.run(['git', 'add', '-A'], cwd=tree, check=True)
    return tree


def sanity_step(tally):
    tree = sanity_tree()
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


def molecule_step(tally):
    """Each scenario's `molecule test`, then its whole output (every stage) scanned for the local cloud's secrets.

    Secrets (hacking/secret_scan.py): freezer-api's service user password and the admin password the scenario
    gives the role, and every trust id Keystone lists - polled every second during the run (freezer-api deletes
    a job's trust with the last job using it, as the scenario's verify cleanup does) and once after it (the
    scenario's destroy only unregisters the client: it deletes no trust). A hit fails the scenario, naming the
    kind of secret and the log line; the log is rewritten with the values redacted and they are never printed.
    """
    import secret_scan  # hacking/secret_scan.py, next to this file

    scenarios = sorted(glob.glob(os.path.join(ROOT, 'extensions', 'molecule', '*', 'molecule.yml')))
    if not scenarios:
        print('  %-28s no scenarios yet' % 'molecule')
        return
    for path in scenarios:
        name = os.path.basename(os.path.dirname(path))
        step = 'molecule-' + name
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
    """Build the collection, install the tarball, render every module with ansible-doc."""
    build_dir = os.path.join(TMP, 'build')
    install_dir = os.path.join(TMP, 'installed')
    shutil.rmtree(build_dir, ignore_errors=True)
    shutil.rmtree(install_dir, ignore_errors=True)
    rc, output = run('galaxy-build', ['ansible-galaxy', 'collection', 'build', '--output-path', build_dir, ROOT])
    tarballs = glob.glob(os.path.join(build_dir, '*.tar.gz'))
    if rc or not tarballs:
        tally.add('docs', 0, 1, failures=['ansible-galaxy collection build'])
        show_tail(output)
        return
    rc, output = run('galaxy-install', ['ansible-galaxy', 'collection', 'install', '--offline', '-p', install_dir,
                                        tarballs[0]])
    if rc:
        tally.add('docs', 0, 1, failures=['ansible-galaxy collection install'])
        show_tail(output)
        return
    tally.add('docs', 2, 0)
    modules = sorted(os.path.splitext(os.path.basename(p))[0]
                     for p in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')))
    doc_env = {'ANSIBLE_COLLECTIONS_PATH': install_dir}
    for module in modules:
        fqcn = 'dataprotection.openstack.%s' % module
        rc, output = run('ansible-doc-' + module, ['ansible-doc', '-t', 'module', fqcn], extra_env=doc_env)
        ok = rc == 0 and 'OPTIONS' in output and 'EXAMPLES' in output and 'RETURN' in output
        tally.add('docs', int(ok), int(not ok), failures=[] if ok else ['ansible-doc ' + fqcn])
        if not ok:
            show_tail(output)


STEPS = {
    'changelog': changelog_step,
    'sanity': sanity_step,
    'units': lambda tally: pytest_step(tally, 'units', ['tests/unit']),
    'emulator': lambda tally: pytest_step(tally, 'emulator', ['tests/k8s_emulator/tests']),
    'integration': lambda tally: pytest_step(tally, 'integration', ['tests/integration']),
    'lint': lint_step,
    'molecule': molecule_step,
    'docs': docs_step,
}


CLOUD_STEPS = ('integration', 'molecule')


def cloud_running():
    return subprocess.run(['python3', 'localcloud/run.py', 'status'], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', action='append', choices=sorted(STEPS), help='run only these steps')
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
    for name, step in steps:
        print('== %s' % name, flush=True)
        try:
            step(tally)
        except Exception as exc:  # a broken step is a failure, never a crash of the runner
            tally.add(name, 0, 1, failures=['%s: %s' % (type(exc).__name__, exc)])
            print('  %s crashed: %s' % (name, exc))
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

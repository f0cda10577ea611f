#!/usr/bin/env python3
"""CHANGELOG.rst from the changelog fragments, with antsibull-changelog (`make changelog`; checked by `make test`).

No release has been cut, so changelogs/changelog.yaml does not exist yet and `antsibull-changelog generate`
(which renders that file) has nothing to render. This script runs what the release will run, on a throw-away
copy of the collection: `antsibull-changelog release --version <galaxy.yml version>` turns the fragments into
changelog metadata and writes CHANGELOG.rst there; only CHANGELOG.rst is copied back. The repository keeps its
fragments (they are the source; other changes keep adding them). Once a release exists (changelogs/changelog.yaml
committed, fragments consumed), the copy has no fragments and `antsibull-changelog generate` renders it instead.
The release date is not part of CHANGELOG.rst, so the output only changes when a fragment, galaxy.yml's version
or a module's short_description changes (the "New Modules" list comes from ansible-doc).

    hacking/changelog.py            write CHANGELOG.rst
    hacking/changelog.py --check    exit 1 with a diff if CHANGELOG.rst is not what the fragments give
"""
import argparse
import difflib
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
TARGET = os.path.join(ROOT, 'CHANGELOG.rst')
# What antsibull-changelog reads: collection metadata, fragments and config, and the plugins it lists as new.
COPIED = ('galaxy.yml', 'changelogs', 'plugins', 'meta', 'roles')


def render():
    """Return (CHANGELOG.rst text, command output)."""
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        galaxy = yaml.safe_load(handle)
    with tempfile.TemporaryDirectory(prefix='changelog-') as tmp:
        tree = os.path.join(tmp, 'ansible_collections', galaxy['namespace'], galaxy['name'])
        os.makedirs(tree)
        for name in COPIED:
            source = os.path.join(ROOT, name)
            if os.path.isdir(source):
                shutil.copytree(source, os.path.join(tree, name),
                                ignore=shutil.ignore_patterns('__pycache__', '*.pyc', '.plugin-cache.yaml'))
            elif os.path.exists(source):
                shutil.copy2(source, os.path.join(tree, name))
        fragments = [p for p in glob.glob(os.path.join(tree, 'changelogs', 'fragments', '*'))
                     if p.endswith(('.yml', '.yaml'))]
        if fragments:
            cmd = ['antsibull-changelog', 'release', '--version', str(galaxy['version']), '--date', '1970-01-01']
        else:
            cmd = ['antsibull-changelog', 'generate']
        env = dict(os.environ)
        env['PATH'] = VENV_BIN + os.pathsep + env.get('PATH', '')
        # ansible-doc (which lists the new plugins) must see the copy, nothing else.
        env['ANSIBLE_COLLECTIONS_PATH'] = tmp
        env['ANSIBLE_HOME'] = os.path.join(tmp, 'ansible-home')
        env.pop('PYTHONPATH', None)
        proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
        output = '$ %s\n%s%s' % (' '.join(cmd), proc.stdout, proc.stderr)
        produced = os.path.join(tree, 'CHANGELOG.rst')
        if proc.returncode or not os.path.exists(produced):
            raise RuntimeError('%s failed (rc=%s):\n%s' % (cmd[1], proc.returncode, output))
        with open(produced) as handle:
            return handle.read(), output


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='compare with CHANGELOG.rst instead of writing it')
    args = parser.parse_args()
    try:
        text, output = render()
    except RuntimeError as exc:
        print(exc)
        return 2
    print(output.rstrip())
    if not args.check:
        with open(TARGET, 'w') as handle:
            handle.write(text)
        print('wrote %s' % os.path.relpath(TARGET, ROOT))
        return 0
    current = open(TARGET).read() if os.path.exists(TARGET) else ''
    if current == text:
        print('CHANGELOG.rst is up to date with the changelog fragments')
        return 0
    sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                               'CHANGELOG.rst (committed)', 'CHANGELOG.rst (from the fragments)'))
    print('CHANGELOG.rst is stale: run `make changelog` and commit it')
    return 1


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""`make docs`: the collection's HTML docs site, built with antsibull-docs and Sphinx into .tmp/docsite/build/html.

antsibull-docs sphinx-init writes the Sphinx project (.tmp/docsite), antsibull-docs renders the RST of every
module and role of the collection as .venv/collections makes it importable (this checkout), and sphinx-build
turns it into HTML. Everything comes from requirements-dev.lock (`make setup`); nothing is fetched at build
time, so intersphinx is off: the few references into docs.ansible.com and other collections'
docs (common return values, openstack.cloud's modules) stay plain text. Any other Sphinx warning - a broken
reference inside this collection's docs, bad RST - fails the build.
"""
import os
import re
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
DEST = os.path.join(ROOT, '.tmp', 'docsite')
HTML = os.path.join(DEST, 'build', 'html')

# Replaces sphinx-init's defaults, which link every page to Galaxy and tell readers to install from there: this
# collection is not on Galaxy (README "Install": build the tarball and install it).
ANTSIBULL_DOCS_CFG = '''\
breadcrumbs = true
indexes = true
use_html_blobs = false
add_antsibull_docs_version = true
collection_url = {
  * = "index.html"
}
collection_install = {
  * = "ansible-galaxy collection install {namespace}-{name}-%(version)s.tar.gz (from ansible-galaxy collection build)"
}
'''

CONF_OVERRIDES = '''
# hacking/docsite.py: offline build, no inventories to fetch.
intersphinx_mapping = {}
'''

WARNING = re.compile(r'^(?P<where>\S*?):?(?P<line>\d*):? ?WARNING: (?P<text>.*)$')


def run(cmd, cwd, env):
    print('$ ' + ' '.join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def tolerated(text, namespace, name):
    """A reference that only docs.ansible.com / another collection's docs could resolve (no intersphinx here)."""
    match = re.match(r"undefined label: '([^']+)'", text)
    return bool(match) and '%s.%s' % (namespace, name) not in match.group(1)


def main():
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        galaxy = yaml.safe_load(handle)
    namespace, name = galaxy['namespace'], galaxy['name']
    fqcn = '%s.%s' % (namespace, name)
    env = dict(os.environ)
    env['PATH'] = VENV_BIN + os.pathsep + env.get('PATH', '')
    env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(ROOT, '.venv', 'collections')
    env['ANSIBLE_HOME'] = os.path.join(ROOT, '.venv', 'ansible-home')
    env.setdefault('ANSIBLE_NOCOLOR', '1')

    shutil.rmtree(DEST, ignore_errors=True)
    os.makedirs(DEST, mode=0o700)  # antsibull-docs wants a directory only its owner can write
    rc, output = run(['antsibull-docs', 'sphinx-init', '--use-current', '--squash-hierarchy', '--fail-on-error',
                      '--dest-dir', DEST, '--project', fqcn, '--title', '%s collection' % fqcn,
                      '--copyright', ', '.join(galaxy.get('authors') or [fqcn]), fqcn], ROOT, env)
    if rc:
        print(output)
        return 1
    with open(os.path.join(DEST, 'antsibull-docs.cfg'), 'w') as handle:
        handle.write(ANTSIBULL_DOCS_CFG % {'version': galaxy['version']})
    with open(os.path.join(DEST, 'conf.py'), 'a') as handle:
        handle.write(CONF_OVERRIDES)

    rst = os.path.join(DEST, 'rst')
    os.chmod(rst, 0o755)
    rc, output = run(['antsibull-docs', '--config-file', os.path.join(DEST, 'antsibull-docs.cfg'), 'collection',
                      '--use-current', '--squash-hierarchy', '--fail-on-error', '--cleanup', 'everything',
                      '--dest-dir', rst, fqcn], DEST, env)
    if rc:
        print(output)
        return 1

    rc, output = run(['sphinx-build', '-M', 'html', 'rst', 'build', '-c', '.', '--keep-going', '-q'], DEST, env)
    warnings = [m.groupdict() for m in map(WARNING.match, output.splitlines()) if m]
    errors = [w for w in warnings if not tolerated(w['text'], namespace, name)]
    external = sorted({re.search(r"'([^']+)'", w['text']).group(1) for w in warnings if w not in errors})
    if rc or errors:
        print(output)
        print('docs site: sphinx-build rc=%s, %d warning(s) other than references outside the collection'
              % (rc, len(errors)))
        return 1
    pages = sum(1 for _dir, _dirs, files in os.walk(HTML) for f in files if f.endswith('.html'))
    print('docs site: %d HTML pages in %s (open index.html)' % (pages, os.path.relpath(HTML, ROOT)))
    if external:
        print('  left as plain text (outside the collection, no intersphinx offline): %s' % ', '.join(external))
    return 0


if __name__ == '__main__':
    sys.exit(main())

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Protection (RPO) compliance of fleet records (fleet.py), and the report as Markdown and JUnit XML.

Plain Python. One row per (resource, protection name); each row is one of:
``protected`` (newest available protection younger than the RPO), ``stale`` (older), ``never`` (no available
protection), ``failed`` (the newest attempt of the protection is in error, or the resource itself is in a failed
status).
"""

from __future__ import annotations

import os
import tempfile
from xml.sax.saxutils import escape, quoteattr

STATES = ('protected', 'stale', 'never', 'failed')
VIOLATIONS = ('stale', 'never', 'failed')


def _duration(seconds):
    if seconds is None:
        return '-'
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return '%dd%02dh' % (days, hours)
    if hours:
        return '%dh%02dm' % (hours, minutes)
    return '%dm%02ds' % (minutes, seconds % 60)


def compliance(item, protection, rpo_seconds, protection_kind=None):
    """One report row: the resource, the protection name, its newest protection of ``protection_kind`` (default: the
    best of any kind), age and state."""
    if protection and protection_kind:
        found = ((item.get('protections_by_kind') or {}).get(protection_kind) or {}).get(protection)
    else:
        found = item['protections'].get(protection) if protection else None
    row = dict(kind=item['kind'], id=item['id'], name=item['name'], project_id=item['project_id'],
               project_name=item['project_name'], resource_status=item['status'], protection=protection,
               protection_kind=(found or {}).get('kind') or protection_kind, snapshot_id=None, snapshot_name=None,
               created_at=None, age_seconds=None, last_status=None)
    if item.get('namespace') is not None:
        row['namespace'] = item['namespace']
    if found:
        row.update((k, found[k]) for k in ('snapshot_id', 'snapshot_name', 'created_at', 'age_seconds',
                                           'last_status'))
    if not item['protectable']:
        row['state'] = 'failed'
        row['reason'] = '%s is %s' % (item['kind'], item['status'])
    elif found and found['last_failed']:
        row['state'] = 'failed'
        row['reason'] = 'newest %s %s of the protection is %s' % (
            (found.get('kind') or 'snapshot').replace('_', ' '), found['last_id'], found['last_status'])
    elif not found or found['snapshot_id'] is None:
        row['state'] = 'never'
        row['reason'] = 'no available protection %s' % (protection or '(none of this collection)')
    elif found['age_seconds'] > rpo_seconds:
        row['state'] = 'stale'
        row['reason'] = 'newest protection is %s old, RPO is %s' % (_duration(found['age_seconds']),
                                                                    _duration(rpo_seconds))
    else:
        row['state'] = 'protected'
        row['reason'] = 'newest protection is %s old' % _duration(found['age_seconds'])
    return row


def build(records, protections, rpo_seconds):
    """The rows (one per resource and protection name) and the summary counts, overall and per project.

    ``protections`` None: every protection name found on any of the records (a resource lacking one is ``never``
    for it); no name at all: one ``never`` row per resource."""
    names = sorted(set(n for r in records for n in r['protections'])) if protections is None else list(protections)
    rows = [compliance(item, name, rpo_seconds, kind) for item in records for name in (names or [None])
            for kind in kinds_of(item, name)]
    summary = dict(resources=len(records), rows=len(rows), **dict((s, 0) for s in STATES))
    projects = {}
    for row in rows:
        summary[row['state']] += 1
        project = projects.setdefault(group_of(row), dict((s, 0) for s in STATES))
        project[row['state']] += 1
    summary['compliant'] = summary['rows'] == summary['protected']
    summary['projects'] = projects
    return rows, summary


def kinds_of(item, name):
    """The protection kinds holding protection ``name`` on the resource (one row each), [None] when none does."""
    by_kind = item.get('protections_by_kind') or {}
    return sorted(k for k, found in by_kind.items() if name in found) or [None]


def group_of(row):
    """The summary group of a row: its project, or ``namespace <name>`` for Kubernetes resources."""
    if row['project_name'] or row['project_id']:
        return row['project_name'] or row['project_id']
    return 'namespace %s' % row['namespace'] if row.get('namespace') else '-'


def markdown(rows, summary, rpo_text, generated_at):
    lines = ['# Protection report', '',
             'Generated %s - RPO %s - %d resources, %d checks: %d protected, %d stale, %d never, %d failed.'
             % (generated_at, rpo_text, summary['resources'], summary['rows'], summary['protected'],
                summary['stale'], summary['never'], summary['failed']), '',
             '| project | protected | stale | never | failed |', '|---|---:|---:|---:|---:|']
    for project, counts in sorted(summary['projects'].items()):
        lines.append('| %s | %d | %d | %d | %d |' % ((_md(project),) + tuple(counts[s] for s in STATES)))
    lines += ['', '| state | project | kind | resource | id | protection | protection kind | newest protection | age '
              '| reason |', '|---|---|---|---|---|---|---|---|---|---|']
    for row in sorted(rows, key=_row_order):
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            row['state'], _md(group_of(row)), row['kind'], _md(row['name']), row['id'],
            _md(row['protection'] or '-'), _md(row.get('protection_kind') or '-'), _md(row['snapshot_name'] or '-'),
            _duration(row['age_seconds']), _md(row['reason'])))
    return '\n'.join(lines) + '\n'


def junit(rows, summary, rpo_text, generated_at):
    """JUnit XML: one test case per row; stale, never and failed rows are failures (AWX and CI show them)."""
    failures = sum(summary[s] for s in VIOLATIONS)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<testsuites name="protection_report" tests="%d" failures="%d">' % (len(rows), failures),
           '  <testsuite name=%s tests="%d" failures="%d" errors="0" skipped="0" timestamp=%s>'
           % (quoteattr('protection RPO %s' % rpo_text), len(rows), failures, quoteattr(generated_at))]
    for row in sorted(rows, key=_row_order):
        name = '%s %s (%s) protection %s' % (row['kind'], row['name'], row['id'], row['protection'] or '-')
        if row.get('protection_kind'):
            name += ' [%s]' % row['protection_kind']
        classname = '%s.%s' % (group_of(row), row['kind'])
        out.append('    <testcase classname=%s name=%s time="0">' % (quoteattr(classname), quoteattr(name)))
        if row.get('protection_kind'):
            out.append('      <properties><property name="protection_kind" value=%s/></properties>'
                       % quoteattr(row['protection_kind']))
        if row['state'] in VIOLATIONS:
            out.append('      <failure type=%s message=%s>%s</failure>'
                       % (quoteattr(row['state']), quoteattr(row['reason']), escape(row['reason'])))
        out.append('    </testcase>')
    out += ['  </testsuite>', '</testsuites>']
    return '\n'.join(out) + '\n'


def write(directory, files):
    """Write ``{file name: text}`` into ``directory`` (created if missing), each atomically; returns the paths."""
    directory = os.path.abspath(os.path.expanduser(directory))
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for filename, text in files.items():
        path = os.path.join(directory, filename)
        handle, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % filename)
        try:
            with os.fdopen(handle, 'w', encoding='utf-8') as stream:
                stream.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        paths[filename] = path
    return paths


def _row_order(row):
    return (STATES.index(row['state']) * -1, group_of(row), row['kind'], row['name'] or '', row['id'],
            row['protection'] or '', row.get('protection_kind') or '')


def _md(text):
    return str(text if text is not None else '-').replace('|', '\\|').replace('\n', ' ')

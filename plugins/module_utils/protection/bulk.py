# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bulk runs: one call per resource with bounded concurrency, every result kept, failures summed up once."""

from __future__ import annotations

import concurrent.futures

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import reason_of
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Later
from ansible_collections.dataprotection.openstack.plugins.module_utils.timings import Timings


def attempt(call):
    """``(call(), None)``, or ``(None, the exception)``."""
    try:
        return call(), None
    except Exception as exc:  # pylint: disable=broad-except
        return None, exc


def entry_of(outcome, ref, kind, ref_key):
    """A dict entry with ``changed``/``failed``/``msg`` of an ``attempt`` of a driver call (a Result)."""
    ref = getattr(ref, 'id', ref)
    result, exc = outcome
    if exc is None:
        entry = dict(result.data, changed=result.changed, failed=False)
    elif isinstance(exc, ProtectionError):
        entry = dict(exc.result, changed=False, failed=True, msg=exc.msg)
    else:
        entry = dict(changed=False, failed=True, msg='%s %s: %s' % (kind, ref, reason_of(exc)))
    entry[ref_key] = ref
    entry.pop('before', None)
    entry.pop('after', None)
    return entry


def failed_entries(items, kind, ref_key, msg):
    """Entries for items never tried (``msg`` names the reason, ``%s`` each item)."""
    return [{'changed': False, 'failed': True, 'msg': msg % getattr(item, 'id', item),
             ref_key: getattr(item, 'id', item)} for item in items]


def per_project(entries):
    """Counts per project of a run across projects: ``{project_id: {selected, changed, failed}}``."""
    counts = {}
    for entry in entries:
        count = counts.setdefault(entry.get('project_id'), dict(selected=0, changed=0, failed=0))
        count['selected'] += 1
        count['changed'] += int(bool(entry['changed']))
        count['failed'] += int(bool(entry['failed']))
    return counts


def parallel_map(call, items, concurrency=8):
    """``[call(item) for item in items]`` with at most ``concurrency`` at once (the first exception is raised)."""
    items = list(items)
    if len(items) <= 1:
        return [call(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(items)))) as pool:
        return list(pool.map(call, items))


def run_many(items, call, kind, ref_key, concurrency=8, ref=None, timings=None):
    """``call(item)`` for each item, at most ``concurrency`` at once; one failure never hides the others.

    Entries in the order of ``items``; ``ref(item)`` names the resource of an item (default: the item). A call may
    return ``Later(step)``: every such step runs once all first parts are done, so a step that mostly waits (the
    race grace) overlaps the others instead of holding a slot while calls queue behind it. ``timings``: a
    timings.Timings that gets the three stages (``calls``, ``shared waits``, ``last steps``)."""
    if not items:
        return []
    timings = timings or Timings()
    workers = max(1, min(concurrency, len(items)))
    ref = ref or (lambda item: item)

    def finish(outcome):
        return attempt(outcome[0].step) if isinstance(outcome[0], Later) else outcome
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        with timings.step('calls'):
            first = list(pool.map(lambda item: attempt(lambda: call(item)), items))
        ready = []
        for result, _exc in first:
            if isinstance(result, Later) and result.ready is not None and result.ready not in ready:
                ready.append(result.ready)
        with timings.step('shared waits'):
            # a failure here shows again in each step that needs it, naming its resource
            list(pool.map(attempt, ready))
        with timings.step('last steps'):
            final = list(pool.map(finish, first))
    return [entry_of(outcome, ref(item), kind, ref_key) for item, outcome in zip(items, final)]


def summarize(entries, kind, list_key, **extra):
    """The task result of a bulk run; raises one ProtectionError naming every failure (results included)."""
    failures = [e for e in entries if e['failed']]
    result = dict(extra, changed=any(e['changed'] for e in entries), deleted=[d for e in entries
                                                                              for d in e.get('deleted') or []])
    result[list_key] = entries
    if failures:
        raise ProtectionError('%d of %d %ss failed: %s' % (len(failures), len(entries), kind,
                                                           '; '.join(e['msg'] for e in failures)), **result)
    return result

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's only polling loop.

Every wait has a hard deadline on the monotonic clock, a poll interval, and
explicit success / failure / transient status sets. A resource that vanished
has the status ``not-found``, which callers place in the success set (deletes)
or the failure set (creates). Unknown statuses fail fast when a transient set
is given, so nothing polls forever on a status nobody expected.
"""

from __future__ import annotations

import time

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import WaitFailed, WaitTimeout

NOT_FOUND = 'not-found'


def _default_status(obj):
    if isinstance(obj, dict):
        return obj.get('status')
    return getattr(obj, 'status', None)


def poll(fetch, classify, timeout, poll_interval, describe='resource',
         clock=time.monotonic, sleep=time.sleep):
    """Call ``fetch`` until ``classify(obj)`` settles.

    ``classify`` returns ``(verdict, status)`` with verdict one of ``'ok'``,
    ``'fail'`` or ``'wait'``. Returns the last object on ``'ok'``; raises
    WaitFailed on ``'fail'`` and WaitTimeout once ``timeout`` seconds passed,
    both carrying the last object seen and its status.
    """
    if timeout is None or timeout < 0:
        raise ValueError('timeout must be a number of seconds >= 0')
    if poll_interval is None or poll_interval <= 0:
        raise ValueError('poll_interval must be > 0')
    deadline = clock() + timeout
    while True:
        obj = fetch()
        verdict, status = classify(obj)
        if verdict == 'ok':
            return obj
        if verdict == 'fail':
            raise WaitFailed('%s reached status %s' % (describe, status), last=obj, status=status)
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout('timed out after %ss waiting for %s (last status: %s)' % (timeout, describe, status),
                              last=obj, status=status)
        sleep(min(poll_interval, remaining))


def wait_for_status(fetch, ok, fail=(), transient=None, timeout=180, poll_interval=2,
                    describe='resource', status_of=_default_status, clock=time.monotonic, sleep=time.sleep):
    """Wait until the status of ``fetch()`` is in ``ok``.

    ``fetch`` returns the object or None when it does not exist (status
    ``not-found``). A status in ``fail`` raises WaitFailed at once; with a
    ``transient`` set, any status in none of the three sets fails too.
    """
    ok, fail = frozenset(ok), frozenset(fail)
    transient = None if transient is None else frozenset(transient)

    def classify(obj):
        status = NOT_FOUND if obj is None else status_of(obj)
        if status in ok:
            return 'ok', status
        if status in fail:
            return 'fail', status
        if transient is not None and status not in transient:
            return 'fail', '%s (unexpected)' % status
        return 'wait', status

    return poll(fetch, classify, timeout, poll_interval, describe=describe, clock=clock, sleep=sleep)

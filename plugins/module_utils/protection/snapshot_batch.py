# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for the snapshots of a bulk run together (part of SnapshotDriver, see snapshots.py).

A bulk run creates many snapshots in one project. Waiting for each with its own
GET, then listing each source's snapshots for the race check, costs two
requests per snapshot after the creates. Here the run's snapshots of one
project are waited for with ONE listing of the project's snapshots per poll
(the shared waiter's loop), and the last listing - taken once the race grace
of the newest of them has passed (snapshots.RACE_GRACE_SECONDS) - is also what
every source's race check reads. The guarantees stay those of one snapshot:
a snapshot that failed, vanished or is still transient at the deadline gets
the same verdict (and the same cleanup) as the single-snapshot wait gives it.
"""

from __future__ import annotations

import threading

from ansible_collections.dataprotection.openstack.plugins.module_utils import waiter
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import WaitFailed, WaitTimeout
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import rotation


class SnapshotBatch:
    """The snapshots one driver (one project) created in a bulk run, waited for with one listing per poll."""

    def __init__(self, driver):
        self.driver = driver
        self._lock = threading.Lock()
        self._created = {}
        self._settled = False
        self._timed_out = False
        self._by_id = {}
        self._by_source = {}

    def add(self, snapshot):
        """Record a snapshot this run created (first part of a bulk call, any thread)."""
        with self._lock:
            self._created[snapshot.id] = snapshot
            self._settled = False

    def settle(self):
        """Wait (once, whichever caller comes first) until every recorded snapshot left its transient statuses
        and a listing taken after the race grace of the newest of them is at hand."""
        with self._lock:
            if not self._settled:
                self._poll()
                self._settled = True

    def _poll(self):
        driver = self.driver
        if driver.race_grace and self._created:
            # Snapshots made a while ago have passed their grace already: this waits for the newest ones only.
            driver._after_race_grace(max(self._created.values(), key=rotation.age_key))

        def pending(listed):
            by_id = dict((s.id, s) for s in listed)
            return [i for i in self._created if getattr(by_id.get(i), 'status', None) in driver.SNAPSHOT_TRANSIENT]

        def classify(listed):
            waiting = pending(listed)
            if waiting:
                counts = (len(waiting), len(self._created), driver.snapshot_kind)
                return 'wait', '%d of %d %ss still transient' % counts
            return 'ok', 'settled'
        try:
            listed = waiter.poll(lambda: list(driver._list_snapshots()), classify, driver.timeout,
                                 driver.poll_interval, describe='the %ss of this run' % driver.snapshot_kind)
        except WaitTimeout as exc:
            listed, self._timed_out = exc.last or [], True
        self._by_id = dict((s.id, s) for s in listed)
        self._by_source = {}
        for snapshot in listed:
            self._by_source.setdefault(driver.snapshot_source_id(snapshot), []).append(snapshot)

    def verdict(self, snapshot, describe):
        """``snapshot`` as the last listing shows it once available; else the WaitFailed (or WaitTimeout) the one
        waiter would have raised for it alone - the caller cleans up as after a single wait."""
        driver = self.driver
        self.settle()
        seen = self._by_id.get(snapshot.id)
        status = waiter.NOT_FOUND if seen is None else seen.status
        if status in driver.SNAPSHOT_OK:
            return seen
        if status in driver.SNAPSHOT_TRANSIENT and self._timed_out:
            msg = 'timed out after %ss waiting for %s (last status: %s)' % (driver.timeout, describe, status)
            raise WaitTimeout(msg, last=seen, status=status)
        if status not in driver.SNAPSHOT_FAIL:
            status = '%s (unexpected)' % status
        raise WaitFailed('%s reached status %s' % (describe, status), last=seen, status=status)

    def source_snapshots(self, source_id):
        """The source's snapshots in the last listing (taken after the race grace of this run's snapshots)."""
        self.settle()
        return list(self._by_source.get(source_id, []))

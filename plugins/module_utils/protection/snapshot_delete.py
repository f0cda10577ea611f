# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Removing a protection's snapshots (part of SnapshotDriver, see snapshots.py).

Cinder and Manila delete a snapshot only once it is available or in error, and
never one in ``error_deleting`` (only an admin can reset it): deletion waits
for a deletable status within the timeout, refuses stuck snapshots with the
admin command that frees them, and waits until every snapshot is gone. Also
``remove_or_name``, the cleanup sentence of every failed create.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils import waiter
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError, WaitFailed, WaitTimeout
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import reason_of
# the one "gone" marker (404 or status deleted), Manila's snapshots too
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder import GONE
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result

# Cleanup of a failed or stalled snapshot waits at least this long for it to settle (Cinder and Manila delete
# snapshots only once they are available or error), so a timeout leaves nothing behind.
CLEANUP_MIN_TIMEOUT = 60
# Statuses only an admin can move a snapshot out of: Cinder and Manila refuse to delete it (HTTP 400).
STUCK = frozenset(['error_deleting'])


def remove_or_name(remove, what, resource_id, adjective='failed'):
    """Remove a failed resource; the sentence for the message (the resource is named if it stays)."""
    try:
        remove()
        return 'the %s %s was removed' % (adjective, what)
    except Exception as exc:  # pylint: disable=broad-except
        return 'the %s %s %s could not be removed (%s)' % (adjective, what, resource_id, reason_of(exc))


class SnapshotDeletion:
    """``delete`` and the deletion of snapshots that protect, rotation and cleanup share."""

    def delete(self, source, name, dry_run=False):
        try:
            source = self.find_source(source)
        except NotFoundError:
            # Neither Cinder nor Manila deletes a source that has snapshots: no source, no snapshots.
            return Result(False, deleted=[], before=None, after=None, foreign_snapshots=[],
                          **{self.snapshot_key: None, self.resource_kind: None})
        listed = self.source_snapshots(source.id)
        snapshots = self.protection_snapshots(source, name, listed)
        foreign = self.foreign_snapshots(name, listed)
        before = [self.snapshot_view(s) for s in snapshots]
        self._refuse_stuck(snapshots, source)
        if not dry_run:
            self._delete_snapshots(snapshots, source)
        return Result(bool(snapshots), **self._views(source, deleted=[s.id for s in snapshots], before=before,
                                                     after=[], foreign_snapshots=[s.id for s in foreign],
                                                     **{self.snapshot_key: None}))

    def reset_hint(self, snapshot):
        return ('%s is %s: Cinder and Manila refuse to delete it until an admin resets its status (%s), then the '
                'next run removes it' % (self.describe(snapshot, self.snapshot_kind), snapshot.status,
                                         self.RESET_COMMAND.format(id=snapshot.id)))

    def _refuse_stuck(self, snapshots, source):
        stuck = [s for s in snapshots if s.status in STUCK]
        if stuck:
            raise ProtectionError('%s of %s: %s' % ('; '.join(self.reset_hint(s) for s in stuck),
                                                    self.describe(source), 'nothing was changed'),
                                  **self._views(source, **{self.snapshot_key: self.snapshot_view(stuck[0])}))

    def _deletable(self, snapshot, settle):
        """``snapshot`` once the service can delete it (available or error); None when it is gone already."""
        if snapshot.status not in self.SNAPSHOT_TRANSIENT:
            return snapshot
        describe = self.describe(snapshot, self.snapshot_kind)
        try:
            settled = waiter.wait_for_status(lambda s=snapshot: self._get_snapshot(s.id),
                                             self.SNAPSHOT_OK | {'error'} | GONE | STUCK, timeout=settle,
                                             poll_interval=self.poll_interval, describe=describe)
        except WaitTimeout as exc:
            raise ProtectionError('%s is still %s after %ss: Cinder and Manila delete a snapshot only once it is '
                                  'available or in error; run the task again later, or raise timeout'
                                  % (describe, exc.status, settle))
        if settled is None or settled.status in GONE:
            return None
        if settled.status in STUCK:
            raise ProtectionError(self.reset_hint(settled))
        return settled

    def _delete_snapshots(self, snapshots, source, cleanup=False):
        """Delete the snapshots (each once it is deletable, within the timeout); wait until they are gone."""
        deleted = []
        settle = max(self.timeout, CLEANUP_MIN_TIMEOUT) if cleanup else self.timeout
        for snapshot in snapshots:
            if snapshot.status in STUCK:
                raise ProtectionError(self.reset_hint(snapshot))
            if snapshot.status != 'deleting':
                current = self._deletable(snapshot, settle)
                if current is None:
                    deleted.append(snapshot.id)
                    continue
                self._delete_snapshot_call(snapshot.id)
            deleted.append(snapshot.id)
        if self.wait or cleanup:
            for snapshot in snapshots:
                try:
                    self.waiter_for_gone(snapshot, source, settle)
                except WaitFailed as exc:
                    if exc.status in STUCK:
                        raise ProtectionError(self.reset_hint(exc.last or snapshot))
                    raise
        return deleted

    def waiter_for_gone(self, snapshot, source, timeout):
        return waiter.wait_for_status(lambda s=snapshot: self._get_snapshot(s.id), GONE, fail=STUCK,
                                      timeout=timeout, poll_interval=self.poll_interval,
                                      describe='deletion of %s of %s %s'
                                      % (self.describe(snapshot, self.snapshot_kind), self.resource_kind, source.id))

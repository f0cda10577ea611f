# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restoring a protection to a new resource (part of SnapshotDriver, see snapshots.py).

``restore_point`` picks the snapshot; the new resource carries the
collection's ``dataprotection_restored_from`` metadata, so the next run finds
it again (changed=False) and a same-named resource of someone else is refused.
Concurrent restores settle like protect: the oldest copy wins.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ConflictError, NotFoundError, ProtectionError, WaitFailed
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import restore_point as restore_points
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import rotation
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import MANAGED_KEY, RESTORED_FROM_KEY, Result
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder import GONE
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.snapshot_delete import remove_or_name


class SnapshotRestore:
    """``restorable_snapshot`` and ``restore_new`` (a driver's ``restore`` calls them)."""

    def restorable_snapshot(self, source, name, dry_run, restore_point=None):
        """The snapshot ``restore_point`` selects (default: the protection's newest), available (waited for when it
        is still being created). By id it may also be a snapshot of the same source this collection did not make."""
        source = self.find_source(source)
        listed = self.source_snapshots(source.id)
        ours = [s for s in self.protection_snapshots(source, name, listed) if s.status not in self.SNAPSHOT_FAIL]
        what = '%s of %s' % (name, self.describe(source))
        if not ours and restore_point in (None, restore_points.LATEST):
            foreign = self.foreign_snapshots(name, listed)
            hint = ''
            if foreign:
                hint = ('; %s %s (%s) has that name but was not created by this collection: restore from it with '
                        'restore_point: <its id>, or adopt it first (state: present, adopt: true)'
                        % (self.snapshot_kind, name, ', '.join(s.id for s in foreign)))
            raise NotFoundError('%s has no %s %s to restore from%s'
                                % (self.describe(source), self.snapshot_kind, name, hint), **self._views(source))
        try:
            snapshot = restore_points.select(ours, restore_point, what, any_by_id=listed)
        except NotFoundError as exc:
            raise NotFoundError(exc.msg, **self._views(source))
        if snapshot.status not in self.SNAPSHOT_OK:
            if snapshot.status in self.SNAPSHOT_TRANSIENT and self.wait and not dry_run:
                snapshot = self._wait_snapshot(snapshot, source)
            else:
                raise ProtectionError('%s is %s, not available: it cannot be restored'
                                      % (self.describe(snapshot, self.snapshot_kind), snapshot.status),
                                      **{self.snapshot_key: self.snapshot_view(snapshot)})
        return source, snapshot

    def _restored_from(self, candidate, snapshot):
        """A resource this collection restored from ``snapshot`` (a same-named foreign one is never ours)."""
        metadata = candidate.metadata or {}
        return (candidate.snapshot_id == snapshot.id and metadata.get(MANAGED_KEY) == 'true'
                and metadata.get(RESTORED_FROM_KEY) == snapshot.id)

    def _restored_copies(self, restore_name, snapshot):
        """(every resource named ``restore_name``, the ones this collection restored from ``snapshot``, oldest first)."""
        existing = [s for s in self._find_sources_by_name(restore_name) if s.name == restore_name]
        ours = sorted((s for s in existing if self._restored_from(s, snapshot) and s.status not in self.SOURCE_FAIL),
                      key=rotation.age_key)
        return existing, ours

    def restore_new(self, source, snapshot, options, dry_run=False):
        """A new resource named ``restore_name`` from ``snapshot``; found again (changed=False) on the next run.

        Concurrent runs settle like protect: the oldest restored resource wins, the others remove their own.
        Copies a run finds on top of the one it reports (left by runs with ``wait: false``) are returned as
        ``duplicates``, never deleted by guesswork.
        """
        restore_name, kind, view = options['restore_name'], self.resource_kind, self.source_view
        existing, ours = self._restored_copies(restore_name, snapshot)
        common = self._views(source, **{self.snapshot_key: self.snapshot_view(snapshot)})
        if existing and not ours:
            broken = [s for s in existing if self._restored_from(s, snapshot)]
            if broken:
                raise ProtectionError('%s restored from %s %s is in status %s; delete it and run again'
                                      % (self.describe(broken[0]), self.snapshot_kind, snapshot.id, broken[0].status),
                                      **common)
            raise ConflictError('%s %s already exists (%s) and was not restored from %s by this collection; choose '
                                'another restore_name'
                                % (kind, restore_name, ', '.join(s.id for s in existing),
                                   self.describe(snapshot, self.snapshot_kind)),
                                **{self.snapshot_key: self.snapshot_view(snapshot)})
        if ours and self.wait and not dry_run and self._is_young(ours[0]):
            # A concurrent run's copy: its creator settles only after the race grace and may remove it for a
            # same-second twin; look again then, so every run reports the copy that stays.
            self._after_race_grace(ours[0])
            existing, ours = self._restored_copies(restore_name, snapshot)
        if ours:
            restored = ours[0]
            if restored.status in self.RESTORED_BROKEN:
                raise ProtectionError('%s restored from %s %s is in status %s; delete it and run again'
                                      % (self.describe(restored), self.snapshot_kind, snapshot.id, restored.status),
                                      **common)
            if self.wait and not dry_run and restored.status not in self.SOURCE_OK:
                restored = self._wait_restored(restored, snapshot)
            return Result(False, restored=view(restored), resource_map={source.id: restored.id},
                          duplicates=[s.id for s in ours[1:]], before=view(restored), after=view(restored), **common)
        if dry_run:
            planned = dict(name=restore_name, snapshot_id=snapshot.id, status='(would be created)')
            return Result(True, restored=planned, resource_map={source.id: None}, duplicates=[], before=None,
                          after=planned, **common)
        restored = self._create_restored(source, snapshot, options, {MANAGED_KEY: 'true',
                                                                     RESTORED_FROM_KEY: snapshot.id})
        changed = True
        if self.wait:
            restored = self._wait_restored(restored, snapshot)
            restored, changed = self._settle_restore_race(restored, snapshot, restore_name)
        return Result(changed, restored=view(restored), resource_map={source.id: restored.id}, duplicates=[],
                      before=None, after=view(restored), **common)

    def _settle_restore_race(self, mine, snapshot, restore_name):
        """Concurrent restores to one name: the oldest copy wins; a later one removes itself, reports the winner."""
        self._after_race_grace(mine)
        _existing, ours = self._restored_copies(restore_name, snapshot)
        if not ours or ours[0].id == mine.id:
            return mine, True
        winner = ours[0]
        describe = '%s (a concurrent run restored %s first)' % (self.describe(mine), self.describe(winner))
        left = remove_or_name(lambda: self._remove_restored(mine, describe), self.resource_kind, mine.id,
                              adjective='duplicate')
        if 'could not' in left:
            raise ProtectionError('%s restored the same %s concurrently; %s' % (describe, self.snapshot_kind, left),
                                  restored=self.source_view(winner))
        if winner.status not in self.SOURCE_OK:
            winner = self._wait_restored(winner, snapshot)
        return winner, False

    def _remove_restored(self, restored, describe):
        self._delete_source_call(restored.id)
        self.wait_for(lambda: self._get_source(restored.id), GONE, fail={'error_deleting'},
                      describe='deletion of %s' % describe)

    def _wait_restored(self, restored, snapshot):
        describe = '%s restored from %s %s' % (self.describe(restored), self.snapshot_kind, snapshot.id)
        try:
            return self._wait_source(restored, describe=describe)
        except WaitFailed as exc:
            left = remove_or_name(lambda: self._delete_source_call(restored.id), self.resource_kind, restored.id)
            raise ProtectionError('%s; %s' % (exc.msg, left), restored=self.source_view(exc.last),
                                  **{self.snapshot_key: self.snapshot_view(snapshot)})

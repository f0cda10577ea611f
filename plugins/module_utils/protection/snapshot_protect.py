# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Creating a protection (part of SnapshotDriver, see snapshots.py).

Single (one snapshot named like the protection) or rotating (``retain``,
``min_age``: timestamped snapshots, the oldest of the collection's own
removed), adopting a foreign snapshot on request, replacing an errored one,
and settling concurrent runs: the oldest snapshot wins, the others remove
their own. A snapshot that fails or stalls is removed, or named in the error.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ConflictError, ProtectionError, WaitFailed
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import rotation
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    MANAGED_KEY,
    PROTECTION_KEY,
    Later,
    Result,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.snapshot_delete import remove_or_name


def managed_metadata(name):
    """The metadata that makes a snapshot this collection's own, for the protection ``name``."""
    return {MANAGED_KEY: 'true', PROTECTION_KEY: name}


class SnapshotProtection:
    """``protect`` and what it needs: adoption, single and rotating protections, waiting, race settling."""

    def protect(self, source, name, options, dry_run=False):
        source = self.find_source(source)
        snapshots = self.source_snapshots(source.id)
        foreign = self.foreign_snapshots(name, snapshots)
        ours = self.protection_snapshots(source, name, snapshots)
        adopted = []
        if foreign and options.get('adopt'):
            adopted = self._adopt(source, name, foreign, dry_run)
            ours = sorted(ours + adopted, key=rotation.age_key)
            foreign = []
        if options.get('retain'):
            result = self._protect_rotating(source, name, options, ours, dry_run)
        else:
            result = self._protect_single(source, name, options, ours, foreign, dry_run)

        def complete(result):
            result.data['foreign_snapshots'] = [s.id for s in foreign]
            result.data['adopted'] = [s.id for s in adopted]
            result.changed = result.changed or bool(adopted)
            return result
        if isinstance(result, Later):
            return Later(lambda step=result.step: complete(step()), ready=result.ready)
        return complete(result)

    def _adopt(self, source, name, foreign, dry_run):
        """Take over the foreign snapshot named like the protection (``adopt: true``) by writing our metadata."""
        if len(foreign) > 1:
            raise ConflictError('%s has %d %ss named %s that this collection did not create (%s): adopt takes over '
                                'one only; remove the extra ones or choose another protection name'
                                % (self.describe(source), len(foreign), self.snapshot_kind, name,
                                   ', '.join(s.id for s in foreign)), **self._views(source))
        snapshot = foreign[0]
        if snapshot.status not in self.SNAPSHOT_OK | self.SNAPSHOT_TRANSIENT:
            raise ProtectionError('%s is %s: only a healthy %s can be adopted'
                                  % (self.describe(snapshot, self.snapshot_kind), snapshot.status, self.snapshot_kind),
                                  **self._views(source, **{self.snapshot_key: self.snapshot_view(snapshot)}))
        if not dry_run:
            self._set_snapshot_metadata_call(snapshot.id, managed_metadata(name))
        snapshot.metadata = dict(snapshot.metadata or {}, **managed_metadata(name))
        return [snapshot]

    def _planned(self, source, name):
        return {'name': name, '%s_id' % self.resource_kind: source.id, 'status': '(would be created)'}

    def _protect_single(self, source, name, options, ours, foreign, dry_run):
        existing = [s for s in ours if s.name == name]
        healthy = [s for s in existing if s.status not in self.SNAPSHOT_FAIL]
        broken = [s for s in existing if s.status in self.SNAPSHOT_FAIL]
        view = self.snapshot_view
        if healthy:
            snapshot = healthy[0]
            if self.wait and not dry_run and self._is_young(snapshot):
                # A concurrent run's snapshot: its creator settles only after the race grace, and a same-second
                # twin may win; report what the creators will keep, never one of them removes.
                snapshot = self._oldest_after_grace(source, name, snapshot)
            before = view(snapshot)
            if self.wait and not dry_run and snapshot.status not in self.SNAPSHOT_OK:
                snapshot = self._wait_snapshot(snapshot, source)
            return Result(False, **self._views(source, before=before, after=view(snapshot),
                                               **{self.snapshot_key: view(snapshot)}))
        if foreign:
            raise ConflictError(
                '%s already has a %s named %s (%s) that this collection did not create (no %s metadata): it is left '
                'alone. Choose another protection name, or set adopt: true to take it over as this protection'
                % (self.describe(source), self.snapshot_kind, name, ', '.join(s.id for s in foreign), MANAGED_KEY),
                foreign_snapshots=[s.id for s in foreign], **self._views(source))
        self._refuse_stuck(broken, source)
        self._check_source(source, options, dry_run)
        if dry_run:
            planned = self._planned(source, name)
            return Result(True, **self._views(source, deleted=[s.id for s in broken], before=None, after=planned,
                                              **{self.snapshot_key: planned}))
        # An errored snapshot of a previous run is replaced, never left behind.
        deleted = self._delete_snapshots(broken, source)
        # In a bulk run only the create holds a slot of the pool; waiting for every snapshot and the race check
        # come after all creates (by then most snapshots are ready: one read each).
        created = self._create_snapshot(source, name, name, options, wait=not self.bulk_run)
        batched = self.bulk_run and self.wait
        if batched:
            self.batch.add(created)

        def settle():
            if batched:
                # the project's snapshots of this run, waited for and race-checked with one listing per poll
                snapshot = self._wait_snapshot(created, source, settled=self.batch.verdict)
                snapshot, changed = self._settle_race(source, name, snapshot, self.batch.source_snapshots(source.id))
            else:
                snapshot, changed = self._settle_race(source, name, created)
            return Result(changed or bool(deleted), **self._views(source, deleted=deleted, before=None,
                                                                  after=view(snapshot),
                                                                  **{self.snapshot_key: view(snapshot)}))
        return Later(settle, ready=self.batch.settle if batched else None) if self.bulk_run else settle()

    def _protect_rotating(self, source, name, options, ours, dry_run):
        plan = rotation.RotationPlan(ours, options['retain'], options.get('min_age') or 0, self.SNAPSHOT_FAIL)
        before = [self.snapshot_view(s) for s in plan.snapshots]
        common = self._views(source, deleted=[s.id for s in plan.doomed], rotation_skipped=not plan.create,
                             snapshots_before=before, before=before)
        self._refuse_stuck(plan.doomed, source)
        if plan.create:
            self._check_source(source, options, dry_run)
        if dry_run:
            planned = self._planned(source, '%s-<timestamp>' % name)
            snapshot = planned if plan.create else self.snapshot_view(plan.newest)
            after = [v for v in before if v['id'] not in common['deleted']] + ([planned] if plan.create else [])
            return Result(plan.changed, after=after, **dict(common, **{self.snapshot_key: snapshot}))
        snapshot = plan.newest
        # In a bulk run the new snapshot is waited for with the project's others (snapshot_batch.py), after every
        # create; the oldest ones go once it is available, as in a single run.
        batched = plan.create and self.bulk_run and self.wait
        if plan.create:
            snapshot = self._create_snapshot(source, rotation.rotated_name(name), name, options, wait=not batched)
            if batched:
                self.batch.add(snapshot)

        def finish(snapshot=snapshot):
            listed = None
            if batched:
                snapshot = self._wait_snapshot(snapshot, source, settled=self.batch.verdict)
                listed = self.batch.source_snapshots(source.id)
            deleted = set(self._delete_snapshots(plan.doomed, source))
            if listed is not None:
                listed = [s for s in listed if s.id not in deleted]
            after = [self.snapshot_view(s) for s in self.protection_snapshots(source, name, listed)]
            return Result(plan.changed, after=after,
                          **dict(common, **{self.snapshot_key: self.snapshot_view(snapshot)}))
        return Later(finish, ready=self.batch.settle) if batched else finish()

    def _check_source(self, source, options, dry_run):
        if source.status in self.SOURCE_TRANSIENT and self.wait and not dry_run:
            source = self._wait_source(source)
        if source.status not in self.SOURCE_OK and source.status not in self.SOURCE_TRANSIENT:
            raise ProtectionError('%s is %s: it cannot be snapshotted' % (self.describe(source), source.status),
                                  **self._views(source))
        self._check_source_extra(source, options)

    def _create_snapshot(self, source, snapshot_name, protection, options, wait=True):
        metadata = dict(options.get('metadata') or {})
        metadata.update(managed_metadata(protection))
        snapshot = self._create_snapshot_call(source, snapshot_name, options, metadata)
        if not (self.wait and wait):
            return snapshot
        return self._wait_snapshot(snapshot, source)

    def _wait_snapshot(self, snapshot, source, settled=None):
        """The snapshot once available; failed or stalled, removed (or named) and raised. ``settled(describe)``
        gives the verdict of a bulk run's shared wait (snapshot_batch.py) instead of polling this one."""
        describe = '%s of %s' % (self.describe(snapshot, self.snapshot_kind), self.describe(source))
        try:
            if settled is not None:
                return settled(snapshot, describe)
            return self.wait_for(lambda: self._get_snapshot(snapshot.id), self.SNAPSHOT_OK, self.SNAPSHOT_FAIL,
                                 self.SNAPSHOT_TRANSIENT, describe=describe)
        except WaitFailed as exc:  # WaitTimeout included: the stalled snapshot goes too
            left = remove_or_name(lambda: self._delete_snapshots([exc.last or snapshot], source, cleanup=True),
                                  self.snapshot_kind, snapshot.id)
            if 'could not' in left and 'resets its status' not in left:
                left += '; the next run of this task tries to remove it again'
            raise ProtectionError('%s; %s' % (exc.msg, left),
                                  **self._views(source, **{self.snapshot_key: self.snapshot_view(exc.last)}))

    def _oldest_after_grace(self, source, name, seen, listed=None):
        """The oldest healthy snapshot of ``name`` once every same-second twin of ``seen`` is visible; ``listed``:
        the source's snapshots from a listing taken after that already (a bulk run's shared one)."""
        if listed is None:
            self._after_race_grace(seen)
        same = [s for s in self.protection_snapshots(source, name, listed)
                if s.name == name and s.status not in self.SNAPSHOT_FAIL]
        return same[0] if same else seen

    def _settle_race(self, source, name, mine, listed=None):
        """Two concurrent runs may both create; the oldest snapshot wins, the other run removes its own."""
        if not self.wait:
            return mine, True
        winner = self._oldest_after_grace(source, name, mine, listed)
        if winner.id == mine.id:
            return mine, True
        self._delete_snapshots([mine], source)
        if winner.status not in self.SNAPSHOT_OK:
            winner = self._wait_snapshot(winner, source)
        return winner, False

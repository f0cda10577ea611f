# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snapshot protection lifecycle shared by the Cinder and Manila drivers.

A subclass names its kinds and status sets and implements a handful of API
hooks (``_get_source``, ``_find_sources_by_name``, ``_list_snapshots``,
``_get_snapshot``, ``_create_snapshot_call``, ``_delete_snapshot_call``,
``_create_restored``, ``_delete_source_call``, the views). This class owns the
behaviour: identity (source + protection name), single and rotating protect,
settling concurrent runs, delete, restore to a new resource, bulk runs, the
protectable listing, and cleaning up failed resources (removed, or named in
the message when the service refuses).
"""

from __future__ import annotations

import datetime
import time

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    ConflictError,
    NotFoundError,
    ProtectionError,
    WaitFailed,
    WaitTimeout,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils import waiter
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import bulk, rotation
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import restore_point as restore_points
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    MANAGED_KEY,
    PROTECTION_KEY,
    RESTORED_FROM_KEY,
    ProtectionDriver,
    Result,
    looks_like_id,
    parse_time,
    utcnow,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.waiter import NOT_FOUND

GONE = frozenset([NOT_FOUND, 'deleted'])
# Cleanup of a failed or stalled snapshot waits at least this long for it to settle (Cinder and Manila delete
# snapshots only once they are available or error), so a timeout leaves nothing behind.
CLEANUP_MIN_TIMEOUT = 60
# Statuses only an admin can move a snapshot out of: Cinder and Manila refuse to delete it (HTTP 400).
STUCK = frozenset(['error_deleting'])
# Cinder and Manila stamp created_at to the second. Concurrent runs decide who keeps its resource by
# (created_at, id); a run looks at the others only once this long after its own resource's second, so every
# resource stamped with the same second is visible to all of them and they all agree on the order.
RACE_GRACE_SECONDS = 2.0


def not_found_as_none(call, *args):
    """``call(*args)``, or None when the service answers 404."""
    try:
        return call(*args)
    except Exception as exc:  # pylint: disable=broad-except
        if os_connection.is_not_found(exc):
            return None
        raise


def remove_or_name(remove, what, resource_id, adjective='failed'):
    """Remove a failed resource; the sentence for the message (the resource is named if it stays)."""
    try:
        remove()
        return 'the %s %s was removed' % (adjective, what)
    except ProtectionError as exc:
        reason = exc.msg
    except Exception as exc:  # pylint: disable=broad-except
        reason = bulk.describe_unexpected(exc)
    return 'the %s %s %s could not be removed (%s)' % (adjective, what, resource_id, reason)


class SnapshotDriver(ProtectionDriver):
    """protect = snapshot the source; restore = a new source from the snapshot; delete = remove the snapshots."""

    resource_kind = 'resource'          # 'volume', 'share'
    snapshot_kind = 'snapshot'          # in messages
    snapshot_key = 'snapshot'           # result key of the snapshot
    source_ref_key = 'resource_ref'     # bulk entry key of the source reference
    SOURCE_OK = SOURCE_FAIL = SOURCE_TRANSIENT = frozenset()
    SNAPSHOT_OK = frozenset(['available'])
    SNAPSHOT_FAIL = SNAPSHOT_TRANSIENT = frozenset()
    RESTORED_BROKEN = frozenset(['error'])
    #: the admin command that moves a stuck snapshot to a deletable status ({id} is filled in)
    RESET_COMMAND = 'reset the snapshot status to error'
    race_grace = RACE_GRACE_SECONDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Bulk runs list the project's snapshots once; each source's first lookup uses that.
        self._prefetched = {}
        self._project_id = None

    # -- hooks ------------------------------------------------------------
    @staticmethod
    def source_view(source):
        raise NotImplementedError

    @staticmethod
    def snapshot_view(snapshot):
        raise NotImplementedError

    @staticmethod
    def snapshot_source_id(snapshot):
        raise NotImplementedError

    def _get_source(self, source_id):
        """The source by id, None when it does not exist."""
        raise NotImplementedError

    def _find_sources_by_name(self, name):
        raise NotImplementedError

    def list_sources(self):
        raise NotImplementedError

    def _list_snapshots(self, source_id=None):
        raise NotImplementedError

    def _get_snapshot(self, snapshot_id):
        """The snapshot by id, None when it does not exist."""
        raise NotImplementedError

    def _create_snapshot_call(self, source, snapshot_name, options, metadata):
        raise NotImplementedError

    def _delete_snapshot_call(self, snapshot_id):
        raise NotImplementedError

    def _set_snapshot_metadata_call(self, snapshot_id, metadata):
        raise NotImplementedError

    def _create_restored(self, source, snapshot, options, metadata):
        raise NotImplementedError

    def _delete_source_call(self, source_id):
        raise NotImplementedError

    def _restored_from(self, candidate, snapshot):
        """A resource this collection restored from ``snapshot`` (a same-named foreign one is never ours)."""
        metadata = candidate.metadata or {}
        return (candidate.snapshot_id == snapshot.id and metadata.get(MANAGED_KEY) == 'true'
                and metadata.get(RESTORED_FROM_KEY) == snapshot.id)

    def _check_source_extra(self, source, options):
        """Refusals specific to the service (e.g. Cinder's in-use without force)."""

    # -- lookups ----------------------------------------------------------
    def describe(self, obj, kind=None):
        return '%s %s (%s)' % (kind or self.resource_kind, obj.name, obj.id)

    def find_source(self, name_or_id):
        """The source by id or by unique name (one request either way); a source object passes through."""
        if hasattr(name_or_id, 'status') and hasattr(name_or_id, 'id'):
            return name_or_id
        if looks_like_id(name_or_id):
            found = self._get_source(name_or_id)
            if found is not None:
                return self._check_owner(found)
        matches = [s for s in self._find_sources_by_name(name_or_id) if s.name == name_or_id]
        kind = self.resource_kind
        if not matches:
            raise NotFoundError('%s %s: not found' % (kind, name_or_id), **{kind: name_or_id})
        if len(matches) > 1:
            raise ConflictError('%s %s: %d %ss have this name (%s); pass the id instead'
                                % (kind, name_or_id, len(matches), kind, ', '.join(sorted(s.id for s in matches))),
                                **{kind: name_or_id})
        return self._check_owner(matches[0])

    def current_project_id(self):
        """The project the connection is scoped to (from the token it already holds); None when unknown."""
        if self._project_id is None:
            self._project_id = getattr(self.conn, 'current_project_id', None)
        return self._project_id if isinstance(self._project_id, str) else None

    def _check_owner(self, source):
        """Refuse a source of another project (an admin acting by id): the owner could neither see nor delete
        a protection created here, and Cinder would then refuse to delete the owner's volume."""
        owner = getattr(source, 'project_id', None)
        current = self.current_project_id() if isinstance(owner, str) and owner else None
        if current and owner != current:
            raise ConflictError('%s belongs to project %s, not to project %s of these credentials: a %s made here '
                                'would belong to %s, invisible to the %s\'s owner (who could then no longer delete '
                                'the %s). Run the task with credentials scoped to project %s'
                                % (self.describe(source), owner, current, self.snapshot_kind, current,
                                   self.resource_kind, self.resource_kind, owner),
                                **self._views(source))
        return source

    def source_snapshots(self, source_id):
        prefetched = self._prefetched.pop(source_id, None)
        if prefetched is not None:
            return prefetched
        return list(self._list_snapshots(source_id))

    def _grouped_snapshots(self, source_ids):
        grouped = dict((source_id, []) for source_id in source_ids)
        for snapshot in self._list_snapshots():
            if self.snapshot_source_id(snapshot) in grouped:
                grouped[self.snapshot_source_id(snapshot)].append(snapshot)
        return grouped

    def prefetch_snapshots(self, source_ids):
        """One listing of the project's snapshots instead of one per source (bulk)."""
        self._prefetched.update(self._grouped_snapshots(source_ids))

    belongs = staticmethod(rotation.belongs)

    def protection_snapshots(self, source, name, snapshots=None):
        """Snapshots of this protection on this source (the collection's own), oldest first."""
        snapshots = self.source_snapshots(source.id) if snapshots is None else snapshots
        return sorted((s for s in snapshots if rotation.belongs(s, name)), key=rotation.age_key)

    def foreign_snapshots(self, name, snapshots):
        """Snapshots named like the protection that this collection did not create: reported, never touched."""
        return sorted((s for s in snapshots if rotation.is_foreign(s, name)), key=rotation.age_key)

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

    def status(self, source, name):
        source = self.find_source(source)
        snapshots = self.protection_snapshots(source, name)
        return source, (snapshots[-1] if snapshots else None)

    def _views(self, source, **data):
        data[self.resource_kind] = self.source_view(source)
        return data

    # -- protect ----------------------------------------------------------
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
        result.data['foreign_snapshots'] = [s.id for s in foreign]
        result.data['adopted'] = [s.id for s in adopted]
        result.changed = result.changed or bool(adopted)
        return result

    def _adopt(self, source, name, foreign, dry_run):
        """Take over the foreign snapshot named like the protection (``adopt: true``) by writing our metadata."""
        if len(foreign) > 1:
            raise ConflictError('%s has %d %ss named %s that this collection did not create (%s): adopt takes over '
                                'one only; remove the extra ones or pass another snapshot_name'
                                % (self.describe(source), len(foreign), self.snapshot_kind, name,
                                   ', '.join(s.id for s in foreign)), **self._views(source))
        snapshot = foreign[0]
        if snapshot.status not in self.SNAPSHOT_OK | self.SNAPSHOT_TRANSIENT:
            raise ProtectionError('%s is %s: only a healthy %s can be adopted'
                                  % (self.describe(snapshot, self.snapshot_kind), snapshot.status, self.snapshot_kind),
                                  **self._views(source, **{self.snapshot_key: self.snapshot_view(snapshot)}))
        metadata = dict(snapshot.metadata or {}, **{MANAGED_KEY: 'true', PROTECTION_KEY: name})
        if not dry_run:
            self._set_snapshot_metadata_call(snapshot.id, {MANAGED_KEY: 'true', PROTECTION_KEY: name})
        snapshot.metadata = metadata
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
            before = view(snapshot)
            if self.wait and not dry_run and snapshot.status not in self.SNAPSHOT_OK:
                snapshot = self._wait_snapshot(snapshot, source)
            return Result(False, **self._views(source, before=before, after=view(snapshot),
                                               **{self.snapshot_key: view(snapshot)}))
        if foreign:
            raise ConflictError(
                '%s already has a %s named %s (%s) that this collection did not create (no %s metadata): it is left '
                'alone. Choose another snapshot_name, or set adopt: true to take it over as this protection'
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
        snapshot = self._create_snapshot(source, name, name, options)
        snapshot, changed = self._settle_race(source, name, snapshot)
        return Result(changed or bool(deleted), **self._views(source, deleted=deleted, before=None,
                                                              after=view(snapshot),
                                                              **{self.snapshot_key: view(snapshot)}))

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
        if plan.create:
            snapshot = self._create_snapshot(source, rotation.rotated_name(name), name, options)
        self._delete_snapshots(plan.doomed, source)
        after = [self.snapshot_view(s) for s in self.protection_snapshots(source, name)]
        return Result(plan.changed, after=after, **dict(common, **{self.snapshot_key: self.snapshot_view(snapshot)}))

    def _wait_source(self, source, describe=None):
        return self.wait_for(lambda: self._get_source(source.id), self.SOURCE_OK, self.SOURCE_FAIL,
                             self.SOURCE_TRANSIENT, describe=describe or self.describe(source))

    def _check_source(self, source, options, dry_run):
        if source.status in self.SOURCE_TRANSIENT and self.wait and not dry_run:
            source = self._wait_source(source)
        if source.status not in self.SOURCE_OK and source.status not in self.SOURCE_TRANSIENT:
            raise ProtectionError('%s is %s: it cannot be snapshotted' % (self.describe(source), source.status),
                                  **self._views(source))
        self._check_source_extra(source, options)

    def _create_snapshot(self, source, snapshot_name, protection, options):
        metadata = dict(options.get('metadata') or {})
        metadata.update({MANAGED_KEY: 'true', PROTECTION_KEY: protection})
        snapshot = self._create_snapshot_call(source, snapshot_name, options, metadata)
        if not self.wait:
            return snapshot
        return self._wait_snapshot(snapshot, source)

    def _wait_snapshot(self, snapshot, source):
        describe = '%s of %s' % (self.describe(snapshot, self.snapshot_kind), self.describe(source))
        try:
            return self.wait_for(lambda: self._get_snapshot(snapshot.id), self.SNAPSHOT_OK, self.SNAPSHOT_FAIL,
                                 self.SNAPSHOT_TRANSIENT, describe=describe)
        except WaitFailed as exc:  # WaitTimeout included: the stalled snapshot goes too
            left = remove_or_name(lambda: self._delete_snapshots([exc.last or snapshot], source, cleanup=True),
                                  self.snapshot_kind, snapshot.id)
            if 'could not' in left and 'resets its status' not in left:
                left += '; the next run of this task tries to remove it again'
            raise ProtectionError('%s; %s' % (exc.msg, left),
                                  **self._views(source, **{self.snapshot_key: self.snapshot_view(exc.last)}))

    def _after_race_grace(self, obj):
        """Sleep until ``race_grace`` seconds after ``obj``'s created_at second (see RACE_GRACE_SECONDS)."""
        created = parse_time(getattr(obj, 'created_at', None))
        if created is None or not self.race_grace:
            return
        delay = (created + datetime.timedelta(seconds=self.race_grace) - utcnow()).total_seconds()
        time.sleep(min(max(delay, 0), self.race_grace + 1))

    def _settle_race(self, source, name, mine):
        """Two concurrent runs may both create; the oldest snapshot wins, the other run removes its own."""
        if not self.wait:
            return mine, True
        self._after_race_grace(mine)
        same = [s for s in self.protection_snapshots(source, name)
                if s.name == name and s.status not in self.SNAPSHOT_FAIL]
        if len(same) <= 1 or same[0].id == mine.id:
            return mine, True
        self._delete_snapshots([mine], source)
        winner = same[0]
        if winner.status not in self.SNAPSHOT_OK:
            winner = self._wait_snapshot(winner, source)
        return winner, False

    # -- delete -----------------------------------------------------------
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

    # -- restore to a new resource ----------------------------------------
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

    # -- bulk and listing -------------------------------------------------
    def protect_many(self, sources, name, options, concurrency=8, dry_run=False):
        """Protect each source independently; one failure never hides the others' results."""
        return bulk.run_many(sources, lambda s: self.protect(s, name, options, dry_run=dry_run), self.resource_kind,
                             self.source_ref_key, concurrency)

    def delete_many(self, sources, name, concurrency=8, dry_run=False):
        return bulk.run_many(sources, lambda s: self.delete(s, name, dry_run=dry_run), self.resource_kind,
                             self.source_ref_key, concurrency)

    def protectables(self):
        """The project's sources that can be protected, each with its snapshots; the others as ``skipped``."""
        sources = self.list_sources()
        usable = [s for s in sources if s.status not in self.SOURCE_FAIL]
        grouped = self._grouped_snapshots([s.id for s in usable])
        listed = []
        for source in sorted(usable, key=lambda s: (s.name or '', s.id)):
            entry = self.source_view(source)
            entry['snapshots'] = [self.snapshot_view(s) for s in sorted(grouped[source.id], key=rotation.age_key)]
            listed.append(entry)
        skipped = [dict(id=s.id, name=s.name, status=s.status) for s in sources if s.status in self.SOURCE_FAIL]
        return listed, skipped

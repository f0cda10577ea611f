# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snapshot protection lifecycle shared by the Cinder and Manila drivers.

A subclass names its kinds and status sets and implements a handful of API
hooks (``_get_source``, ``_find_sources_by_name``, ``_list_snapshots``,
``_get_snapshot``, ``_create_snapshot_call``, ``_delete_snapshot_call``,
``_create_restored``, ``_delete_source_call``, the views). SnapshotDriver owns
the behaviour, one file a job: identity (source + protection name), lookups,
bulk runs and the protectable listing here; single and rotating protect and
settling concurrent runs in snapshot_protect.py; delete and the cleanup of
failed resources (removed, or named in the message when the service refuses)
in snapshot_delete.py; restore to a new resource in snapshot_restore.py.
"""

from __future__ import annotations

import datetime
import time

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ConflictError, NotFoundError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import bulk, rotation
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    ProtectionDriver,
    looks_like_id,
    parse_time,
    utcnow,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.snapshot_delete import SnapshotDeletion
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.snapshot_batch import SnapshotBatch
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.snapshot_protect import SnapshotProtection
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.snapshot_restore import SnapshotRestore

# Cinder and Manila stamp created_at to the second. Concurrent runs decide who keeps its resource by
# (created_at, id); a run looks at the others only once this long after its own resource's second, so every
# resource stamped with the same second is visible to all of them and they all agree on the order.
RACE_GRACE_SECONDS = 2.0


class SnapshotDriver(SnapshotProtection, SnapshotDeletion, SnapshotRestore, ProtectionDriver):
    """protect = snapshot the source; restore = a new source from the snapshot; delete = remove the snapshots.

    This class holds the service hooks, the lookups and the bulk runs; protect, delete and restore live in
    snapshot_protect.py, snapshot_delete.py and snapshot_restore.py.
    """

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
    # In a bulk run a new snapshot's race check is left for after every volume's snapshot (``bulk.Later``).
    bulk_run = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Bulk runs list the project's snapshots once; each source's first lookup uses that.
        self._prefetched = {}
        self._project_id = None
        # A bulk run's new snapshots, waited for together (one listing per poll, not one GET per snapshot).
        self.batch = SnapshotBatch(self)

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

    def list_sources(self, all_projects=False):
        """The project's sources; with ``all_projects`` every project's that the credentials may list (admin)."""
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

    def protection_snapshots(self, source, name, snapshots=None):
        """Snapshots of this protection on this source (the collection's own), oldest first."""
        snapshots = self.source_snapshots(source.id) if snapshots is None else snapshots
        return sorted((s for s in snapshots if rotation.belongs(s, name)), key=rotation.age_key)

    def foreign_snapshots(self, name, snapshots):
        """Snapshots named like the protection that this collection did not create: reported, never touched."""
        return sorted((s for s in snapshots if rotation.is_foreign(s, name)), key=rotation.age_key)

    def status(self, source, name):
        source = self.find_source(source)
        snapshots = self.protection_snapshots(source, name)
        return source, (snapshots[-1] if snapshots else None)

    def _views(self, source, **data):
        data[self.resource_kind] = self.source_view(source)
        return data

    def _wait_source(self, source, describe=None):
        return self.wait_for(lambda: self._get_source(source.id), self.SOURCE_OK, self.SOURCE_FAIL,
                             self.SOURCE_TRANSIENT, describe=describe or self.describe(source))

    def _is_young(self, obj):
        """Created less than ``race_grace`` after its created_at second: a same-second twin may still appear."""
        created = parse_time(getattr(obj, 'created_at', None))
        return bool(created and self.race_grace
                    and utcnow() < created + datetime.timedelta(seconds=self.race_grace))

    def _after_race_grace(self, obj):
        """Sleep until ``race_grace`` seconds after ``obj``'s created_at second (see RACE_GRACE_SECONDS)."""
        created = parse_time(getattr(obj, 'created_at', None))
        if created is None or not self.race_grace:
            return
        delay = (created + datetime.timedelta(seconds=self.race_grace) - utcnow()).total_seconds()
        time.sleep(min(max(delay, 0), self.race_grace + 1))

    # -- bulk and listing -------------------------------------------------
    def protect_many(self, sources, name, options, concurrency=8, dry_run=False):
        """Protect each source independently; one failure never hides the others' results."""
        self.bulk_run = True
        try:
            return bulk.run_many(sources, lambda s: self.protect(s, name, options, dry_run=dry_run),
                                 self.resource_kind, self.source_ref_key, concurrency)
        finally:
            self.bulk_run = False

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

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manila share snapshot protection.

protect = snapshot the share; restore = a new share from the snapshot (the
source's protocol, size, share type, share network and zone), or - with
``share_id`` naming the source share itself - revert the share in place to the
snapshot (Manila >= 2.27, only to the share's latest snapshot); delete = remove
the snapshots. Same identity, rotation, bulk and cleanup rules as Cinder
(protection/snapshots.py).

openstacksdk's share snapshot calls send the connection's microversion (2.65),
which predates snapshot metadata (2.73), and its listing drops the
``share_id`` filter; snapshots are therefore read and created with raw
requests at 2.73. A revert is one raw ``POST /shares/{id}/action``.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ConflictError, ProtectionError, WaitFailed
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result, looks_like_id
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.rotation import age_key
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.snapshots import SnapshotDriver
from ansible_collections.dataprotection.openstack.plugins.module_utils.waiter import NOT_FOUND

from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import get_or_none, sdk_exceptions

# Snapshot metadata needs 2.73; revert needs 2.27.
SNAPSHOT_MICROVERSION = '2.73'
# Written on a share reverted in place: the snapshot it was reverted to (makes the revert idempotent).
REVERTED_TO_KEY = 'dataprotection_reverted_to'

# Status sets: Manila's documented share and snapshot statuses.
SHARE_OK = frozenset(['available'])
SHARE_FAIL = frozenset(['error', 'error_deleting', 'deleting', 'extending_error', 'shrinking_error',
                        'reverting_error', NOT_FOUND])
SHARE_TRANSIENT = frozenset(['creating', 'creating_from_snapshot', 'reverting', 'extending', 'shrinking',
                             'migrating', 'migrating_to', 'server_migrating', 'replication_change',
                             'backup_creating', 'backup_restoring', 'restoring'])
SNAPSHOT_OK = frozenset(['available'])
SNAPSHOT_FAIL = frozenset(['error', 'error_deleting', 'deleting', NOT_FOUND])
SNAPSHOT_TRANSIENT = frozenset(['creating', 'restoring'])

_SNAPSHOT_FIELDS = ('id', 'name', 'status', 'share_id', 'size', 'share_size', 'share_proto', 'description',
                    'created_at', 'metadata')


class ShareSnapshotRecord:
    """A share snapshot as Manila returned it (attribute access like the SDK's resources)."""

    def __init__(self, data):
        for field in _SNAPSHOT_FIELDS:
            setattr(self, field, data.get(field))


def share_view(share):
    """The share fields the module returns."""
    if share is None:
        return None
    return dict(id=share.id, name=share.name, status=share.status, size=share.size,
                share_protocol=share.share_protocol, share_type=share.share_type,
                share_type_name=share.share_type_name, share_network_id=share.share_network_id,
                availability_zone=share.availability_zone, snapshot_id=share.snapshot_id,
                description=share.description, metadata=dict(share.metadata or {}))


def share_snapshot_view(snapshot):
    """The share snapshot fields the module returns."""
    if snapshot is None:
        return None
    return dict(id=snapshot.id, name=snapshot.name, status=snapshot.status, share_id=snapshot.share_id,
                size=snapshot.size, share_proto=snapshot.share_proto, description=snapshot.description,
                created_at=snapshot.created_at, metadata=dict(snapshot.metadata or {}))


class ManilaShareDriver(SnapshotDriver):
    resource_kind = 'share'
    snapshot_kind = 'share snapshot'
    snapshot_key = 'share_snapshot'
    source_ref_key = 'share_ref'
    SOURCE_OK, SOURCE_FAIL, SOURCE_TRANSIENT = SHARE_OK, SHARE_FAIL, SHARE_TRANSIENT
    SNAPSHOT_OK, SNAPSHOT_FAIL, SNAPSHOT_TRANSIENT = SNAPSHOT_OK, SNAPSHOT_FAIL, SNAPSHOT_TRANSIENT
    source_view = staticmethod(share_view)
    snapshot_view = staticmethod(share_snapshot_view)
    RESET_COMMAND = 'openstack share snapshot set --status error {id}'

    @staticmethod
    def snapshot_source_id(snapshot):
        return snapshot.share_id

    # -- raw Manila requests ----------------------------------------------
    def _request(self, method, url, **kwargs):
        sfs = self.conn.shared_file_system
        response = getattr(sfs, method)(url, microversion=SNAPSHOT_MICROVERSION, **kwargs)
        sdk_exceptions.raise_from_response(response)
        return response.json() if response.content else {}

    # -- Manila calls -----------------------------------------------------
    def _get_source(self, source_id):
        return get_or_none(self.conn.shared_file_system.get_share, source_id)

    def _find_sources_by_name(self, name):
        return list(self.conn.shared_file_system.shares(details=True, name=name))

    def list_sources(self, all_projects=False):
        if all_projects:
            return list(self.conn.shared_file_system.shares(details=True, all_projects=True))
        return list(self.conn.shared_file_system.shares(details=True))

    def _list_snapshots(self, source_id=None):
        url = '/snapshots/detail' + ('?share_id=%s' % source_id if source_id else '')
        snapshots = []
        while url:
            body = self._request('get', url)
            snapshots.extend(ShareSnapshotRecord(item) for item in body.get('snapshots') or [])
            url = next((link['href'] for link in body.get('snapshots_links') or [] if link.get('rel') == 'next'), None)
        return snapshots

    def _get_snapshot(self, snapshot_id):
        body = get_or_none(self._request, 'get', '/snapshots/%s' % snapshot_id)
        return None if body is None else ShareSnapshotRecord(body['snapshot'])

    def _create_snapshot_call(self, source, snapshot_name, options, metadata):
        body = {'share_id': source.id, 'name': snapshot_name, 'description': options.get('description'),
                'force': bool(options.get('force')), 'metadata': metadata}
        return ShareSnapshotRecord(self._request('post', '/snapshots', json={'snapshot': body})['snapshot'])

    def _delete_snapshot_call(self, snapshot_id):
        self.conn.shared_file_system.delete_share_snapshot(snapshot_id, ignore_missing=True)

    def _set_snapshot_metadata_call(self, snapshot_id, metadata):
        self._request('post', '/snapshots/%s/metadata' % snapshot_id, json={'metadata': metadata})

    def _create_restored(self, source, snapshot, options, metadata):
        return self.conn.shared_file_system.create_share(
            name=options['restore_name'], description=options.get('restore_description'),
            share_protocol=source.share_protocol, size=snapshot.size or source.size, snapshot_id=snapshot.id,
            share_type=source.share_type, share_network_id=source.share_network_id,
            availability_zone=source.availability_zone, metadata=metadata)

    def _delete_source_call(self, source_id):
        self.conn.shared_file_system.delete_share(source_id, ignore_missing=True)

    def _check_source_extra(self, source, options):
        if getattr(source, 'is_snapshot_supported', None) is False:
            raise ProtectionError('share %s (%s): its share type %s does not support snapshots (snapshot_support '
                                  'is false)' % (source.name, source.id, source.share_type_name or source.share_type),
                                  share=share_view(source))

    # -- restore ----------------------------------------------------------
    def restore(self, source, name, options, dry_run=False):
        share, snapshot = self.restorable_snapshot(source, name, dry_run, options.get('restore_point'))
        target = options.get('share_id')
        if not target:
            if not options.get('restore_name'):
                raise ProtectionError('share %s (%s): set restore_name to restore %s to a new share, or share_id '
                                      'to revert the share in place' % (share.name, share.id, name))
            return self.restore_new(share, snapshot, options, dry_run=dry_run)
        if target != share.id and (looks_like_id(target) or target != share.name):
            raise ConflictError('share %s (%s): Manila restores a snapshot in place only into its own share; '
                                'share_id %s is another share. Omit share_id (and set restore_name) to restore to a '
                                'new share' % (share.name, share.id, target),
                                share=share_view(share), share_snapshot=share_snapshot_view(snapshot))
        return self.revert(share, snapshot, dry_run=dry_run)

    def revert(self, share, snapshot, dry_run=False):
        """Revert ``share`` in place to ``snapshot``, which must be the share's latest snapshot."""
        newer = [s for s in self._list_snapshots(share.id) if age_key(s) > age_key(snapshot)]
        if newer:
            raise ProtectionError(
                'share %s (%s) cannot be reverted to snapshot %s (%s): Manila reverts a share only to its latest '
                'snapshot, and %s newer (%s). Restore to a new share instead (omit share_id, set restore_name), or '
                'remove the newer snapshots first'
                % (share.name, share.id, snapshot.name, snapshot.id,
                   'this one is' if len(newer) == 1 else 'these are',
                   ', '.join('%s (%s)' % (s.name, s.id) for s in sorted(newer, key=age_key))),
                share=share_view(share), share_snapshot=share_snapshot_view(snapshot))
        current = (share.metadata or {}).get(REVERTED_TO_KEY)
        common = dict(share_snapshot=share_snapshot_view(snapshot), resource_map={share.id: share.id},
                      before={REVERTED_TO_KEY: current}, after={REVERTED_TO_KEY: snapshot.id})
        if current == snapshot.id:
            return Result(False, share=share_view(share), restored=share_view(share), reverted=False, **common)
        if share.status not in SHARE_OK:
            raise ProtectionError('share %s (%s) is %s: it can be reverted only when available'
                                  % (share.name, share.id, share.status), share=share_view(share))
        if dry_run:
            return Result(True, share=share_view(share), restored=share_view(share), reverted=True, **common)
        self._request('post', '/shares/%s/action' % share.id, json={'revert': {'snapshot_id': snapshot.id}})
        if self.wait:
            try:
                share = self._wait_source(share, describe='revert of share %s (%s) to snapshot %s (%s)'
                                          % (share.name, share.id, snapshot.name, snapshot.id))
            except WaitFailed as exc:
                raise ProtectionError('%s; nothing was created - Manila leaves the share in that status until '
                                      'an admin resets it' % exc.msg, share=share_view(exc.last),
                                      share_snapshot=share_snapshot_view(snapshot))
        self._request('post', '/shares/%s/metadata' % share.id, json={'metadata': {REVERTED_TO_KEY: snapshot.id}})
        share.metadata = dict(share.metadata or {}, **{REVERTED_TO_KEY: snapshot.id})
        return Result(True, share=share_view(share), restored=share_view(share), reverted=True, **common)

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A protection kept as a checkpoint in the bank plus Cinder snapshots or backups of its volumes.

The skeleton the pod and the application drivers share: an available checkpoint means nothing to do; otherwise
stale checkpoints are replaced, the checkpoint is created with its planned volumes, the manifests are saved, each
volume is protected in turn (order and time recorded), and only then is the checkpoint available. A failure removes
what the run made, or names it. Deleting a checkpoint removes its volume protections first, found by their names.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.base import (
    AVAILABLE,
    ERROR,
    STATUSES,
    timestamp,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import restore_point as restore_points
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import rotation
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    MANAGED_KEY,
    ProtectionDriver,
    Result,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_backup import CinderBackups
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.hooks import HookRunner
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_snapshot import (
    CinderSnapshotDriver,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.timings import Timings


# A checkpoint that is not available (an interrupted, failed or half-deleted run) never counts as a protection.
NOT_AVAILABLE = tuple(s for s in STATUSES if s != AVAILABLE)


class CheckpointPoint:
    """A checkpoint index as a restore point (``restore_point.select``) and a rotation member
    (``rotation.RotationPlan``): id, name, status, created_at; every checkpoint in the bank is the collection's own."""

    def __init__(self, index):
        self.index = index
        self.id = self.name = index['id']
        self.status = index.get('status')
        self.created_at = index.get('created_at')
        self.metadata = {MANAGED_KEY: 'true'}


class CheckpointDriver(ProtectionDriver):
    """Subclasses set ``plugin`` and implement checkpoints(), protect() and restore()."""

    def __init__(self, conn, kube, bank, **wait):
        super().__init__(conn, **wait)
        self.kube = kube
        self.bank = bank
        # The volume protections always complete before the checkpoint is available, whatever ``wait`` says.
        cinder_wait = dict(wait, wait=True)
        self.snapshots = CinderSnapshotDriver(conn, **cinder_wait)
        self.backups = CinderBackups(conn, **cinder_wait)
        self.timings = Timings()  # the steps of protect and restore, for the module's ``timings``

    def _checkpoint_result(self, index):
        return dict(index, bank=self.bank.location) if index else None

    def source_label(self, source):
        """How messages name the protected source, e.g. ``pod ns/name``."""
        raise NotImplementedError

    def status(self, source, name):
        available = [c for c in self.checkpoints(source, name) if c['status'] == AVAILABLE]
        return available[-1] if available else None

    def restore_point(self, source, name, wanted=None):
        """The available checkpoint ``wanted`` selects: latest (default), a checkpoint id, or a date/time."""
        available = [CheckpointPoint(c) for c in self.checkpoints(source, name) if c['status'] == AVAILABLE]
        label = self.source_label(source)
        if not available and wanted in (None, restore_points.LATEST):
            raise NotFoundError('%s has no available checkpoint of protection %s in the %s'
                                % (label, name, self.bank.location))
        return restore_points.select(available, wanted, '%s, protection %s, in the %s'
                                     % (label, name, self.bank.location)).index

    @staticmethod
    def _rotation(existing, options):
        """With ``retain``: which checkpoints a rotating protection keeps, and whether it takes a new one."""
        if not options.get('retain'):
            return None
        return rotation.RotationPlan([CheckpointPoint(c) for c in existing], options['retain'],
                                     options.get('min_age') or 0, NOT_AVAILABLE)

    def _unchanged(self, existing, options, dry_run):
        """The result when no new checkpoint is due, or None: without ``retain`` an available checkpoint is the
        protection; with it, ``min_age`` may skip the new one (the checkpoints beyond ``retain`` still go)."""
        plan = self._rotation(existing, options)
        if plan is None:
            available = [c for c in existing if c['status'] == AVAILABLE]
            if not available:
                return None
            checkpoint = self._checkpoint_result(available[-1])
            return Result(False, checkpoint=checkpoint, before=checkpoint, after=checkpoint)
        if plan.create:
            return None
        before = [self._checkpoint_result(c) for c in existing]
        deleted = self._rotate_out(plan.doomed, dry_run)
        checkpoint = self._checkpoint_result(plan.newest.index)
        return Result(bool(deleted), checkpoint=checkpoint, rotation_skipped=True, deleted=deleted, before=before,
                      after=[c for c in before if c['id'] not in deleted])

    def _rotate_out(self, points, dry_run):
        """Delete the checkpoints (and their volume protections) a rotation drops; their ids."""
        doomed = [point.index for point in points]
        if doomed and not dry_run:
            with self.timings.step('remove rotated-out checkpoints'):
                for index in doomed:
                    self._delete_checkpoint(index)
        return [index['id'] for index in doomed]

    def _checkpointed_protect(self, existing, name, options, resource, volumes, extra, save_manifests, what,
                              dry_run, hook_pods=()):
        """One protection as a checkpoint, for a pod or an application: stale checkpoints replaced, the checkpoint
        created with its planned volumes, the manifests saved (``save_manifests(index)``), every volume protected,
        then the checkpoint made available; on failure what this run made is removed (or named). The pre hooks of
        ``hook_pods`` run right before the volume protections, their post hooks right after (also on failure)."""
        hooks = HookRunner(self.kube, hook_pods, options.get('hooks'), self.timings)
        mode = options.get('backup_mode') or 'snapshot'
        protection = dict(name=name, description=options.get('description'), backup_mode=mode)
        extra = dict(extra, volumes=volumes)
        plan = self._rotation(existing, options)
        # A checkpoint of an interrupted or failed run is replaced, never left behind; with ``retain`` the available
        # ones stay until the new one is available, then those beyond ``retain`` go.
        stale = [c for c in existing if c['status'] != AVAILABLE]
        kept = [self._checkpoint_result(c) for c in existing if c['status'] == AVAILABLE]
        rotated = dict(rotation_skipped=False) if plan else {}
        if dry_run:
            planned = dict(id=None, status='(would be created)', plugin=self.plugin, resource=resource,
                           protection=protection, extra=extra, bank=self.bank.location)
            if plan:
                rotated.update(deleted=[p.id for p in plan.doomed if p.status == AVAILABLE])
            return Result(True, checkpoint=planned, replaced=[c['id'] for c in stale], before=kept or None,
                          after=planned, hooks=hooks.planned(), **rotated)
        replaced = []
        step = self.timings.step
        if stale:
            with step('remove stale checkpoints'):
                for old in stale:
                    self._delete_checkpoint(old)
                    replaced.append(old['id'])
        with step('create checkpoint'):
            index = self.bank.create(self.plugin, protection, resource, extra=dict(extra, volumes={}))
            for record in volumes.values():
                record.update(mode=mode, protection_name='dp-%s' % index['id'])
            # planned first: a run that dies half-way leaves a checkpoint whose deletion still finds everything
            self.bank.update(index, extra=extra)
        try:
            with step('save manifests'):
                save_manifests(index)
                self.bank.update(index)
            with hooks:  # pre hooks, the volume protections, post hooks (also after a failure)
                self._protect_volumes(index, volumes, options)
            with step('mark checkpoint available'):
                self.bank.update(index, status=AVAILABLE)
        except Exception as exc:  # pylint: disable=broad-except
            reason = os_connection.reason_of(exc, self.conn) + hooks.aftermath()
            with step('clean up'):
                left = self._undo_protect(index, reason)
            raise ProtectionError('protection %s of %s failed: %s; %s' % (name, what, reason, left),
                                  checkpoint=self._checkpoint_result(self.bank.get(index['id'])), hooks=hooks.results)
        if plan:  # the stale ones are gone already
            rotated.update(deleted=self._rotate_out([p for p in plan.doomed if p.status == AVAILABLE], False))
        checkpoint = self._checkpoint_result(index)
        return Result(True, checkpoint=checkpoint, replaced=replaced, before=kept or None, after=checkpoint,
                      hooks=hooks.results, **rotated)

    def _volume_records(self, entries):
        """{Cinder volume id: its PV, PVC, source, size, AZ and type} of protectable volume entries."""
        volumes = {}
        for entry in entries:
            volume = self.snapshots.find_volume(entry['cinder_volume_id'])
            volumes.setdefault(volume.id, dict(pv=entry['pv'], pvc=entry['pvc'], source=entry['source'],
                                               size=volume.size, availability_zone=volume.availability_zone,
                                               volume_type=volume.volume_type))
        return volumes

    def _protect_volumes(self, index, volumes, options):
        """Protect each volume in turn, recording in the checkpoint when each one's protection was taken."""
        mode = options.get('backup_mode') or 'snapshot'
        for order, (volume_id, record) in enumerate(volumes.items(), 1):
            with self.timings.step('%s volume %s' % (mode, volume_id)):
                record.update(self._protect_volume(volume_id, record, index, options), order=order,
                              taken_at=timestamp())
            with self.timings.step('save volume %s' % volume_id):
                self.bank.put_resource(index, 'volume', volume_id, record)
                self.bank.update(index, extra=dict(index.get('extra') or {}, volumes=volumes))

    def _protect_volume(self, volume_id, record, index, options):
        # "of pod ns/name" or "of application ns": the application driver inherits this
        description = options.get('description') or 'checkpoint %s of %s %s' % (index['id'], self.resource_kind,
                                                                                index['resource']['key'])
        if record['mode'] == 'backup':
            backup, _changed = self.backups.create(volume_id, record['protection_name'], description=description,
                                                   force=options.get('force', True),
                                                   protection=record['protection_name'])
            return dict(backup_id=backup.id, status=backup.status)
        metadata = {'dataprotection_checkpoint': index['id']}
        result = self.snapshots.protect(volume_id, record['protection_name'],
                                        dict(description=description, force=options.get('force', True),
                                             metadata=metadata))
        return dict(snapshot_id=result.data['snapshot']['id'], status=result.data['snapshot']['status'])

    def _undo_protect(self, index, reason):
        try:
            self._delete_checkpoint(index)
            return 'the checkpoint %s and the volume protections made for it were removed' % index['id']
        except Exception as exc:  # pylint: disable=broad-except
            try:
                self.bank.update(index, status=ERROR, error=reason)
            except Exception:  # pylint: disable=broad-except
                pass
            return ('cleaning up failed (%s): checkpoint %s is left in status error; state=absent removes it'
                    % (os_connection.reason_of(exc, self.conn), index['id']))

    # -- delete -------------------------------------------------------------------
    def _delete_checkpoint(self, index):
        """Remove the Cinder snapshots/backups a checkpoint made (found by their names), then its bank data."""
        for volume_id, record in ((index.get('extra') or {}).get('volumes') or {}).items():
            name = record.get('protection_name')
            if not name:
                continue
            if record.get('mode') == 'backup':
                ids = set([record['backup_id']] if record.get('backup_id') else [])
                try:
                    ids.update(b.id for b in self.backups.find_backups(volume_id, name))
                except Exception as exc:  # pylint: disable=broad-except
                    if not os_connection.is_not_found(exc):
                        raise
                for backup_id in sorted(ids):
                    self.backups.delete(backup_id)
            else:
                self.snapshots.delete(volume_id, name)
        self.bank.delete(index)

    def delete(self, source, name, dry_run=False):
        existing = self.checkpoints(source, name)
        before = [self._checkpoint_result(c) for c in existing]
        if not dry_run:
            for index in existing:
                self._delete_checkpoint(index)
        return Result(bool(existing), checkpoint=None, deleted=[c['id'] for c in existing], before=before, after=[])

    def _restore_volume(self, volume_id, record, volume_name, options, created):
        description = options.get('restore_description')
        if record.get('mode') == 'backup':
            volume = self.backups.restore_to_new_volume(record['backup_id'], volume_name, description=description,
                                                        availability_zone=record.get('availability_zone'))
            created['volumes'].append(volume.id)
            return volume.id
        result = self.snapshots.restore(volume_id, record['protection_name'],
                                        dict(restore_name=volume_name, restore_description=description))
        new_id = result.data['resource_map'][volume_id]
        created['volumes'].append(new_id)
        return new_id

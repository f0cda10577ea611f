# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One-shot Freezer operations: create the job, send ``start``, wait for ``job_schedule.result`` through the
shared waiter, verify the outcome in Cinder (Freezer's cindernative agent reports success before the Cinder
backup or restore finished), then remove the job and its actions. A job no freezer-scheduler picks up fails at
``timeout`` with that reason; a failed one leaves nothing behind (or names what it could not remove).

Where the agent cannot do what is asked, the collection does it through Cinder (freezer/recovery.py):
restores into a NEW volume (disaster recovery) and the removal of one protection's ``cindernative`` backups.
``nova`` mode (image-booted servers: freezer/servers.py) and the restore of a project (freezer/project.py) are
mixed in.
"""

from __future__ import annotations

import time

from ansible_collections.dataprotection.openstack.plugins.module_utils import waiter
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    NotFoundError,
    ProtectionError,
    WaitFailed,
    WaitTimeout,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import get_or_none, reason_of
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import cinder
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result, looks_like_id
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.cinder_mode import CinderMode
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.jobs import FreezerJobs
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.recovery import (
    NativeBackups,
    made_by_freezer,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.project import ProjectRestore
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.servers import NovaMode
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.views import (
    ACTIVE,
    JOB_FAIL,
    JOB_OK,
    OPERATIONS,
    PICKED_UP,
    backup_view,
    job_view,
    redact_action,
    volume_view,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.timings import Timings
from ansible_collections.dataprotection.openstack.plugins.module_utils.waiter import NOT_FOUND

RESTORE_TO = ('existing', 'new')


class FreezerOperations(ProjectRestore, CinderMode, NovaMode, FreezerJobs):
    """One-shot backup, restore and admin operations of a protection (resource + backup_name)."""

    def __init__(self, conn, api=None, interface=None, clock=time.monotonic, **kwargs):
        super().__init__(conn, api=api, interface=interface, **kwargs)
        self.timings = Timings(clock=clock)  # the steps of run_operation, for the module's ``timings``
        self.native = NativeBackups(conn, wait=self.wait, timeout=self.timeout, poll_interval=self.poll_interval)

    def run_operation(self, resource_type, resource_id, name, operation, options, dry_run=False):
        if operation not in OPERATIONS:
            raise ProtectionError('operation must be one of %s, got %s' % (', '.join(OPERATIONS), operation))
        if self.wait and (self.timeout or 0) <= 0:
            raise ProtectionError('a one-shot operation needs timeout > 0 (got %s): it waits for the scheduler to run '
                                  'the job; set wait: false to only start it' % self.timeout)
        if not name and operation != 'admin':
            raise ProtectionError('backup_name is required for operation %s' % operation)
        native = (options.get('volume_mode') or 'cindernative') == 'cindernative'
        if operation == 'restore' and resource_type == 'volume' and native:
            volume, backup, restore_to = self._restore_target(resource_id, name, options)
            if restore_to == 'new':
                return self._restore_new(volume, backup, name, options, dry_run)
            options = dict(options, restore_backup_id=backup.id)
        if operation == 'restore' and resource_type == 'volume' and not native:  # cinder mode: a new volume
            return self.restore_cinder(resource_id, name, options, dry_run)
        if operation == 'restore' and resource_type == 'server':
            restored = self.restore_server(resource_id, name, options, dry_run)
            if restored is not None:  # an image-booted server (nova mode): a new server
                return restored
        if operation == 'restore' and resource_type == 'project':  # every server and volume as a new one
            return self.restore_project(self.check_project(resource_id), name, options, dry_run)
        resource, actions = self.plan(resource_type, resource_id, operation, name, options)
        if operation == 'admin' and name and resource_type == 'project':  # also the backups of volumes gone since
            actions = actions + self.gone_volume_actions(actions, name)
        if not actions:
            return self.nothing(resource_type, resource)
        if operation == 'admin' and name and resource_type == 'volume' and not native:
            return self.admin_cinder(resource, actions, name, options, dry_run)
        if operation == 'admin' and name:  # the manifests (project.py) go with the backups they name
            return self.drop_manifests(resource, name, options,
                                       self._admin_protection(resource, actions, name, options, dry_run), dry_run)
        return self._run_job(resource, actions, name, operation, options, dry_run)

    def _run_job(self, resource, actions, name, operation, options, dry_run, **extra):
        client = self.check_client(options['client_id'])
        description = options.get('description') or '%s %s of %s %s' % (
            name or 'volume-wide', operation, resource['type'], resource['id'])
        if operation == 'restore' and options.get('restore_name'):
            description = options['restore_name']
        want = self.job_doc(description, options['client_id'], actions, schedule=None,
                            max_retries=options.get('max_retries') or 0,
                            max_retries_interval=options.get('max_retries_interval') or 10)
        session = resource['type'] == 'project' and operation == 'backup'
        if session and self.wait:
            self.manifests.check()  # the manifest of this session is written after the backup (project.py)
        if dry_run:
            planned = job_view(dict(want, job_id='(would be created, run and removed)'))
            return Result(True, job=planned, resource=resource, backups=[], removed=[], before=None, after=planned,
                          **extra)
        step = self.timings.step
        before_backups = self._cinder_backups(actions)
        containers = self.nova_before(actions) if operation == 'backup' else {}
        started = int(time.time())
        containers.update(self.cinder_before(actions, started))  # cinder mode: watched while the job runs
        with step('create job'):
            job = self.created_job(self.api.create_job(want), client)
        if not self.wait:
            with step('start job'):
                self.api.job_event(job['job_id'], 'start')
            return Result(True, job=job_view(self.api.get_job(job['job_id'])), resource=resource, backups=[],
                          removed=[], before=None, after=None, **extra)
        try:
            with step('start job'):
                self.api.job_event(job['job_id'], 'start')
            final = self._wait_job(job, client)
            with step('verify in Cinder'):
                outcome = self._verify(operation, actions, before_backups, job)
            if session:
                with step('record the manifest'):
                    outcome['manifest'] = self.record_manifest(resource, actions, job, started, outcome)
        except ProtectionError as exc:
            with step('clean up'):
                left = self._cleanup_failed(job, operation, actions, before_backups, name, started, containers)
            raise ProtectionError('%s; %s' % (exc.msg, left), job=job_view(getattr(exc, 'last', None) or job),
                                  resource=resource, **exc.result)
        with step('remove job'):
            removed = self.remove_job_and_actions(final)
        view = job_view(final)
        outcome.update(extra)
        if operation == 'restore':
            outcome['resource_map'] = dict((v['id'], v['id']) for v in outcome['restored'])
        return Result(True, job=view, resource=resource, removed=[final['job_id']] + removed,
                      before=None, after=view, **outcome)

    # -- restore: into the volume, or into a new one (disaster recovery) ----
    def _restore_target(self, resource_id, name, options):
        """(source volume or None, the backup to restore, 'existing' or 'new')."""
        restore_to = options.get('restore_to')
        if restore_to not in (None,) + RESTORE_TO:
            raise ProtectionError('restore_to must be one of %s, got %s' % (', '.join(RESTORE_TO), restore_to))
        try:
            volume = self.find_volume(resource_id)
        except NotFoundError:
            volume = None
        if volume is None:
            if restore_to == 'existing':
                raise NotFoundError('volume %s is gone: Freezer restores only into the existing volume; use '
                                    'restore_to: new to restore its backup %s into a new volume' % (resource_id, name))
            if not looks_like_id(resource_id):
                raise NotFoundError('volume %s: not found; to restore the backups of a deleted volume give its id '
                                    '(Cinder backups keep the id, not the name)' % resource_id)
            backup = self.native.pick(resource_id, name, options, 'deleted volume %s' % resource_id)
            return None, backup, 'new'
        backup = self.native.pick(volume.id, name, options, 'volume %s (%s)' % (volume.name, volume.id))
        return volume, backup, restore_to or 'existing'

    def _restore_new(self, volume, backup, name, options, dry_run):
        source_id = backup.volume_id
        volume_name = options.get('restore_volume_name') or options.get('restore_name') or '%s-restore' % name
        resource = dict(type='volume', id=source_id, name=volume.name if volume is not None else None,
                        volume=volume_view(volume), source_exists=volume is not None)
        common = dict(job=None, resource=resource, backups=[], removed=[], cinder_backups=[backup_view(backup)])
        existing = self.native.restored_copy(backup.id, volume_name)
        if existing is not None:
            view = volume_view(existing)
            return Result(False, restored=[view], resource_map={source_id: existing.id}, before=view, after=view,
                          **common)
        if dry_run:
            planned = dict(id='(would be created)', name=volume_name, size=backup.size,
                           availability_zone=options.get('restore_availability_zone') or backup.availability_zone,
                           volume_type=options.get('restore_volume_type'))
            return Result(True, restored=[planned], resource_map={source_id: planned['id']}, before=None,
                          after=planned, **common)
        with self.timings.step('restore into a new volume'):
            restored = self.native.restore_new(backup, volume_name, name, options)
        view = volume_view(restored)
        return Result(True, restored=[view], resource_map={source_id: restored.id}, before=None, after=view,
                      **common)

    # -- admin of one protection --------------------------------------------
    def _admin_protection(self, resource, actions, name, options, dry_run):
        """cindernative backups of this protection removed through Cinder; other modes (scoped by backup_name in
        their storage by the agent itself) through a Freezer job."""
        native = [a for a in actions if a.get('mode') == 'cindernative']
        doomed = dict((a['cindernative_vol_id'], self.native.to_remove(a['cindernative_vol_id'], name, options))
                      for a in native)
        planned = [b.id for backups in doomed.values() for b in backups]
        others = [a for a in actions if a.get('mode') != 'cindernative']
        if others:
            result = self._run_job(resource, others, name, 'admin', options, dry_run)
        else:
            result = Result(bool(planned), job=None, resource=resource, backups=[], removed=[], before=None,
                            after=None)
        if dry_run:
            result.data['deleted_backups'] = result.data.get('deleted_backups', []) + planned
            result.changed = result.changed or bool(planned)
            return result
        removed, kept = [], []
        with self.timings.step('remove Cinder backups'):
            for volume_id, backups in doomed.items():
                gone, left = self.native.remove(backups)
                removed.extend(gone)
                kept.extend(left)
                self._remove_records(name, volume_id, backups, gone)
        if kept:
            raise ProtectionError('removing the backups of %s failed; removed %s; left behind: %s'
                                  % (name, ', '.join(removed) or 'nothing', ', '.join(kept)),
                                  resource=resource, deleted_backups=removed)
        result.data['deleted_backups'] = result.data.get('deleted_backups', []) + removed
        result.changed = result.changed or bool(removed)
        return result

    def _remove_records(self, name, volume_id, backups, gone):
        """Freezer's records of the removed backups (all of the protection's when none of it is left)."""
        ids = set((b.metadata or {}).get('freezer_backup_id') for b in backups if b.id in gone)
        everything = not self.native.of_protection(volume_id, name)
        for record in self.api.list_backups():
            meta = record.get('backup_metadata') or {}
            if meta.get('backup_name') == name and meta.get('cindernative_vol_id') == volume_id and (
                    everything or record.get('backup_id') in ids):
                self.api.delete_backup(record['backup_id'])

    # -- the job's run ------------------------------------------------------
    @staticmethod
    def _describe_job(job, client):
        return 'freezer job %s (client %s)' % (job['job_id'], client.get('client_id'))

    def _wait_job(self, job, client):
        """Wait for the job's result; timed as two steps, until a scheduler picked it up, then until it ended."""
        describe = self._describe_job(job, client)
        clock = self.timings.clock
        start, picked = clock(), []

        def classify(current):
            if current is None:
                return 'fail', NOT_FOUND
            sched = current.get('job_schedule') or {}
            result, status = sched.get('result') or '', sched.get('status') or ''
            if not picked and (status in PICKED_UP or result or sched.get('time_started', -1) not in (-1, None)):
                picked.append(clock())
            label = 'status=%s result=%s' % (status or '""', result or '""')
            if result in JOB_OK and status not in ACTIVE:
                return 'ok', label
            if result in JOB_FAIL and status not in ACTIVE:
                return 'fail', label
            return 'wait', label

        try:
            def fetch():
                self.watch_cinder()  # a Cinder failure Freezer's cinder-mode agent would wait for forever
                return self.api.get_job(job['job_id'])

            return waiter.poll(fetch, classify, self.timeout, self.poll_interval, describe=describe)
        except WaitTimeout as exc:
            sched = (exc.last or {}).get('job_schedule') or {}
            if (sched.get('status') or '') not in PICKED_UP and sched.get('time_started', -1) in (-1, None):
                reason = ('no freezer-scheduler picked it up within %ss (is a scheduler with client_id %s running '
                          'and polling freezer-api?)' % (self.timeout, client.get('client_id')))
            else:
                reason = 'it did not finish within %ss (last %s)' % (self.timeout, exc.status)
            raise WaitTimeout('%s: %s' % (describe, reason), last=exc.last, status=exc.status)
        except WaitFailed as exc:
            failed = ['%s %s' % (a['freezer_action'].get('action'), a['freezer_action'].get('cindernative_vol_id') or
                                 a['freezer_action'].get('cinder_vol_id') or a['freezer_action'].get('nova_inst_id'))
                      for a in (exc.last or job).get('job_actions') or []]
            raise WaitFailed('%s ended with %s: Freezer reports the job %s (actions: %s); freezer-api keeps no '
                             'further reason - the freezer-agent error is in the log of the scheduler of client %s'
                             % (describe, exc.status, 'aborted' if 'aborted' in str(exc.status) else 'failed',
                                '; '.join(failed), client.get('client_id')), last=exc.last, status=exc.status)
        finally:
            end = clock()
            self.timings.add('wait for scheduler pickup', (picked[0] if picked else end) - start)
            if picked:
                self.timings.add('wait for job result', end - picked[0])

    def _cinder_backups(self, actions):
        vol_ids = sorted(set(a['cindernative_vol_id'] for a in actions if a.get('cindernative_vol_id')))
        return dict((vol_id, dict((b.id, b) for b in self.conn.block_storage.backups(details=True, volume_id=vol_id)
                                  if b.volume_id == vol_id)) for vol_id in vol_ids)

    def _get_backup(self, backup_id):
        return get_or_none(self.conn.block_storage.get_backup, backup_id)

    def _verify(self, operation, actions, before, job):
        """Freezer's cindernative agent returns before Cinder finished: wait for Cinder's own result."""
        native = [a for a in actions if a.get('mode') == 'cindernative']
        outcome = dict(backups=[], cinder_backups=[], deleted_backups=[], restored=[])
        for action in native:
            vol_id = action['cindernative_vol_id']
            if operation == 'backup':
                new = [b for b in self.conn.block_storage.backups(details=True, volume_id=vol_id)
                       if b.volume_id == vol_id and b.id not in before.get(vol_id, {})
                       and b.name == action['backup_name']]
                if not new:
                    raise ProtectionError('freezer job %s reported success but Cinder has no new backup %s of volume '
                                          '%s' % (job['job_id'], action['backup_name'], vol_id))
                outcome['cinder_backups'].extend(backup_view(self._wait_backup(b, vol_id)) for b in new)
            elif operation == 'restore':
                volume = self.wait_for(lambda v=vol_id: get_or_none(self.conn.block_storage.get_volume, v),
                                       cinder.RESTORED_OK, cinder.RESTORED_FAIL, cinder.VOLUME_TRANSIENT,
                                       describe='restore of volume %s' % vol_id)
                outcome['restored'].append(volume_view(volume))
            else:
                for backup in [b for b in before.get(vol_id, {}).values() if made_by_freezer(b)]:
                    if self._get_backup(backup.id) is not None and self._admin_removes_all(action):
                        self.wait_for(lambda b=backup: self._get_backup(b.id), cinder.GONE,
                                      fail=cinder.BACKUP_DELETE_FAIL,
                                      describe='deletion of Cinder backup %s of volume %s' % (backup.id, vol_id))
                    if self._get_backup(backup.id) is None:
                        outcome['deleted_backups'].append(backup.id)
        if operation == 'backup':
            self.verify_nova_backup(actions, job)
            self.verify_cinder_backup(actions, job)
            self.record_boot_servers(outcome['cinder_backups'])  # a volume-booted server's restore needs it
        outcome['backups'] = self._freezer_records(actions, operation)
        return outcome

    @staticmethod
    def _admin_removes_all(action):
        return action.get('remove_older_than') == 0 and not action.get('fullbackup_rotation')

    def _wait_backup(self, backup, vol_id):
        try:
            return self.wait_for(lambda: self._get_backup(backup.id), cinder.BACKUP_OK, cinder.BACKUP_FAIL,
                                 cinder.BACKUP_TRANSIENT,
                                 describe='Cinder backup %s (%s) of volume %s' % (backup.name, backup.id, vol_id))
        except WaitFailed as exc:
            reason = getattr(exc.last, 'fail_reason', None) if exc.last is not None else None
            raise ProtectionError('%s%s' % (exc.msg, ' (Cinder: %s)' % reason if reason else ''),
                                  cinder_backups=[backup_view(exc.last)])

    def _freezer_records(self, actions, operation):
        """Freezer backup records of these actions' resources and protection (operation backup: the new ones)."""
        if operation != 'backup':
            return []
        vol_ids = set(a.get('cindernative_vol_id') or a.get('cinder_vol_id') for a in actions)
        inst_ids = set(a.get('nova_inst_id') for a in actions)
        names = set(a['backup_name'] for a in actions)
        records = []
        for record in self.api.list_backups():
            meta = record.get('backup_metadata') or {}
            if meta.get('backup_name') in names and (
                    (meta.get('cindernative_vol_id') or meta.get('cinder_vol_id')) in vol_ids
                    or meta.get('nova_inst_id') in inst_ids):
                records.append(dict(backup_id=record.get('backup_id'), status=record.get('status'),
                                    backup_metadata=redact_action(meta)))
        return records

    # -- after a failure ----------------------------------------------------
    def _cleanup_failed(self, job, operation, actions, before, name, started, containers=None):
        """After a failed or timed-out job: remove it, its actions, the Cinder backups and Freezer records it left."""
        notes, kept = [], []
        try:
            current = self.api.get_job(job['job_id']) or job
            if ((current.get('job_schedule') or {}).get('status') or '') in ACTIVE:
                current = self.abort_job(current)
            self.remove_job_and_actions(current)
            notes.append('the job and its actions were removed')
        except Exception as exc:  # pylint: disable=broad-except
            kept.append('job %s (%s)' % (job['job_id'], reason_of(exc, self.conn)))
        if operation == 'backup':
            vol_ids = set(a['cindernative_vol_id'] for a in actions if a.get('cindernative_vol_id'))
            for vol_id in sorted(vol_ids):
                left = [b for b in self.native.of_protection(vol_id, name) if b.id not in before.get(vol_id, {})]
                gone, failed = self.native.remove(sorted(left, key=lambda b: str(b.created_at or ''), reverse=True))
                notes.extend('Cinder backup %s was removed' % b for b in gone)
                kept.extend(failed)
            try:
                for record in self.api.list_backups():
                    meta = record.get('backup_metadata') or {}
                    if meta.get('backup_name') == name and meta.get('cindernative_vol_id') in vol_ids and \
                            (meta.get('time_stamp') or 0) >= started - 1:
                        self.api.delete_backup(record['backup_id'])
                        notes.append('Freezer backup record %s was removed' % record['backup_id'])
            except Exception as exc:  # pylint: disable=broad-except
                kept.append('Freezer backup records of %s (%s)' % (name, reason_of(exc, self.conn)))
            nova_notes, nova_kept = self.cleanup_nova_backup(job, actions, containers or {}, started)
            notes.extend(nova_notes)
            kept.extend(nova_kept)
            cinder_notes, cinder_kept = self.cleanup_cinder_backup(job, actions, containers or {})
            notes.extend(cinder_notes)
            kept.extend(cinder_kept)
        text = ', '.join(notes) if notes else 'nothing to clean up'
        if kept:
            text += '; left behind: %s' % ', '.join(kept)
        return text

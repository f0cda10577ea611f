# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Managed (scheduled) Freezer jobs: found by the protection, kept equal to the wanted document
(compare-and-update), started / stopped with job events, removed with their actions.

The job helpers the one-shot operations share (client check, creation with the
trust check, removal with the actions) live here too.
"""

from __future__ import annotations

import copy

from ansible_collections.dataprotection.openstack.plugins.module_utils import waiter
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    ConflictError,
    NotFoundError,
    ProtectionError,
    WaitTimeout,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.api import (
    FreezerAPI,
    FreezerAPIError,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.plan import FreezerPlan
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.views import (
    ACTIVE,
    NOT_ALONE,
    SCHEDULE_KEYS,
    action_core,
    job_view,
    schedule_doc,
)


class FreezerJobs(FreezerPlan):
    """Managed Freezer jobs of a protection (resource + backup_name)."""

    def __init__(self, conn, api=None, interface=None, **kwargs):
        super().__init__(conn, **kwargs)
        self._api = api
        self._interface = interface

    @property
    def api(self):
        if self._api is None:
            self._api = FreezerAPI(self.conn, interface=self._interface)
        return self._api

    # -- job helpers ------------------------------------------------------
    @staticmethod
    def is_ours(job, name, job_name):
        """A managed job: its description is the job name and every action carries this backup_name."""
        actions = [a.get('freezer_action') or {} for a in job.get('job_actions') or []]
        return bool(actions) and (job.get('description') or '') == job_name and all(
            a.get('backup_name') == name for a in actions)

    def find_jobs(self, name, job_name):
        return [j for j in self.api.list_jobs() if self.is_ours(j, name, job_name)]

    def check_client(self, client_id):
        client = self.api.get_client(client_id)
        if client is None:
            raise NotFoundError('freezer client %s is not registered in project %s: start a freezer-scheduler with '
                                'this client_id (it registers itself) or register it first'
                                % (client_id, self.api.project_id))
        return client

    @staticmethod
    def differences(job, want):
        """Names of the fields where the existing job differs from the wanted document."""
        diffs = []
        if (job.get('description') or '') != (want.get('description') or ''):
            diffs.append('description')
        if job.get('client_id') != want.get('client_id'):
            diffs.append('client_id')
        have_schedule = dict((k, v) for k, v in (job.get('job_schedule') or {}).items() if k in SCHEDULE_KEYS)
        if have_schedule != want['job_schedule']:
            diffs.append('job_schedule')
        have = [(action_core(a.get('freezer_action')), a.get('max_retries'), a.get('max_retries_interval'),
                 bool(a.get('mandatory'))) for a in job.get('job_actions') or []]
        wanted = [(action_core(a['freezer_action']), a['max_retries'], a['max_retries_interval'],
                   bool(a['mandatory'])) for a in want['job_actions']]
        if have != wanted:
            diffs.append('job_actions')
        return diffs

    def created_job(self, job_id, client):
        """The job just created, refused (and removed) when a central client's job came back without a trust."""
        job = self.api.get_job(job_id)
        if job is None:
            raise ProtectionError('freezer job %s vanished right after creation' % job_id)
        if client.get('is_central') and not (job.get('user_credentials') or {}).get('trust_id'):
            self.remove_job_and_actions(job)
            raise ProtectionError('freezer job %s for central client %s came back without user_credentials: '
                                  'freezer-api created no trust (is [centralized_scheduler] enabled on the API?); '
                                  'the job was removed' % (job_id, client.get('client_id')))
        return job

    def abort_job(self, job, limit=60):
        """Send ``abort`` to a running job and wait (at most ``limit`` s) until its scheduler stopped the agent: a job
        deleted first leaves its agent running (Freezer's agents loop forever on some failures)."""
        try:
            self.api.job_event(job['job_id'], 'abort')
        except FreezerAPIError:
            return job

        def classify(current):
            status = ((current or {}).get('job_schedule') or {}).get('status') or ''
            return ('wait' if status in ACTIVE else 'ok'), status

        try:
            return waiter.poll(lambda: self.api.get_job(job['job_id']), classify, min(self.timeout or limit, limit),
                               self.poll_interval, describe='abort of freezer job %s' % job['job_id'])
        except WaitTimeout as exc:
            return exc.last or job

    def remove_job_and_actions(self, job):
        """Delete a job and the actions it created (freezer-api keeps actions when a job is deleted)."""
        action_ids = [a.get('action_id') for a in job.get('job_actions') or [] if a.get('action_id')]
        self.api.delete_job(job['job_id'])
        for action_id in action_ids:
            self.api.delete_action(action_id)
        return action_ids

    @staticmethod
    def nothing(resource_type, resource):
        if resource_type in NOT_ALONE:
            msg = ('%s resources are not backed up on their own: protect the servers that use them (a server backup '
                   'records its image and networks)' % resource_type)
        else:
            msg = 'nothing to protect in %s %s' % (resource_type, resource.get('id'))
        return Result(False, job=None, resource=resource, msg=msg, backups=[], before=None, after=None)

    # -- managed jobs -----------------------------------------------------
    def _wanted(self, resource_type, resource_id, name, options):
        resource, actions = self.plan(resource_type, resource_id, 'backup', name, options)
        if not actions:
            return resource, None
        job_name = options.get('description') or self.default_job_name(name, resource)
        if options.get('remove_older_than') is not None or options.get('fullbackup_rotation'):
            _unused, admin = self.plan(resource_type, resource['id'], 'admin', name,
                                       dict(options, extra_action_options=None))
            actions = actions + admin
        return resource, self.job_doc(job_name, options['client_id'], actions, schedule_doc(options.get('schedule')),
                                      options.get('max_retries') or 0, options.get('max_retries_interval') or 10)

    def ensure_job(self, resource_type, resource_id, name, options, state='present', dry_run=False):
        resource, want = self._wanted(resource_type, resource_id, name, options)
        if want is None:
            return self.nothing(resource_type, resource)
        jobs = self.find_jobs(name, want['description'])
        if len(jobs) > 1:
            raise ConflictError('%d freezer jobs are named %r with backup_name %s (%s); remove the extra ones'
                                % (len(jobs), want['description'], name, ', '.join(j['job_id'] for j in jobs)))
        job = jobs[0] if jobs else None
        before = job_view(job)
        client = self.check_client(options['client_id'])
        changed, events, diffs = False, [], []
        if job is None:
            changed = True
            if dry_run:
                after = job_view(dict(want, job_id='(would be created)'))
                events = ['start'] if state == 'started' else []
                return Result(True, job=after, resource=resource, events=events, updated=[], before=None,
                              after=after)
            job = self.created_job(self.api.create_job(want), client)
        else:
            diffs = self.differences(job, want)
            if diffs:
                changed = True
                job = self._planned_update(job, want, diffs) if dry_run else self._update(job, want, diffs)
        schedule = job.get('job_schedule') or {}
        status, event_now = schedule.get('status') or '', schedule.get('event') or ''
        if state == 'started' and status not in ACTIVE and event_now != 'start':
            events.append('start')
        if state == 'stopped' and (status in ACTIVE or event_now == 'start'):
            events.append('stop')
        if events:
            changed = True
            if not dry_run:
                for event in events:
                    self.api.job_event(job['job_id'], event)
                job = self.api.get_job(job['job_id'])
        after = job_view(job)
        return Result(changed, job=after, resource=resource, events=events, updated=diffs, before=before, after=after)

    @staticmethod
    def _planned_update(job, want, diffs):
        planned = copy.deepcopy(job)
        planned.update(dict((k, want[k]) for k in diffs))
        return planned

    def _update(self, job, want, diffs):
        patch = dict((k, want[k]) for k in ('description', 'client_id', 'job_schedule', 'job_actions') if k in diffs)
        if 'job_schedule' in patch:
            kept = dict((k, v) for k, v in (job.get('job_schedule') or {}).items() if k not in SCHEDULE_KEYS)
            patch['job_schedule'] = dict(kept, **want['job_schedule'])
        old_actions = [a.get('action_id') for a in job.get('job_actions') or []]
        self.api.update_job(job['job_id'], patch)
        job = self.api.get_job(job['job_id'])
        if 'job_actions' in patch:
            new_actions = set(a.get('action_id') for a in job.get('job_actions') or [])
            for action_id in old_actions:
                if action_id and action_id not in new_actions:
                    self.api.delete_action(action_id)
        return job

    def remove_job(self, resource_type, resource_id, name, options, dry_run=False):
        if resource_type in NOT_ALONE:
            return self.nothing(resource_type, dict(type=resource_type, id=resource_id))
        try:
            resource, _actions = self.plan(resource_type, resource_id, 'backup', name, options)
            job_names = [options.get('description') or self.default_job_name(name, resource)]
        except NotFoundError:
            # the resource is gone: its job is still found by name (any id when no description is given)
            resource = dict(type=resource_type, id=resource_id)
            job_names = [options.get('description')] if options.get('description') else None
        prefix = '%s (%s ' % (name, resource_type)
        jobs = [j for j in self.api.list_jobs()
                if (self.is_ours(j, name, j.get('description') or '') and
                    ((job_names is None and (j.get('description') or '').startswith(prefix)) or
                     (job_names is not None and j.get('description') in job_names)))]
        before = [job_view(j) for j in jobs]
        if not dry_run:
            for job in jobs:
                if ((job.get('job_schedule') or {}).get('status') or '') in ACTIVE:
                    try:
                        self.api.job_event(job['job_id'], 'stop')
                    except FreezerAPIError:
                        pass  # deleting it removes it from the scheduler anyway
                self.remove_job_and_actions(job)
        return Result(bool(jobs), job=None, resource=resource, removed=[j['job_id'] for j in jobs],
                      before=dict(jobs=before), after=dict(jobs=[]))

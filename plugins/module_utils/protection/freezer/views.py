# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Freezer's vocabulary and what the modules return: job statuses, job documents with secrets redacted,
the ``schedule`` option as job_schedule keys, and the Cinder views as a Freezer result shows them."""

from __future__ import annotations

import copy

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import cinder
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import looks_like_id

RESOURCE_TYPES = ('project', 'server', 'volume', 'image', 'network')
NOT_ALONE = ('image', 'network')
OPERATIONS = ('backup', 'restore', 'admin')
VOLUME_MODES = ('cindernative', 'cinder')


def found_or_gone(find, kind, resource_id):
    """``find(resource_id)`` for a restore, or None when the resource is gone and was given by id: Freezer keeps the
    id, not the name, so a deleted resource's backups are found by its id only."""
    try:
        return find(resource_id)
    except NotFoundError:
        if not looks_like_id(resource_id):
            raise NotFoundError('%s %s: not found; to restore the backups of a deleted %s give its id (Freezer keeps '
                                'the id, not the name)' % (kind, resource_id, kind))
        return None


JOB_OK = frozenset(['success'])
JOB_FAIL = frozenset(['fail', 'aborted'])
# job_schedule.status values meaning a scheduler took the job.
PICKED_UP = frozenset(['scheduled', 'running', 'completed', 'aborting', 'stop'])
ACTIVE = frozenset(['scheduled', 'running'])

# job_schedule keys the module manages (the rest belongs to the scheduler).
SCHEDULE_KEYS = ('schedule_interval', 'schedule_date', 'schedule_start_date', 'schedule_end_date',
                 'schedule_month', 'schedule_day', 'schedule_day_of_week', 'schedule_hour', 'schedule_minute')
CRON_FIELDS = ('schedule_minute', 'schedule_hour', 'schedule_day', 'schedule_month', 'schedule_day_of_week')
# freezer_action keys that hold secrets: never returned.
SECRET_ACTION_KEYS = frozenset(['ssh_password', 'ftp_password', 'secret_key', 'access_key', 'os_trust_id',
                                'os_password', 'password', 'encrypt_pass_file'])
REDACTED = '********'
# keys the API adds to an action it stores, ignored when comparing
API_ACTION_NULLS = ('container', 'timeout', 'priority', 'path_to_backup', 'log_file')


def redact_action(action):
    action = dict(action or {})
    for key in list(action):
        if key in SECRET_ACTION_KEYS and action[key] not in (None, ''):
            action[key] = REDACTED
    return action


def job_view(job):
    """The job as returned to the user: trust ids and secrets redacted."""
    if job is None:
        return None
    view = copy.deepcopy(job)
    if view.get('user_credentials'):
        view['user_credentials'] = dict((k, REDACTED) for k in view['user_credentials'])
    for entry in view.get('job_actions') or []:
        entry['freezer_action'] = redact_action(entry.get('freezer_action'))
    return view


def volume_view(volume):
    """The shared Cinder volume view, with the boot flag and the device of each attachment (servers are found
    through them)."""
    if volume is None:
        return None
    return dict(cinder.volume_view(volume), bootable=getattr(volume, 'is_bootable', None),
                attachments=cinder.attachment_details(volume))


backup_view = cinder.backup_view


def action_core(action):
    """A freezer_action without the null keys the API adds, for comparisons."""
    return dict((k, v) for k, v in (action or {}).items() if not (k in API_ACTION_NULLS and v is None))


def schedule_doc(schedule):
    """job_schedule keys from the module's ``schedule`` option (interval / cron / date / start / end)."""
    schedule = dict(schedule or {})
    doc = {}
    kinds = [k for k in ('interval', 'cron', 'date') if schedule.get(k)]
    if len(kinds) > 1:
        raise ProtectionError('schedule: give only one of interval, cron or date (got %s)' % ', '.join(kinds))
    if schedule.get('interval'):
        doc['schedule_interval'] = str(schedule['interval'])
    if schedule.get('date'):
        doc['schedule_date'] = str(schedule['date'])
    if schedule.get('cron'):
        fields = str(schedule['cron']).split()
        if len(fields) != 5:
            raise ProtectionError('schedule.cron must have 5 fields (minute hour day month day_of_week), got %r'
                                  % schedule['cron'])
        doc.update(zip(CRON_FIELDS, fields))
    for key in ('start_date', 'end_date'):
        if schedule.get(key):
            doc['schedule_' + key] = str(schedule[key])
    unknown = sorted(set(schedule) - set(['interval', 'cron', 'date', 'start_date', 'end_date']))
    if unknown:
        raise ProtectionError('schedule: unknown keys %s (use interval, cron, date, start_date, end_date)'
                              % ', '.join(unknown))
    return doc

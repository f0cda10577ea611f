# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Freezer job protection (the seed's "Freezer protection plugin").

protect = a Freezer job with ``backup`` actions for the resource, restore = a
job with ``restore`` actions, delete = a job with ``admin`` actions that
remove the backups. Two ways to use it:

* a managed job (``ensure_job`` / ``remove_job``): a scheduled job found by
  the collection's markers in its actions (protection name + resource), kept
  equal to the wanted document (compare-and-update), started / stopped with
  job events;
* a one-shot operation (``run_operation``): create the job, send ``start``,
  wait for ``job_schedule.result`` through the shared waiter, verify the
  outcome in Cinder (Freezer's cindernative agent reports success before the
  Cinder backup or restore finished), then remove the job and its actions.
  A job no freezer-scheduler picks up fails at ``timeout`` with that reason.

Freezer is reached with plain REST through the openstacksdk connection's
keystoneauth session (catalog type ``backup``): one connection factory.
Resource types: volume (Cinder backup, ``cindernative`` by default or
``cinder`` through Glance), server (image-booted: ``nova`` mode with the
image and networks recorded; volume-booted: its system volume backed up),
project (all its servers and volumes), image and network (not backed up on
their own: no job).
"""

from __future__ import annotations

import copy
import time

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils import waiter
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import (
    ConflictError,
    NotFoundError,
    ProtectionError,
    WaitFailed,
    WaitTimeout,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    ProtectionDriver,
    Result,
    looks_like_id,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_snapshot import (
    CinderSnapshotDriver,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.timings import Timings
from ansible_collections.dataprotection.openstack.plugins.module_utils.waiter import NOT_FOUND

RESOURCE_TYPES = ('project', 'server', 'volume', 'image', 'network')
NOT_ALONE = ('image', 'network')
OPERATIONS = ('backup', 'restore', 'admin')
VOLUME_MODES = ('cindernative', 'cinder')

# freezer-api accepts extra keys in a freezer_action, but freezer-agent 19 dies
# on any key it does not know ("'NoneType' object has no attribute 'replace'"),
# so the collection writes no markers into actions. A managed job is identified
# by its description (Freezer's job name) and the backup_name of its actions.

JOB_OK = frozenset(['success'])
JOB_FAIL = frozenset(['fail', 'aborted'])
# job_schedule.status values meaning a scheduler took the job.
PICKED_UP = frozenset(['scheduled', 'running', 'completed', 'aborting', 'stop'])
ACTIVE = frozenset(['scheduled', 'running'])

BACKUP_OK = frozenset(['available'])
BACKUP_FAIL = frozenset(['error', 'error_deleting', NOT_FOUND])
BACKUP_TRANSIENT = frozenset(['creating', 'backing-up', 'deleting', 'restoring'])
BACKUP_GONE = frozenset([NOT_FOUND, 'deleted'])
VOLUME_OK = frozenset(['available', 'in-use'])
VOLUME_FAIL = frozenset(['error', 'error_restoring', 'error_backing-up', NOT_FOUND])
VOLUME_TRANSIENT = frozenset(['restoring-backup', 'backing-up', 'attaching', 'detaching', 'reserved', 'creating'])

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


class FreezerAPIError(ProtectionError):
    """freezer-api refused a request; ``status`` is the HTTP status."""

    def __init__(self, msg, status=None, **result):
        super().__init__(msg, **result)
        self.status = status


def _describe_response(response):
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ('title', 'description', 'message', 'error') if body.get(k)]
        if parts:
            return ': '.join(parts)
    text = (getattr(response, 'text', '') or '').strip()
    return text[:300] or getattr(response, 'reason', '') or 'no reason given'


class FreezerAPI:
    """freezer-api v2 over the keystoneauth session of an openstacksdk connection."""

    def __init__(self, conn, interface=None, endpoint=None):
        self.session = conn.session
        self.project_id = conn.current_project_id
        self.endpoint = (endpoint or self.session.get_endpoint(service_type='backup',
                                                               interface=interface or 'public')).rstrip('/')

    def url(self, *parts):
        return '/'.join([self.endpoint, 'v2', self.project_id] + [str(p) for p in parts])

    def request(self, method, *parts, **kwargs):
        """One call; returns the decoded body (None for 404 when ``missing_ok``)."""
        missing_ok = kwargs.pop('missing_ok', False)
        what = kwargs.pop('what', '/'.join(str(p) for p in parts))
        response = self.session.request(self.url(*parts), method, raise_exc=False, **kwargs)
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            reason = _describe_response(response)
            raise FreezerAPIError('freezer-api %s %s: HTTP %s: %s' % (method, what, response.status_code, reason),
                                  status=response.status_code)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            return {}

    # -- jobs -------------------------------------------------------------
    def list_all(self, collection, page=100):
        """Every item of a paginated freezer-api collection (``jobs``, ``backups``)."""
        items, offset = [], 0
        while True:
            body = self.request('GET', collection, params=dict(limit=page, offset=offset), what=collection)
            batch = body.get(collection) or []
            items.extend(batch)
            if len(batch) < page:
                return items
            offset += page

    def list_jobs(self, page=100):
        return self.list_all('jobs', page)

    def get_job(self, job_id):
        return self.request('GET', 'jobs', job_id, missing_ok=True, what='job %s' % job_id)

    def create_job(self, doc):
        """POST to the collection URL: the only path on which freezer-api creates a trust (central clients)."""
        if 'job_id' in doc:
            raise ValueError('create_job never sends a job_id (the replace path creates no trust)')
        return self.request('POST', 'jobs', json=doc, what='jobs')['job_id']

    def update_job(self, job_id, patch):
        return self.request('PATCH', 'jobs', job_id, json=patch, what='job %s' % job_id)

    def delete_job(self, job_id):
        return self.request('DELETE', 'jobs', job_id, missing_ok=True, what='job %s' % job_id)

    def job_event(self, job_id, event):
        return self.request('POST', 'jobs', job_id, 'event', json={event: None},
                            what='event %s of job %s' % (event, job_id))

    # -- actions, clients, backups ----------------------------------------
    def delete_action(self, action_id):
        return self.request('DELETE', 'actions', action_id, missing_ok=True, what='action %s' % action_id)

    def get_action(self, action_id):
        return self.request('GET', 'actions', action_id, missing_ok=True, what='action %s' % action_id)

    def get_client(self, client_id):
        body = self.request('GET', 'clients', client_id, missing_ok=True, what='client %s' % client_id)
        if not body:
            return None
        return body.get('client', body)

    def list_backups(self, page=100):
        return self.list_all('backups', page)

    def delete_backup(self, backup_id):
        return self.request('DELETE', 'backups', backup_id, missing_ok=True, what='backup %s' % backup_id)


# -- views ------------------------------------------------------------------
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
    if volume is None:
        return None
    return dict(id=volume.id, name=volume.name, status=volume.status, size=volume.size,
                availability_zone=volume.availability_zone, bootable=getattr(volume, 'is_bootable', None),
                attachments=[dict(server_id=a.get('server_id'), device=a.get('device'))
                             for a in (volume.attachments or [])])


def backup_view(backup):
    if backup is None:
        return None
    return dict(id=backup.id, name=backup.name, status=backup.status, volume_id=backup.volume_id,
                size=getattr(backup, 'size', None), created_at=getattr(backup, 'created_at', None),
                is_incremental=getattr(backup, 'is_incremental', None),
                metadata=dict(getattr(backup, 'metadata', None) or {}))


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


def _action_core(action):
    """A freezer_action without the null keys the API adds, for comparisons."""
    return dict((k, v) for k, v in (action or {}).items() if not (k in API_ACTION_NULLS and v is None))


class FreezerJobDriver(ProtectionDriver):
    resource_kind = 'resource'

    def __init__(self, conn, api=None, interface=None, clock=time.monotonic, **kwargs):
        super().__init__(conn, **kwargs)
        self._api = api
        self._interface = interface
        self.clock = clock
        self.timings = Timings(clock=clock)  # the steps of run_operation, for the module's ``timings``

    @property
    def api(self):
        if self._api is None:
            self._api = FreezerAPI(self.conn, interface=self._interface)
        return self._api

    # -- resource lookups -------------------------------------------------
    def find_volume(self, name_or_id):
        """The volume by id or unique name, refused when it belongs to another project (the snapshot driver's lookup)."""
        return CinderSnapshotDriver(self.conn).find_source(name_or_id)

    def _get_volume(self, volume_id):
        try:
            return self.conn.block_storage.get_volume(volume_id)
        except Exception as exc:  # pylint: disable=broad-except
            if os_connection.is_not_found(exc):
                return None
            raise

    def _get_backup(self, backup_id):
        try:
            return self.conn.block_storage.get_backup(backup_id)
        except Exception as exc:  # pylint: disable=broad-except
            if os_connection.is_not_found(exc):
                return None
            raise

    def has_compute(self):
        """Whether the catalog has Nova (the local test cloud has none)."""
        try:
            self.conn.compute.get_endpoint()
            return True
        except Exception as exc:  # pylint: disable=broad-except
            if type(exc).__name__ in ('ServiceDisabledException', 'EndpointNotFound') or \
                    'not present in the service catalog' in str(exc) or 'not found' in str(exc):
                return False
            raise

    def attached_volumes(self, server_id):
        """Cinder's view of a server's volumes: [(volume, device)], boot device first."""
        found = []
        for volume in self.conn.block_storage.volumes(details=True):
            for attachment in volume.attachments or []:
                if attachment.get('server_id') == server_id:
                    found.append((volume, attachment.get('device') or ''))
        return sorted(found, key=lambda pair: (pair[1] not in ('/dev/vda', '/dev/sda', '/dev/xvda'), pair[1]))

    def find_server(self, name_or_id):
        """A dict describing the server: id, name, image_id, networks, boot_volume (volume or None).

        With Nova the server, its image and networks come from Nova and the boot volume from Cinder
        attachments at the root device. Without Nova in the catalog (the local test cloud) a server id is
        resolved from Cinder attachments alone: it is volume-booted when a bootable volume is attached at the
        root device.
        """
        if self.has_compute():
            server = self.conn.compute.find_server(name_or_id, ignore_missing=True)
            if server is None:
                raise NotFoundError('server %s: not found' % name_or_id)
            image = server.image or {}
            image_id = image.get('id') if isinstance(image, dict) else image
            networks = sorted((server.addresses or {}).keys())
            root = getattr(server, 'root_device_name', None) or '/dev/vda'
            boot = None
            if not image_id:
                attached = self.attached_volumes(server.id)
                on_root = [v for v, dev in attached if dev == root] or [v for v, dev in attached
                                                                        if getattr(v, 'is_bootable', False)]
                if not on_root:
                    raise ProtectionError('server %s (%s) is volume-booted but Cinder shows no volume attached at %s'
                                          % (server.name, server.id, root))
                boot = on_root[0]
            return dict(id=server.id, name=server.name, image_id=image_id or None, networks=networks,
                        boot_volume=boot, source='nova')
        if not looks_like_id(name_or_id):
            raise NotFoundError('server %s: the cloud has no compute service, so servers are found by id only '
                                '(through Cinder attachments)' % name_or_id)
        attached = self.attached_volumes(name_or_id)
        boot = [v for v, dev in attached if getattr(v, 'is_bootable', False)]
        if not boot:
            raise NotFoundError('server %s: the cloud has no compute service and Cinder shows no bootable volume '
                                'attached to it' % name_or_id)
        return dict(id=name_or_id, name=None, image_id=None, networks=[], boot_volume=boot[0],
                    source='cinder-attachments')

    def list_servers(self):
        if not self.has_compute():
            return None
        return list(self.conn.compute.servers(details=True))

    # -- action planning --------------------------------------------------
    def _volume_action(self, operation, volume, name, options, resource):
        mode = options.get('volume_mode') or 'cindernative'
        action = dict(action=operation, backup_name=name)
        if mode == 'cindernative':
            action.update(mode='cindernative', cindernative_vol_id=volume.id)
            if operation == 'restore' and options.get('restore_backup_id'):
                action['cindernative_backup_id'] = options['restore_backup_id']
            if options.get('container') and operation == 'backup':
                action['cindernative_backup_container'] = options['container']
            if options.get('incremental') and operation == 'backup':
                action['incremental'] = True
        else:
            action.update(mode='cinder', cinder_vol_id=volume.id)
            self._storage(action, options)
        if operation == 'admin':
            self._retention(action, options, default_all=True)
        if operation == 'restore' and options.get('restore_from_date'):
            action['restore_from_date'] = options['restore_from_date']
        return self._mark(action, name, resource, options)

    def _nova_action(self, operation, server, name, options, resource):
        action = dict(action=operation, backup_name=name, mode='nova', engine_name='nova',
                      nova_inst_id=server['id'])
        self._storage(action, options)
        if operation == 'restore':
            if options.get('restore_network'):
                action['nova_restore_network'] = options['restore_network']
            if options.get('restore_from_date'):
                action['restore_from_date'] = options['restore_from_date']
        if operation == 'admin':
            self._retention(action, options, default_all=True)
        return self._mark(action, name, resource, options)

    @staticmethod
    def _storage(action, options):
        storage = options.get('storage') or 'swift'
        action['storage'] = storage
        action['container'] = options.get('container') or 'freezer_%s' % action['backup_name']
        if options.get('engine_name') and action.get('mode') != 'nova':
            action['engine_name'] = options['engine_name']

    @staticmethod
    def _retention(action, options, default_all=False):
        if options.get('fullbackup_rotation'):
            action['fullbackup_rotation'] = int(options['fullbackup_rotation'])
        elif options.get('remove_older_than') is not None:
            action['remove_older_than'] = options['remove_older_than']
        elif default_all:
            action['remove_older_than'] = 0

    @staticmethod
    def _mark(action, name, resource, options):  # pylint: disable=unused-argument
        for key, value in (options.get('extra_action_options') or {}).items():
            action.setdefault(key, value)
        return action

    def plan(self, resource_type, resource_id, operation, name, options):
        """(resource view, [freezer_action]) for one resource; no mutation."""
        if resource_type not in RESOURCE_TYPES:
            raise ProtectionError('resource_type must be one of %s, got %s' % (', '.join(RESOURCE_TYPES),
                                                                               resource_type))
        if resource_type in NOT_ALONE:
            return dict(type=resource_type, id=resource_id), []
        if resource_type == 'volume':
            volume = self.find_volume(resource_id)
            resource = 'volume:%s' % volume.id
            return (dict(type='volume', id=volume.id, name=volume.name, volume=volume_view(volume)),
                    [self._volume_action(operation, volume, name, options, resource)])
        if resource_type == 'server':
            server = self.find_server(resource_id)
            resource = 'server:%s' % server['id']
            return self._server_view(server), [self._server_action(operation, server, name, options, resource)]
        return self._plan_project(resource_id, operation, name, options)

    @staticmethod
    def _server_view(server):
        view = dict(type='server', id=server['id'], name=server.get('name'), image_id=server.get('image_id'),
                    networks=server.get('networks') or [], source=server.get('source'),
                    boot='volume' if server.get('boot_volume') is not None else 'image')
        if server.get('boot_volume') is not None:
            view['boot_volume'] = volume_view(server['boot_volume'])
        return view

    def _server_action(self, operation, server, name, options, resource):
        if server.get('boot_volume') is not None:
            return self._volume_action(operation, server['boot_volume'], name, options, resource)
        return self._nova_action(operation, server, name, options, resource)

    def _plan_project(self, resource_id, operation, name, options):
        project_id = self.conn.current_project_id
        if resource_id and resource_id != project_id:
            try:
                project = self.conn.identity.find_project(resource_id, ignore_missing=True)
            except Exception:  # pylint: disable=broad-except
                project = None  # members may not read projects; the id check below still applies
            if project is None or project.id != project_id:
                raise ProtectionError('project %s: a tenant backup runs in the project the credentials are scoped '
                                      'to (%s); scope the connection to that project' % (resource_id, project_id))
        resource = 'project:%s' % project_id
        actions, covered, servers_view = [], set(), []
        servers = self.list_servers()
        for server in servers or []:
            image = server.image or {}
            image_id = image.get('id') if isinstance(image, dict) else image
            info = dict(id=server.id, name=server.name, image_id=image_id or None,
                        networks=sorted((server.addresses or {}).keys()), boot_volume=None, source='nova')
            if not image_id:
                info = self.find_server(server.id)
            if info.get('boot_volume') is not None:
                covered.add(info['boot_volume'].id)
            servers_view.append(self._server_view(info))
            actions.append(self._server_action(operation, info, name, options, resource))
        volumes = sorted(self.conn.block_storage.volumes(details=True), key=lambda v: (v.name or '', v.id))
        volume_ids = []
        for volume in volumes:
            if volume.id in covered:
                continue
            volume_ids.append(volume.id)
            actions.append(self._volume_action(operation, volume, name, options, resource))
        view = dict(type='project', id=project_id, servers=servers_view, volumes=volume_ids,
                    compute=servers is not None)
        return view, actions

    # -- job documents ----------------------------------------------------
    @staticmethod
    def job_doc(description, client_id, actions, schedule=None, max_retries=0, max_retries_interval=10):
        return dict(description=description, client_id=client_id, job_schedule=dict(schedule or {}),
                    job_actions=[dict(freezer_action=a, max_retries=max_retries,
                                      max_retries_interval=max_retries_interval, mandatory=False)
                                 for a in actions])

    @staticmethod
    def default_job_name(name, resource):
        return '%s (%s %s)' % (name, resource['type'], resource['id'])

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
        have = [(_action_core(a.get('freezer_action')), a.get('max_retries'), a.get('max_retries_interval'),
                 bool(a.get('mandatory'))) for a in job.get('job_actions') or []]
        wanted = [(_action_core(a['freezer_action']), a['max_retries'], a['max_retries_interval'],
                   bool(a['mandatory'])) for a in want['job_actions']]
        if have != wanted:
            diffs.append('job_actions')
        return diffs

    def _created_job(self, job_id, client):
        job = self.api.get_job(job_id)
        if job is None:
            raise ProtectionError('freezer job %s vanished right after creation' % job_id)
        if client.get('is_central') and not (job.get('user_credentials') or {}).get('trust_id'):
            self._remove_job(job)
            raise ProtectionError('freezer job %s for central client %s came back without user_credentials: '
                                  'freezer-api created no trust (is [centralized_scheduler] enabled on the API?); '
                                  'the job was removed' % (job_id, client.get('client_id')))
        return job

    def _remove_job(self, job):
        """Delete a job and the actions it created (freezer-api keeps actions when a job is deleted)."""
        action_ids = [a.get('action_id') for a in job.get('job_actions') or [] if a.get('action_id')]
        self.api.delete_job(job['job_id'])
        for action_id in action_ids:
            self.api.delete_action(action_id)
        return action_ids

    # -- managed jobs -----------------------------------------------------
    def ensure_job(self, resource_type, resource_id, name, options, state='present', dry_run=False):
        resource, actions = self.plan(resource_type, resource_id, 'backup', name, options)
        if not actions:
            return self._nothing(resource_type, resource)
        job_name = options.get('description') or self.default_job_name(name, resource)
        retention = options.get('remove_older_than') is not None or options.get('fullbackup_rotation')
        if retention:
            admin_options = dict(options, extra_action_options=None)
            _unused, admin = self.plan(resource_type, resource['id'], 'admin', name, admin_options)
            actions = actions + admin
        want = self.job_doc(job_name, options['client_id'], actions,
                            schedule_doc(options.get('schedule')), options.get('max_retries') or 0,
                            options.get('max_retries_interval') or 10)
        jobs = self.find_jobs(name, job_name)
        if len(jobs) > 1:
            raise ConflictError('%d freezer jobs are named %r with backup_name %s (%s); remove the extra ones'
                                % (len(jobs), job_name, name, ', '.join(j['job_id'] for j in jobs)))
        job = jobs[0] if jobs else None
        before = job_view(job)
        client = self.check_client(options['client_id'])
        changed, events = False, []
        if job is None:
            changed = True
            if dry_run:
                planned = dict(want, job_id='(would be created)')
                after = job_view(planned)
                if state == 'started':
                    events.append('start')
                return Result(True, job=after, resource=resource, events=events, updated=[], before=None,
                              after=after)
            job = self._created_job(self.api.create_job(want), client)
            diffs = []
        else:
            diffs = self.differences(job, want)
            if diffs:
                changed = True
                if not dry_run:
                    patch = dict((k, want[k]) for k in ('description', 'client_id', 'job_schedule', 'job_actions')
                                 if k in diffs)
                    if 'job_schedule' in patch:
                        kept = dict((k, v) for k, v in (job.get('job_schedule') or {}).items()
                                    if k not in SCHEDULE_KEYS)
                        patch['job_schedule'] = dict(kept, **want['job_schedule'])
                    old_actions = [a.get('action_id') for a in job.get('job_actions') or []]
                    self.api.update_job(job['job_id'], patch)
                    job = self.api.get_job(job['job_id'])
                    if 'job_actions' in patch:
                        new_actions = set(a.get('action_id') for a in job.get('job_actions') or [])
                        for action_id in old_actions:
                            if action_id and action_id not in new_actions:
                                self.api.delete_action(action_id)
                else:
                    planned = copy.deepcopy(job)
                    planned.update(dict((k, want[k]) for k in diffs))
                    job = planned
        status = (job.get('job_schedule') or {}).get('status') or ''
        event_now = (job.get('job_schedule') or {}).get('event') or ''
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

    def remove_job(self, resource_type, resource_id, name, options, dry_run=False):
        if resource_type in NOT_ALONE:
            return self._nothing(resource_type, dict(type=resource_type, id=resource_id))
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
        removed = []
        if not dry_run:
            for job in jobs:
                status = (job.get('job_schedule') or {}).get('status') or ''
                if status in ACTIVE:
                    try:
                        self.api.job_event(job['job_id'], 'stop')
                    except FreezerAPIError:
                        pass  # deleting it removes it from the scheduler anyway
                self._remove_job(job)
                removed.append(job['job_id'])
        else:
            removed = [j['job_id'] for j in jobs]
        return Result(bool(jobs), job=None, resource=resource, removed=removed, before=dict(jobs=before),
                      after=dict(jobs=[]))

    @staticmethod
    def _nothing(resource_type, resource):
        if resource_type in NOT_ALONE:
            msg = ('%s resources are not backed up on their own: protect the servers that use them (a server backup '
                   'records its image and networks)' % resource_type)
        else:
            msg = 'nothing to protect in %s %s' % (resource_type, resource.get('id'))
        return Result(False, job=None, resource=resource, msg=msg, backups=[], before=None, after=None)

    # -- one-shot operations ----------------------------------------------
    def run_operation(self, resource_type, resource_id, name, operation, options, dry_run=False):
        if operation not in OPERATIONS:
            raise ProtectionError('operation must be one of %s, got %s' % (', '.join(OPERATIONS), operation))
        native = (options.get('volume_mode') or 'cindernative') == 'cindernative'
        if operation == 'restore' and resource_type == 'volume' and native:
            options = self._pick_restore_backup(resource_id, name, options)
        resource, actions = self.plan(resource_type, resource_id, operation, name, options)
        if not actions:
            return self._nothing(resource_type, resource)
        client = self.check_client(options['client_id'])
        description = options.get('description') or '%s %s of %s %s' % (
            name, operation, resource['type'], resource['id'])
        if operation == 'restore' and options.get('restore_name'):
            description = options['restore_name']
        want = self.job_doc(description, options['client_id'], actions, schedule=None,
                            max_retries=options.get('max_retries') or 0,
                            max_retries_interval=options.get('max_retries_interval') or 10)
        if dry_run:
            planned = job_view(dict(want, job_id='(would be created, run and removed)'))
            return Result(True, job=planned, resource=resource, backups=[], removed=[], before=None, after=planned)
        step = self.timings.step
        before_backups = self._cinder_backups(actions)
        started = int(time.time())
        with step('create job'):
            job = self._created_job(self.api.create_job(want), client)
        if not self.wait:
            with step('start job'):
                self.api.job_event(job['job_id'], 'start')
            return Result(True, job=job_view(self.api.get_job(job['job_id'])), resource=resource, backups=[],
                          removed=[], before=None, after=None)
        try:
            with step('start job'):
                self.api.job_event(job['job_id'], 'start')
            final = self._wait_job(job, client)
            with step('verify in Cinder'):
                outcome = self._verify(operation, actions, before_backups, job)
        except ProtectionError as exc:
            with step('clean up'):
                left = self._cleanup_failed(job, operation, actions, before_backups, name, started)
            raise ProtectionError('%s; %s' % (exc.msg, left), job=job_view(getattr(exc, 'last', None) or job),
                                  resource=resource, **exc.result)
        with step('remove job'):
            removed = self._remove_job(final)
        view = job_view(final)
        return Result(True, job=view, resource=resource, removed=[final['job_id']] + removed,
                      before=None, after=view, **outcome)

    def _pick_restore_backup(self, resource_id, name, options):
        """The newest available Cinder backup of this protection (its name), so restore takes exactly it."""
        if options.get('restore_backup_id'):
            return options
        volume = self.find_volume(resource_id)
        backups = [b for b in self.conn.block_storage.backups(details=True, volume_id=volume.id)
                   if b.name == name and b.status == 'available' and b.volume_id == volume.id]
        if options.get('restore_from_date'):
            cutoff = str(options['restore_from_date'])
            backups = [b for b in backups if str(b.created_at or '') <= cutoff]
        if not backups:
            raise NotFoundError('volume %s (%s) has no available Cinder backup named %s to restore from'
                                % (volume.name, volume.id, name), resource=dict(type='volume', id=volume.id))
        newest = max(backups, key=lambda b: (str(b.created_at or ''), b.id))
        return dict(options, restore_backup_id=newest.id)

    def _describe_job(self, job, client):
        return 'freezer job %s (client %s)' % (job['job_id'], client.get('client_id'))

    def _wait_job(self, job, client):
        """Wait for the job's result; timed as two steps, until a scheduler picked it up, then until it ended."""
        describe = self._describe_job(job, client)
        start, picked = self.clock(), []

        def fetch():
            return self.api.get_job(job['job_id'])

        def classify(current):
            if current is None:
                return 'fail', NOT_FOUND
            sched = current.get('job_schedule') or {}
            result, status = sched.get('result') or '', sched.get('status') or ''
            if not picked and (status in PICKED_UP or result or sched.get('time_started', -1) not in (-1, None)):
                picked.append(self.clock())
            label = 'status=%s result=%s' % (status or '""', result or '""')
            if result in JOB_OK and status not in ACTIVE:
                return 'ok', label
            if result in JOB_FAIL and status not in ACTIVE:
                return 'fail', label
            return 'wait', label

        try:
            return waiter.poll(fetch, classify, self.timeout, self.poll_interval, describe=describe)
        except WaitTimeout as exc:
            sched = (exc.last or {}).get('job_schedule') or {}
            if (sched.get('status') or '') not in PICKED_UP and sched.get('time_started', -1) in (-1, None):
                reason = ('no freezer-scheduler picked it up within %ss (is a scheduler with client_id %s running '
                          'and polling freezer-api?)' % (self.timeout, client.get('client_id')))
            else:
                reason = ('it did not finish within %ss (last %s)' % (self.timeout, exc.status))
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
            end = self.clock()
            self.timings.add('wait for scheduler pickup', (picked[0] if picked else end) - start)
            if picked:
                self.timings.add('wait for job result', end - picked[0])

    def _cinder_backups(self, actions):
        vol_ids = sorted(set(a['cindernative_vol_id'] for a in actions if a.get('cindernative_vol_id')))
        found = {}
        for vol_id in vol_ids:
            found[vol_id] = dict((b.id, b) for b in self.conn.block_storage.backups(details=True, volume_id=vol_id)
                                 if b.volume_id == vol_id)
        return found

    def _verify(self, operation, actions, before, job):
        """Freezer's cindernative agent returns before Cinder finished: wait for Cinder's own result."""
        native = [a for a in actions if a.get('mode') == 'cindernative']
        outcome = dict(backups=[], cinder_backups=[], deleted_backups=[], restored=[])
        if operation == 'backup':
            for action in native:
                vol_id = action['cindernative_vol_id']
                new = [b for b in self.conn.block_storage.backups(details=True, volume_id=vol_id)
                       if b.volume_id == vol_id and b.id not in before.get(vol_id, {})
                       and b.name == action['backup_name']]
                if not new:
                    raise ProtectionError('freezer job %s reported success but Cinder has no new backup %s of volume '
                                          '%s' % (job['job_id'], action['backup_name'], vol_id))
                for backup in new:
                    done = self._wait_backup(backup, vol_id)
                    outcome['cinder_backups'].append(backup_view(done))
        elif operation == 'restore':
            for action in native:
                vol_id = action['cindernative_vol_id']
                volume = self.wait_for(lambda v=vol_id: self._get_volume(v), VOLUME_OK, VOLUME_FAIL,
                                       VOLUME_TRANSIENT, describe='restore of volume %s' % vol_id)
                outcome['restored'].append(volume_view(volume))
        else:
            for action in native:
                vol_id = action['cindernative_vol_id']
                gone = [b for b in before.get(vol_id, {}).values() if (b.metadata or {}).get('created_by') == 'freezer']
                for backup in gone:
                    remaining = self._get_backup(backup.id)
                    if remaining is not None and self._admin_should_remove(action, backup):
                        self.wait_for(lambda b=backup: self._get_backup(b.id), BACKUP_GONE, fail={'error_deleting'},
                                      describe='deletion of Cinder backup %s of volume %s' % (backup.id, vol_id))
                    if self._get_backup(backup.id) is None:
                        outcome['deleted_backups'].append(backup.id)
        outcome['backups'] = self._freezer_records(actions, operation)
        return outcome

    @staticmethod
    def _admin_should_remove(action, backup):
        return action.get('remove_older_than') == 0 and not action.get('fullbackup_rotation')

    def _wait_backup(self, backup, vol_id):
        try:
            return self.wait_for(lambda: self._get_backup(backup.id), BACKUP_OK, BACKUP_FAIL, BACKUP_TRANSIENT,
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

    def _cleanup_failed(self, job, operation, actions, before, name, started):
        """After a failed or timed-out job: remove it, its actions, the Cinder backups and Freezer records it left."""
        notes, kept = [], []
        try:
            current = self.api.get_job(job['job_id']) or job
            status = (current.get('job_schedule') or {}).get('status') or ''
            if status in ACTIVE:
                try:
                    self.api.job_event(job['job_id'], 'abort')
                except FreezerAPIError:
                    pass
            self._remove_job(current)
            notes.append('the job and its actions were removed')
        except Exception as exc:  # pylint: disable=broad-except
            kept.append('job %s (%s)' % (job['job_id'], getattr(exc, 'msg', exc)))
        if operation == 'backup':
            for action in actions:
                vol_id = action.get('cindernative_vol_id')
                if not vol_id:
                    continue
                for backup in self.conn.block_storage.backups(details=True, volume_id=vol_id):
                    if backup.volume_id != vol_id or backup.id in before.get(vol_id, {}) or backup.name != name:
                        continue
                    try:
                        if backup.status not in ('available', 'error'):
                            self.wait_for(lambda b=backup: self._get_backup(b.id),
                                          BACKUP_OK | set(['error']) | BACKUP_GONE,
                                          describe='Cinder backup %s' % backup.id)
                        self.conn.block_storage.delete_backup(backup.id, ignore_missing=True)
                        self.wait_for(lambda b=backup: self._get_backup(b.id), BACKUP_GONE,
                                      fail={'error_deleting'}, describe='deletion of Cinder backup %s' % backup.id)
                        notes.append('Cinder backup %s was removed' % backup.id)
                    except Exception as exc:  # pylint: disable=broad-except
                        kept.append('Cinder backup %s (%s)' % (backup.id, getattr(exc, 'msg', exc)))
            vol_ids = set(a.get('cindernative_vol_id') for a in actions if a.get('cindernative_vol_id'))
            try:
                for record in self.api.list_backups():
                    meta = record.get('backup_metadata') or {}
                    if meta.get('backup_name') == name and meta.get('cindernative_vol_id') in vol_ids and \
                            (meta.get('time_stamp') or 0) >= started - 1:
                        self.api.delete_backup(record['backup_id'])
                        notes.append('Freezer backup record %s was removed' % record['backup_id'])
            except Exception as exc:  # pylint: disable=broad-except
                kept.append('Freezer backup records of %s (%s)' % (name, getattr(exc, 'msg', exc)))
        text = ', '.join(notes) if notes else 'nothing to clean up'
        if kept:
            text += '; left behind: %s' % ', '.join(kept)
        return text

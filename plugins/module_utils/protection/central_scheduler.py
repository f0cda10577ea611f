# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Freezer's central (service-mode) scheduler: its client registration and the jobs it will serve.

One freezer-scheduler with ``[scheduler] centralized_scheduler = true`` runs
every project's jobs through Keystone trusts that freezer-api creates when a
job is POSTed for a client registered with ``is_central``. This driver

* ensures that registration (``POST /v2/{project}/clients``) with restricted
  capabilities. freezer-api cannot change ``is_central`` (nor the hostname or
  owner) of an existing client, so a registration that drifted - non-central,
  another hostname, other (e.g. wider) capabilities - is deleted and
  registered again;
* reports the jobs the scheduler will serve across projects (the service user
  sees every project's jobs). A job without ``user_credentials.trust_id`` is
  flagged, since the scheduler silently skips it in service mode, and so is a
  job whose actions ask for a capability the client does not have.

freezer-api keeps one registration row per (client_id, hostname) and checks a
job's capabilities against whichever row it reads first, so every row of the
client_id is listed and converged in one run: anything but exactly the wanted
row is removed (DELETE removes one row per call) and the wanted one registered.

freezer-api is reached through ``FreezerAPI`` (freezer/api.py: the
connection's keystoneauth session, catalog type ``backup``): one REST client.
Plain Python: raises ProtectionError, never exits. Trust ids never leave it.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ConflictError, ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import Result
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.api import (
    FreezerAPI,
    FreezerAPIError,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.service import CloudService

CAPABILITIES = ('supported_actions', 'supported_modes', 'supported_storages', 'supported_engines')
# capability list -> the freezer_action key it restricts
CAPABILITY_KEYS = dict(supported_actions='action', supported_modes='mode', supported_storages='storage',
                       supported_engines='engine_name')
ALL_ACTIONS = ('backup', 'restore', 'info', 'admin', 'exec')
ALL_MODES = ('fs', 'mongo', 'mysql', 'sqlserver', 'cinder', 'glance', 'cindernative', 'nova')
ALL_STORAGES = ('local', 'swift', 'ssh', 's3', 'ftp', 'ftps')
ALL_ENGINES = ('tar', 'rsync', 'rsyncv2', 'nova', 'osbrick', 'glance')
CHOICES = dict(supported_actions=ALL_ACTIONS, supported_modes=ALL_MODES, supported_storages=ALL_STORAGES,
               supported_engines=ALL_ENGINES)
# Nothing restricts a scheduler by default; the collection does: Cinder-native backups only.
DEFAULTS = dict(supported_actions=['backup', 'restore', 'admin'], supported_modes=['cindernative'],
                supported_storages=['swift'], supported_engines=['tar'])
# job_schedule.status values of jobs the scheduler no longer runs
INACTIVE = frozenset(['completed', 'removed'])


def normalize_capabilities(capabilities):
    """The four capability lists (defaults filled in), validated, sorted and without duplicates."""
    capabilities = dict(capabilities or {})
    unknown = sorted(set(capabilities) - set(CAPABILITIES))
    if unknown:
        raise ProtectionError('unknown capabilities %s (use %s)' % (', '.join(unknown), ', '.join(CAPABILITIES)))
    result = {}
    for name in CAPABILITIES:
        values = capabilities.get(name)
        values = DEFAULTS[name] if values is None else values
        bad = sorted(set(values) - set(CHOICES[name]))
        if bad:
            raise ProtectionError('%s: unsupported value(s) %s (Freezer knows %s)'
                                  % (name, ', '.join(bad), ', '.join(CHOICES[name])))
        result[name] = sorted(set(values))
    return result


def check_client_id(client_id):
    """A client_id that names one client: an empty one would address the clients collection itself."""
    if not client_id or not str(client_id).strip():
        raise ProtectionError('client_id must not be empty or only whitespace (got %r): it would address '
                              'freezer-api\'s clients collection, not a registration' % (client_id,))
    return client_id


def registration_doc(client_id, hostname, capabilities, description=None):
    """The POST /clients body of a central client."""
    check_client_id(client_id)
    if not hostname:
        raise ProtectionError('hostname is required to register client %s' % client_id)
    doc = dict(client_id=client_id, hostname=hostname, is_central=True)
    doc.update(normalize_capabilities(capabilities))
    if description:
        doc['description'] = description
    return doc


def client_view(record):
    """A client as freezer-api stores it (``{project_id, user_id, client: {...}}``), flattened."""
    if not record:
        return None
    client = dict(record.get('client') or record)
    view = dict(client_id=client.get('client_id'), hostname=client.get('hostname'),
                is_central=bool(client.get('is_central')), description=client.get('description'),
                uuid=client.get('uuid'), project_id=record.get('project_id'), user_id=record.get('user_id'))
    for name in CAPABILITIES:
        view[name] = sorted(client.get(name) or [])
    return view


def drift(current, want):
    """Why an existing registration differs from the wanted one (empty list: it does not)."""
    reasons = []
    if not current.get('is_central'):
        reasons.append('registered as a non-central client (freezer-api cannot change is_central)')
    if current.get('hostname') != want['hostname']:
        reasons.append('hostname is %s, wanted %s' % (current.get('hostname'), want['hostname']))
    for name in CAPABILITIES:
        have, wanted = set(current.get(name) or []), set(want[name])
        if have == wanted:
            continue
        wider = sorted(have - wanted)
        narrower = sorted(wanted - have)
        parts = []
        if wider:
            parts.append('wider than wanted: also %s' % ', '.join(wider))
        if narrower:
            parts.append('missing %s' % ', '.join(narrower))
        reasons.append('%s %s' % (name, '; '.join(parts)))
    if (want.get('description') or None) is not None and current.get('description') != want['description']:
        reasons.append('description differs')
    return reasons


def job_report(job, client):
    """What the central scheduler will do with one job: served, or skipped and why. No trust id."""
    sched = job.get('job_schedule') or {}
    creds = job.get('user_credentials') or {}
    has_trust = bool(creds.get('trust_id'))
    reasons = []
    if not has_trust:
        reasons.append('no user_credentials.trust_id: the central scheduler skips it (create the job by POSTing '
                       'to the jobs collection for this central client so freezer-api creates the trust)')
    for entry in job.get('job_actions') or []:
        action = entry.get('freezer_action') or {}
        for name, key in CAPABILITY_KEYS.items():
            value = action.get(key)
            if value and value not in (client.get(name) or []):
                reasons.append('%s %s is not in the client\'s %s (%s)'
                               % (key, value, name, ', '.join(client.get(name) or []) or 'none'))
    status = sched.get('status') or ''
    if status in INACTIVE:
        reasons.append('job_schedule.status is %s' % status)
    return dict(job_id=job.get('job_id'), project_id=job.get('project_id'), user_id=job.get('user_id'),
                description=job.get('description'), status=status, result=sched.get('result') or '',
                has_trust=has_trust, trustor_user_id=creds.get('trustor_user_id'),
                served=not reasons, reasons=sorted(set(reasons), key=reasons.index))


class CentralSchedulerRegistration(CloudService):
    """Registration of a central freezer client (every row of its client_id) and the report of the jobs it serves."""

    resource_kind = 'freezer central client'

    def __init__(self, conn, api=None, interface=None, **kwargs):
        super().__init__(conn, **kwargs)
        self.api = api if api is not None else FreezerAPI(conn, interface=interface)

    # -- reads --------------------------------------------------------------
    def rows(self, client_id):
        """Every registration row of the client_id visible to the caller (its project's and central ones)."""
        views = [client_view(r) for r in self.api.list_client_records(check_client_id(client_id))]
        return sorted(views, key=lambda v: (v['hostname'] or '', v['uuid'] or ''))

    def get(self, client_id):
        """The registration freezer-api reads first for this client_id (the one it checks jobs against), or None."""
        record = self.api.get_client_record(check_client_id(client_id))
        return client_view(record) if record else None

    def jobs(self, client_id):
        """Every job (all projects the credentials see) addressed to this client."""
        return [j for j in self.api.list_jobs() if j.get('client_id') == client_id]

    def report(self, client_id, client):
        reports = [job_report(j, client) for j in self.jobs(client_id)]
        reports.sort(key=lambda r: (r['project_id'] or '', r['job_id'] or ''))
        return dict(jobs=reports,
                    untrusted_jobs=[r['job_id'] for r in reports if not r['has_trust']],
                    unserved_jobs=[r['job_id'] for r in reports if not r['served']],
                    projects=sorted(set(r['project_id'] for r in reports if r['served'] and r['project_id'])))

    # -- present / absent ---------------------------------------------------
    @staticmethod
    def _before(rows):
        if not rows:
            return None
        return rows[0] if len(rows) == 1 else dict(registrations=rows)

    @staticmethod
    def _drift(rows, want):
        """Why the rows are not exactly the wanted registration (empty: they are)."""
        if len(rows) == 1:
            return drift(rows[0], want)
        reasons = ['%d registrations of client_id %s (hostnames %s): freezer-api checks jobs against whichever it '
                   'reads first' % (len(rows), want['client_id'], ', '.join(str(r['hostname']) for r in rows))]
        for row in rows:
            reasons.extend('%s: %s' % (row['hostname'], reason) for reason in drift(row, want))
        return reasons

    def ensure(self, client_id, hostname, capabilities=None, description=None, report_jobs=True, dry_run=False):
        want = registration_doc(client_id, hostname, capabilities, description)
        rows = self.rows(client_id)
        reasons = self._drift(rows, want) if rows else []
        planned = dict(client_view(dict(want)), project_id=self.api.project_id)
        removed = []
        if rows and not reasons:
            changed, after, action = False, rows[0], 'unchanged'
        else:
            changed, action = True, 'recreated' if rows else 'created'
            for row in rows:
                self._check_owner(row, reasons)
            removed = rows
            if dry_run:
                after = dict(planned, uuid=None, user_id=None)
            else:
                self._delete_all(client_id, rows)
                after = self._register(want)
        result = dict(client=after, action=action, drift=reasons, registrations=rows, removed=removed,
                      before=self._before(rows), after=after)
        if report_jobs:
            result.update(self.report(client_id, after))
        return Result(changed, **result)

    def absent(self, client_id, report_jobs=True, dry_run=False):
        rows = self.rows(client_id)
        result = dict(client=None, action='unchanged', drift=[], registrations=rows, removed=[],
                      before=self._before(rows), after=None)
        if not rows:
            return Result(False, **result)
        for row in rows:
            self._check_owner(row, ['state is absent'])
        if report_jobs:
            result.update(self.report(client_id, rows[0]))
        if not dry_run:
            self._delete_all(client_id, rows)
        result.update(action='deleted', removed=rows)
        return Result(True, **result)

    # -- helpers ------------------------------------------------------------
    def _check_owner(self, current, reasons):
        owner = current.get('project_id')
        if owner and owner != self.api.project_id:
            raise ConflictError('freezer client %s (hostname %s) is registered by project %s, not by the project of '
                                'these credentials (%s), so it cannot be replaced or removed (%s); use the '
                                'credentials of the scheduler\'s service user'
                                % (current['client_id'], current.get('hostname'), owner, self.api.project_id,
                                   '; '.join(reasons)), client=current)

    def _delete_all(self, client_id, rows):
        """Remove every row: freezer-api's DELETE removes the first row it reads, so one call per row."""
        for _row in rows:
            try:
                self.api.delete_client(client_id)
            except FreezerAPIError as exc:
                raise ProtectionError('cannot unregister freezer client %s: %s' % (client_id, exc.msg))
        left = self.rows(client_id)
        if left:
            raise ProtectionError('freezer client %s is still registered after DELETE (freezer-api kept %s)'
                                  % (client_id, ', '.join('hostname %s' % r['hostname'] for r in left)))

    def _register(self, want):
        client_id = want['client_id']
        try:
            self.api.register_client(want)
        except FreezerAPIError as exc:
            hint = ''
            if exc.status == 403:
                hint = ('; registering a central client needs the roles service and member (or admin) in the '
                        'project of the credentials')
            elif exc.status == 409:
                hint = '; another project registered this client_id and hostname'
            raise ProtectionError('cannot register central freezer client %s: %s%s' % (client_id, exc.msg, hint))
        stored = self.rows(client_id)
        if not stored:
            raise ProtectionError('freezer-api accepted central client %s but does not return it' % client_id)
        left = self._drift(stored, want)
        if left:
            raise ProtectionError('freezer-api stored central client %s differently from what was sent: %s'
                                  % (client_id, '; '.join(left)), client=stored[0])
        return stored[0]

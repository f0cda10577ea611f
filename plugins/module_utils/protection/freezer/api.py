# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The freezer-api v2 REST client: jobs, actions, client registrations and backup records.

Freezer is reached with plain REST through the openstacksdk connection's
keystoneauth session (catalog type ``backup``): one connection factory, and the
session's timeout on every call. Used by the Freezer job lifecycle
(freezer/jobs.py) and the central scheduler's registration
(central_scheduler.py). Plain Python: raises FreezerAPIError.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError


class FreezerAPIError(ProtectionError):
    """freezer-api refused a request; ``status`` is the HTTP status."""

    def __init__(self, msg, status=None, **result):
        super().__init__(msg, **result)
        self.status = status


def describe_response(response):
    """freezer-api's own reason for a refused request, in one line."""
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
        if any(not str(p).strip() for p in parts):
            # an empty id would address the collection instead of one item (GET lists, DELETE answers 405)
            raise FreezerAPIError('freezer-api %s %s: an empty id is not a Freezer resource' % (method, what))
        response = self.session.request(self.url(*parts), method, raise_exc=False, **kwargs)
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            reason = describe_response(response)
            raise FreezerAPIError('freezer-api %s %s: HTTP %s: %s' % (method, what, response.status_code, reason),
                                  status=response.status_code)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            return {}

    def list_all(self, collection, page=100):
        """Every item of a paginated freezer-api collection (``jobs``, ``backups``, ``clients``)."""
        items, offset = [], 0
        while True:
            body = self.request('GET', collection, params=dict(limit=page, offset=offset), what=collection)
            batch = body.get(collection) or []
            items.extend(batch)
            if len(batch) < page:
                return items
            offset += page

    # -- jobs -------------------------------------------------------------
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

    # -- actions ----------------------------------------------------------
    def get_action(self, action_id):
        return self.request('GET', 'actions', action_id, missing_ok=True, what='action %s' % action_id)

    def delete_action(self, action_id):
        return self.request('DELETE', 'actions', action_id, missing_ok=True, what='action %s' % action_id)

    # -- client registrations ---------------------------------------------
    def get_client_record(self, client_id):
        """The registration as stored (``{project_id, user_id, client: {...}}``), or None."""
        return self.request('GET', 'clients', client_id, missing_ok=True, what='client %s' % client_id) or None

    def get_client(self, client_id):
        """The ``client`` part of the registration, or None."""
        record = self.get_client_record(client_id)
        return None if record is None else record.get('client', record)

    def list_client_records(self, client_id=None):
        """Every registration row the credentials see (one per (client_id, hostname)); of one client_id if given."""
        records = self.list_all('clients')
        if client_id is None:
            return records
        return [r for r in records if (r.get('client') or r).get('client_id') == client_id]

    def register_client(self, doc):
        return self.request('POST', 'clients', json=doc, what='clients')

    def delete_client(self, client_id):
        """Unregister: freezer-api removes every row of the client_id the caller may delete."""
        return self.request('DELETE', 'clients', client_id, missing_ok=True, what='client %s' % client_id)

    # -- backup records ---------------------------------------------------
    def list_backups(self, page=100):
        return self.list_all('backups', page)

    def delete_backup(self, backup_id):
        return self.request('DELETE', 'backups', backup_id, missing_ok=True, what='backup %s' % backup_id)

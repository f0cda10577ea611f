# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet: every protectable Cinder volume and Manila share of one project, of a list of projects or (admin) of
all projects, each with the newest protection of every protection name and kind (snapshot, share snapshot, Freezer
backup; Kubernetes pods and applications with their bank checkpoints through fleet_kinds.py) - read by the
``protectables`` inventory plugin and the ``protection_report`` module.

Plain Python (no Ansible imports). One listing request per kind of resource and one per kind of protection, whatever
the number of resources (per project when a list of projects is given; Freezer's backup records per project owning a
volume), plus one project listing for names.
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.fleet_kinds import (
    CHECKPOINT_KIND,
    FAILED_CHECKPOINT_STATUSES,
    FREEZER_KIND,
    FreezerReader,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import is_endpoint_missing
from ansible_collections.dataprotection.openstack.plugins.module_utils.selection import by_query
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    MANAGED_KEY,
    PROTECTION_KEY,
    parse_time,
    utcnow,
)

KINDS = ('volume', 'share')
# the kind of protection of each kind of resource's snapshots
SNAPSHOT_KINDS = dict(volume='snapshot', share='share_snapshot')
# Manila share snapshot metadata needs this microversion (as protection/manila_share.py reads them).
SHARE_SNAPSHOT_MICROVERSION = '2.73'
# A resource in one of these statuses cannot be protected now (the drivers' failure status sets).
UNPROTECTABLE_STATUSES = dict(
    volume=frozenset(['error', 'error_deleting', 'deleting']),
    share=frozenset(['error', 'error_deleting', 'deleting', 'extending_error', 'shrinking_error', 'reverting_error']),
)
# A protection attempt that ended in one of these failed.
FAILED_SNAPSHOT_STATUSES = frozenset(['error', 'error_deleting'])

_DURATION = re.compile(r'(\d+(?:\.\d+)?)\s*([wdhms])', re.IGNORECASE)
_UNIT_SECONDS = dict(w=604800, d=86400, h=3600, m=60, s=1)


def parse_duration(value, option='rpo'):
    """Seconds of ``24h``, ``1d12h``, ``90m``, ``7d``, ``1w``, ``3600`` (bare number: seconds); > 0."""
    text = str(value).strip() if value is not None else ''
    try:
        seconds = float(text)
    except ValueError:
        parts = _DURATION.findall(text)
        if not parts or _DURATION.sub('', text).strip():
            raise ProtectionError('%s must be a duration such as 24h, 1d12h, 90m, 7d or a number of seconds, got %r'
                                  % (option, value))
        seconds = sum(float(number) * _UNIT_SECONDS[unit.lower()] for number, unit in parts)
    if seconds <= 0:
        raise ProtectionError('%s must be greater than 0, got %r' % (option, value))
    return seconds


def slice_of(resource_id, count):
    """The slice (1..count) a resource belongs to: a hash of its id, so the slices are disjoint and a resource keeps
    its slice however many other resources come and go between two runs."""
    digest = hashlib.sha256(str(resource_id).encode('utf-8')).hexdigest()
    return int(digest[:12], 16) % count + 1


def newest_per_name(kind, grouped, now, failed=FAILED_SNAPSHOT_STATUSES, available='available'):
    """Protection name -> the newest available member (and its age) and the newest attempt of that name, from
    ``{name: [members]}`` (attribute or dict access: id, name, status, created_at). ``kind`` names what the
    members are (``snapshot``, ``share_snapshot``, ``freezer_backup``, ``checkpoint``)."""
    found = {}
    for name, members in grouped.items():
        members = sorted(members, key=lambda s: (parse_time(_get(s, 'created_at')) or now, str(_get(s, 'id'))))
        ready = [s for s in members if _get(s, 'status') == available]
        newest, last = (ready[-1] if ready else None), members[-1]
        created = parse_time(_get(newest, 'created_at')) if newest is not None else None
        found[name] = dict(
            kind=kind, snapshot_id=_get(newest, 'id'), snapshot_name=_get(newest, 'name'),
            created_at=created.isoformat() if created else None,
            age_seconds=round((now - created).total_seconds(), 1) if created else None,
            available=len(ready), last_id=_get(last, 'id'), last_status=_get(last, 'status'),
            last_failed=_get(last, 'status') in failed)
    return found


def protections_of(snapshots, now=None, kind='snapshot'):
    """Protection name -> the newest protection (snapshot made by this collection) and its age, from the snapshots
    of one resource (attribute or dict access: id, name, status, created_at, metadata)."""
    grouped = {}
    for snapshot in snapshots:
        metadata = _get(snapshot, 'metadata') or {}
        if metadata.get(MANAGED_KEY) != 'true' or not metadata.get(PROTECTION_KEY):
            continue
        grouped.setdefault(metadata[PROTECTION_KEY], []).append(snapshot)
    return newest_per_name(kind, grouped, now or utcnow())


def best_of(by_kind):
    """``{kind: {name: protection}}`` -> ``{name: protection}``: of each name, the kind whose newest available
    protection is the youngest (else the one whose newest attempt failed, else any)."""
    best = {}
    for kind in sorted(by_kind):
        for name, found in by_kind[kind].items():
            held = best.get(name)
            if held is None or _rank(found) < _rank(held):
                best[name] = found
    return best


def _rank(found):
    if found.get('snapshot_id') is not None and found.get('age_seconds') is not None:
        return (0, found['age_seconds'])
    return (1 if found.get('last_failed') else 2, 0)


def _get(obj, key):
    if obj is None:
        return None
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


class Fleet:
    """Reads one scope of the cloud: the credentials' project (default), ``projects`` (names or ids), or with
    ``all_projects`` every project (admin)."""

    def __init__(self, conn, all_projects=False, projects=None):
        if all_projects and projects:
            raise ProtectionError('all_projects and projects are mutually exclusive: pass one of them')
        if projects is not None and not projects:
            raise ProtectionError('projects is empty: an empty selector selects nothing; omit it for the '
                                  'project of the credentials')
        self.conn = conn
        self.all_projects = bool(all_projects)
        self.requested = list(projects or [])
        self.warnings = []
        self.skipped = []  # kinds (of resources or protections) whose service the catalog lacks
        self._names = None

    # -- projects ---------------------------------------------------------
    def current_project(self):
        project_id = self.conn.current_project_id
        auth = self.conn.config.config.get('auth') or {}
        return project_id, auth.get('project_name') or project_id

    def project_names(self):
        """Project id -> name: every project for an admin, else only the credentials' own."""
        if self._names is None:
            project_id, name = self.current_project()
            self._names = {project_id: name}
            try:
                for project in self.conn.identity.projects():
                    self._names[project.id] = project.name
            except Exception as exc:  # pylint: disable=broad-except
                if getattr(exc, 'status_code', None) not in (401, 403):
                    raise
        return self._names

    def scope(self):
        """The project ids to read, or None for every project the credentials may list."""
        own_id = self.current_project()[0]
        if self.all_projects:
            return None if len(self.project_names()) > 1 else [own_id]
        if not self.requested:
            return [own_id]
        names = self.project_names()
        by_name = dict((name, pid) for pid, name in names.items())
        ids, missing = [], []
        for ref in self.requested:
            pid = ref if ref in names else by_name.get(ref)
            if pid is None:
                missing.append(ref)
            elif pid not in ids:
                ids.append(pid)
        if missing:
            raise ProtectionError('project not found or not visible to these credentials: %s (listing other '
                                  'projects needs the admin role)' % ', '.join(missing))
        return ids

    # -- reads ------------------------------------------------------------
    def _listing(self, call, project_ids, **kwargs):
        """One listing for every project (admin) or the own project, one per project of a list."""
        own_id = self.current_project()[0]
        if project_ids is None:
            return list(call(all_projects=True, **kwargs))
        found = []
        for pid in project_ids:
            if pid == own_id:
                found.extend(call(**kwargs))
            else:
                found.extend(call(all_projects=True, project_id=pid, **kwargs))
        return found

    def _share_snapshots(self, project_ids):
        own_id = self.current_project()[0]
        queries = [('all_tenants=1', None)] if project_ids is None else \
            [('', pid) if pid == own_id else ('all_tenants=1&project_id=%s' % pid, pid) for pid in project_ids]
        found = []
        for query, _pid in queries:
            url = '/snapshots/detail' + ('?' + query if query else '')
            while url:
                response = self.conn.shared_file_system.get(url, microversion=SHARE_SNAPSHOT_MICROVERSION)
                _raise_for(response)
                body = response.json() if response.content else {}
                found.extend(body.get('snapshots') or [])
                url = next((link['href'] for link in body.get('snapshots_links') or [] if link.get('rel') == 'next'),
                           None)
        return found

    def read(self, kinds=KINDS, now=None, freezer=True, interface=None):
        """The records (plain dicts) of every resource of ``kinds`` in the scope, sorted by kind, project, name.

        Volumes also carry their Freezer protections (``freezer``; skipped, and named in ``skipped``, when the
        catalog has no freezer-api)."""
        now = now or utcnow()
        project_ids = self.scope()
        own_id, own_name = self.current_project()
        names = self.project_names() if (project_ids is None or project_ids != [own_id]) else {own_id: own_name}
        records = []
        for kind in kinds:
            try:
                resources, snapshots, source_key = self._read_kind(kind, project_ids)
            except Exception as exc:  # pylint: disable=broad-except
                if len(kinds) > 1 and is_endpoint_missing(exc):
                    self.warnings.append('%ss skipped: the cloud\'s catalog has no endpoint for their service' % kind)
                    self.skipped.append(kind)
                    continue
                raise
            by_source = {}
            for snapshot in snapshots:
                by_source.setdefault(_get(snapshot, source_key), []).append(snapshot)
            backups = {}
            if kind == 'volume' and freezer:
                owners = sorted(set(getattr(r, 'project_id', None) or own_id for r in resources))
                backups = self._freezer(project_ids, [p for p in owners if project_ids is None or p in project_ids],
                                        interface)
            for resource in resources:
                project_id = getattr(resource, 'project_id', None) or own_id
                if project_ids is not None and project_id not in project_ids:
                    continue  # a non-admin's all_tenants is ignored by the service: keep the scope anyway
                by_kind = {SNAPSHOT_KINDS[kind]: protections_of(by_source.get(resource.id, []), now,
                                                                kind=SNAPSHOT_KINDS[kind])}
                if backups.get(resource.id):
                    by_kind[FREEZER_KIND] = newest_per_name(FREEZER_KIND, backups[resource.id], now)
                records.append(record(kind, resource, project_id, names.get(project_id), by_kind))
        records.sort(key=lambda r: (r['kind'], r['project_name'] or '', r['name'] or '', r['id']))
        return records

    def _freezer(self, project_ids, owners, interface=None):
        """``{volume_id: {backup_name: [attempt]}}`` of the Freezer protections in the scope ({} when skipped);
        freezer-api's records are read for ``owners``, the projects owning a volume of the scope."""
        found = FreezerReader(self.conn, interface).read(self._listing, project_ids, owners)
        if found is None:
            self.skipped.append(FREEZER_KIND)
            self.warnings.append('Freezer backups skipped: the cloud\'s catalog has no freezer-api (service type '
                                 'backup)')
            return {}
        return found

    def _read_kind(self, kind, project_ids):
        if kind == 'volume':
            bs = self.conn.block_storage
            return (self._listing(bs.volumes, project_ids, details=True),
                    self._listing(bs.snapshots, project_ids, details=True), 'volume_id')
        if kind == 'share':
            sfs = self.conn.shared_file_system
            return self._listing(sfs.shares, project_ids, details=True), self._share_snapshots(project_ids), 'share_id'
        raise ProtectionError('unknown resource kind %r (one of %s)' % (kind, ', '.join(KINDS)))


def record(kind, resource, project_id, project_name, by_kind):
    """A resource as a plain dict; ``by_kind`` is ``{protection kind: {name: protection}}``, and ``protections``
    the best of each name across the kinds (best_of)."""
    by_kind = dict((k, v) for k, v in by_kind.items() if v)
    created = parse_time(getattr(resource, 'created_at', None))
    return dict(kind=kind, id=resource.id, name=resource.name or '', project_id=project_id,
                project_name=project_name or project_id, availability_zone=resource.availability_zone,
                size=resource.size, status=resource.status, metadata=dict(resource.metadata or {}),
                created_at=created.isoformat() if created else None,
                protectable=resource.status not in UNPROTECTABLE_STATUSES[kind], protections=best_of(by_kind),
                protections_by_kind=by_kind)


def with_checkpoints(records, attempts, now=None):
    """The Kubernetes records (fleet_kinds.kube_records) with their checkpoints' protections."""
    now = now or utcnow()
    for item in records:
        key = item['name'] if item['kind'] == 'pod' else item['namespace']
        grouped = attempts.get((item['kind'], key)) or {}
        by_kind = {CHECKPOINT_KIND: newest_per_name(CHECKPOINT_KIND, grouped, now,
                                                    failed=FAILED_CHECKPOINT_STATUSES)} if grouped else {}
        item.update(protections=best_of(by_kind), protections_by_kind=by_kind)
    return records


def _raise_for(response):
    from openstack import exceptions as sdk_exceptions  # pylint: disable=import-outside-toplevel
    sdk_exceptions.raise_from_response(response)


def select(records, metadata=None, availability_zones=None, statuses=None, name_pattern=None, query=None,
           include_unprotectable=False, slice_count=None, slice_index=None):
    """The records passing every filter given (each filter None = not applied)."""
    if slice_count is not None or slice_index is not None:
        if not slice_count or not slice_index or not 1 <= slice_index <= slice_count:
            raise ProtectionError('slice_count and slice_index go together, with 1 <= slice_index <= slice_count; '
                                  'got slice_count=%r, slice_index=%r' % (slice_count, slice_index))
    pattern = None
    if name_pattern is not None:
        try:
            pattern = re.compile(name_pattern)
        except re.error as exc:
            raise ProtectionError('name_pattern %r is not a valid regular expression: %s' % (name_pattern, exc))
    wanted = dict((str(k), str(v)) for k, v in (metadata or {}).items())
    kept = []
    for item in records:
        if not include_unprotectable and not item['protectable']:
            continue
        if wanted and any(item['metadata'].get(k) != v for k, v in wanted.items()):
            continue
        if availability_zones is not None and item['availability_zone'] not in availability_zones:
            continue
        if statuses is not None and item['status'] not in statuses:
            continue
        if pattern is not None and not pattern.search(item['name'] or ''):
            continue
        if slice_count and slice_of(item['id'], slice_count) != slice_index:
            continue
        kept.append(item)
    return kept if query is None else by_query(query, kept, kind='resource')

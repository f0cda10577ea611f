# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The protections of the fleet (fleet.py) that are not snapshots: Freezer backups of volumes and the checkpoints
of Kubernetes pods and applications in a bank.

* Freezer (``freezer_job``, ``cindernative`` mode): a protection named ``backup_name`` of a volume is the Cinder
  backups Freezer made of it with that name (metadata ``created_by: freezer``), plus the freezer-api backup records
  (``backup_metadata.backup_name`` / ``cindernative_vol_id``) of attempts that left no Cinder backup. Read with one
  Cinder backup listing per project scope and one freezer-api backup listing per project owning a volume.
* Kubernetes (``k8s_pod_protect``, ``k8s_app_protect``): the checkpoints of the bank (plugin ``k8s_pod``, resource
  key ``namespace/pod``; plugin ``k8s_app``, resource key ``namespace``); the live pods (one listing) and
  namespaces (one listing) are the resources.

Plain Python (no Ansible imports).
"""

from __future__ import annotations

import datetime

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import is_endpoint_missing
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import parse_time
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.api import FreezerAPI

FREEZER_KIND = 'freezer_backup'
CHECKPOINT_KIND = 'checkpoint'
# freezer-api backup record statuses of a failed attempt (the scheduler pre-creates ``creating``, the agent makes it
# ``available``); Cinder backup statuses of a failed one
FAILED_RECORD_STATUSES = frozenset(['error', 'failed', 'fail'])
FAILED_BACKUP_STATUSES = frozenset(['error', 'error_deleting'])
FAILED_CHECKPOINT_STATUSES = frozenset(['error'])
# checkpoint plugin -> resource kind of the report
CHECKPOINT_PLUGINS = dict(k8s_pod='pod', k8s_app='application')
BANK_KINDS = ('pod', 'application')
UNPROTECTABLE = dict(pod=frozenset(['Failed']), application=frozenset(['Terminating']))


def _get(obj, key):
    if obj is None:
        return None
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def freezer_attempts(backups, records):
    """``{volume_id: {backup_name: [attempt]}}`` (attempt: id, name, status, created_at) of Freezer protections.

    ``backups`` are Cinder backups (only those Freezer made count); ``records`` freezer-api backup records. A record
    whose Cinder backup exists is that backup (a record in error makes it ``error``); a record without one counts
    only when it failed (an attempt the agent gave up before Cinder had a backup) or is still ``creating``."""
    by_record = dict((r.get('backup_id'), r) for r in records or [] if r.get('backup_id'))
    found, matched = {}, set()
    for backup in backups or []:
        metadata = _get(backup, 'metadata') or {}
        if metadata.get('created_by') != 'freezer' or not _get(backup, 'name'):
            continue
        record = by_record.get(metadata.get('freezer_backup_id'))
        status = _get(backup, 'status')
        if record is not None:
            matched.add(record['backup_id'])
            if (record.get('status') or '') in FAILED_RECORD_STATUSES:
                status = 'error'
        found.setdefault(_get(backup, 'volume_id'), {}).setdefault(_get(backup, 'name'), []).append(dict(
            id=_get(backup, 'id'), name=_get(backup, 'name'), status=status, created_at=_get(backup, 'created_at'),
            failed=status in FAILED_BACKUP_STATUSES))
    for record in records or []:
        meta = record.get('backup_metadata') or {}
        status = record.get('status') or ''
        volume_id, name = meta.get('cindernative_vol_id'), meta.get('backup_name')
        if record.get('backup_id') in matched or not volume_id or not name:
            continue
        if status not in FAILED_RECORD_STATUSES and status != 'creating':
            continue
        stamp = meta.get('time_stamp')
        found.setdefault(volume_id, {}).setdefault(name, []).append(dict(
            id=record.get('backup_id'), name=name, status='error' if status in FAILED_RECORD_STATUSES else status,
            created_at=_epoch(stamp), failed=status in FAILED_RECORD_STATUSES))
    return found


def _epoch(stamp):
    try:
        return datetime.datetime.fromtimestamp(int(stamp), datetime.timezone.utc).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def checkpoint_attempts(indexes):
    """``{(resource kind, resource key): {protection name: [attempt]}}`` of the checkpoints of a bank (indexes
    as ``CheckpointBank.list()`` returns them); checkpoints being deleted are not attempts."""
    found = {}
    for index in indexes or []:
        kind = CHECKPOINT_PLUGINS.get(index.get('plugin'))
        key = (index.get('resource') or {}).get('key')
        name = (index.get('protection') or {}).get('name')
        if kind is None or not key or not name or index.get('status') == 'deleting':
            continue
        found.setdefault((kind, key), {}).setdefault(name, []).append(dict(
            id=index.get('id'), name=name, status=index.get('status'), created_at=index.get('created_at')))
    return found


class FreezerReader:
    """Freezer protections of the volumes of a scope: one Cinder backup listing per project scope (``listing`` is
    fleet.Fleet._listing) and one freezer-api backup listing per project given."""

    def __init__(self, conn, interface=None):
        self.conn = conn
        self.interface = interface

    def endpoint(self):
        """freezer-api's endpoint (catalog type ``backup``), or None when the catalog has none."""
        try:
            return self.conn.session.get_endpoint(service_type='backup', interface=self.interface or 'public')
        except Exception as exc:  # pylint: disable=broad-except
            if is_endpoint_missing(exc):
                return None
            raise

    def read(self, listing, scope, project_ids):
        """``{volume_id: {backup_name: [attempt]}}``, or None when freezer-api is not in the catalog. ``scope`` is
        the Cinder listing scope (None: every project), ``project_ids`` the projects whose records are read."""
        endpoint = self.endpoint()
        if not endpoint:
            return None
        if not project_ids:
            return {}  # no volume in the scope: nothing to read
        backups = listing(self.conn.block_storage.backups, scope, details=True)
        api = FreezerAPI(self.conn, endpoint=endpoint)
        records = []
        for project_id in project_ids:
            api.project_id = project_id
            records.extend(api.list_backups(page=1000))
        return freezer_attempts(backups, records)


def _meta_time(obj):
    created = parse_time((obj.get('metadata') or {}).get('creationTimestamp'))
    return created.isoformat() if created else None


def kube_records(kube, bank, kinds, namespaces=None):
    """Records (as fleet.record makes them, with ``namespace``) of the live pods and namespaces of ``kinds``, and
    the checkpoint attempts of the bank: ``(records, {(kind, key): {name: [attempt]}})``.

    Pods: every pod (of ``namespaces`` when given). Applications: the namespaces holding an application checkpoint
    in the bank, and those named in ``namespaces``. One pod listing per namespace given (one in all), one namespace
    listing, and the bank's listing plus one read per checkpoint index."""
    unknown = sorted(set(kinds) - set(BANK_KINDS))
    if unknown:
        raise ProtectionError('unknown Kubernetes resource kind %s (one of %s)'
                              % (', '.join(unknown), ', '.join(BANK_KINDS)))
    attempts = checkpoint_attempts(bank.list())
    records = []
    if 'pod' in kinds:
        pods = []
        for namespace in namespaces or [None]:
            pods.extend(kube.list_pods(namespace))
        for pod in pods:
            meta = pod.get('metadata') or {}
            phase = (pod.get('status') or {}).get('phase') or 'Unknown'
            records.append(_record('pod', meta.get('uid'), '%s/%s' % (meta.get('namespace'), meta.get('name')),
                                   meta.get('namespace'), phase, meta.get('labels'), _meta_time(pod)))
    if 'application' in kinds:
        wanted = set(namespaces or []) | set(key for kind, key in attempts if kind == 'application')
        listed = kube.call('list namespaces', kube.api.list_namespace).get('items') or []
        for item in listed:
            meta = item.get('metadata') or {}
            if meta.get('name') not in wanted:
                continue
            phase = (item.get('status') or {}).get('phase') or 'Active'
            records.append(_record('application', meta.get('uid'), meta.get('name'), meta.get('name'), phase,
                                   meta.get('labels'), _meta_time(item)))
    return records, attempts


def _record(kind, uid, name, namespace, status, labels, created_at):
    return dict(kind=kind, id=uid or name, name=name, namespace=namespace, project_id=None, project_name=None,
                availability_zone=None, size=None, status=status, metadata=dict(labels or {}), created_at=created_at,
                protectable=status not in UNPROTECTABLE[kind], protections={}, protections_by_kind={})

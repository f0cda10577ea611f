# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manifests of one-shot project (tenant) backups: what exactly one backup session covered.

Freezer records no project backup session (the ``cindernative`` records carry no ``job_id``), so the resources
and backups of one session cannot be told apart from those of earlier sessions of the same ``backup_name``. When
a one-shot project backup succeeds, the collection writes a manifest as a checkpoint of the checkpoint bank
(``bank/``; plugin ``freezer_project``) in the project's own object-storage container (``dataprotection-bank``):

::

    checkpoints/freezer_project-<uuid>/index.json
        protection.name = backup_name, resource = {type: project, id, key: project id}, status available,
        extra = {job_id, time_stamp (the job's start, epoch s), taken_at,
                 servers: [{id, name, freezer_backup_id, time_stamp}],
                 volumes: [{id, cinder_backup_id, freezer_backup_id}]}

The id prefix lets a listing read only these manifests, not every checkpoint of the bank. A cloud whose catalog has
no object storage keeps no manifests (``unavailable`` says why): backups record none and restores take every
backup of the name, as before manifests existed, with a warning.
"""

from __future__ import annotations

import datetime
import uuid

from ansible_collections.dataprotection.openstack.plugins.module_utils.args import BANK_DEFAULT_CONTAINER
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.base import (
    AVAILABLE,
    PREFIX,
    CheckpointBank,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.swift import SwiftStore
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import is_endpoint_missing

PLUGIN = 'freezer_project'
ID_PREFIX = 'freezer_project-'
CONTAINER = BANK_DEFAULT_CONTAINER


def iso_utc(stamp):
    return datetime.datetime.fromtimestamp(int(stamp), tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def manifest_view(index, location=None):
    """What the module returns of a manifest."""
    if index is None:
        return None
    extra = index.get('extra') or {}
    return dict(id=index['id'], status=index.get('status'), protection=(index.get('protection') or {}).get('name'),
                project_id=(index.get('resource') or {}).get('id'), job_id=extra.get('job_id'),
                time_stamp=extra.get('time_stamp'), taken_at=extra.get('taken_at'),
                servers=list(extra.get('servers') or []), volumes=list(extra.get('volumes') or []),
                bank=location)


def backup_ids(index):
    """Cinder backup ids a manifest names."""
    return set(v.get('cinder_backup_id') for v in (index.get('extra') or {}).get('volumes') or []) - set([None])


def record_ids(index):
    """Freezer backup record ids a manifest names (servers and volumes)."""
    extra = index.get('extra') or {}
    return set(i.get('freezer_backup_id') for i in (extra.get('servers') or []) + (extra.get('volumes') or [])) - \
        set([None, ''])


class ProjectManifests:
    """The manifests of project backups in a checkpoint bank (default: the project's Swift container)."""

    def __init__(self, bank, unavailable=None):
        self.bank = bank
        self.unavailable = unavailable

    @classmethod
    def in_swift(cls, conn, container=CONTAINER):
        try:
            conn.object_store.get_endpoint()
        except Exception as exc:  # pylint: disable=broad-except
            if is_endpoint_missing(exc):
                return cls(None, unavailable="the cloud's catalog has no object storage (Swift) to keep manifests in")
        return cls(CheckpointBank(SwiftStore(conn, container)))

    @property
    def location(self):
        return self.bank.location if self.bank is not None else 'no bank (%s)' % self.unavailable

    def _keys(self):
        if self.unavailable:
            return []
        mine = PREFIX + ID_PREFIX
        try:
            # Swift lists by any prefix (only the manifests are read); a local store by directory
            keys = self.bank.store.list(mine if self.bank.store.kind == 'swift' else PREFIX)
            return [k for k in keys if k.startswith(mine)]
        except ProtectionError as exc:
            raise ProtectionError('the manifests of project backups (%s) cannot be read: %s'
                                  % (self.location, exc.msg))
        except Exception as exc:  # pylint: disable=broad-except
            # e.g. no object-store endpoint in the catalog
            raise ProtectionError('the manifests of project backups (%s) cannot be read: %s' % (self.location, exc))

    def check(self):
        """Fail early (before any backup is made) when the bank cannot be read."""
        self._keys()

    def list(self, project_id, name):
        """Manifests (any status) of backup ``name`` in ``project_id``, oldest first."""
        found = []
        for key in self._keys():
            parts = key.split('/')
            if len(parts) != 3 or parts[2] != 'index.json':
                continue
            index = self.bank.get(parts[1])
            if index is None or index.get('plugin') != PLUGIN:
                continue
            if (index.get('protection') or {}).get('name') != name or \
                    (index.get('resource') or {}).get('id') != project_id:
                continue
            found.append(index)
        return sorted(found, key=lambda i: (int((i.get('extra') or {}).get('time_stamp') or 0),
                                            i.get('created_at') or '', i['id']))

    def pick(self, project_id, name, cutoff=None):
        """(the newest available manifest at or before ``cutoff`` (epoch s) or None, every manifest of the name)."""
        every = self.list(project_id, name)
        usable = [m for m in every if m.get('status') == AVAILABLE and
                  (cutoff is None or int((m.get('extra') or {}).get('time_stamp') or 0) <= cutoff)]
        return (usable[-1] if usable else None), every

    def record(self, project_id, name, job_id, started, servers, volumes):
        """Write the manifest of a finished backup session; its index is written ``available`` last (None: no bank)."""
        if self.unavailable:
            return None
        extra = dict(job_id=job_id, time_stamp=int(started), taken_at=iso_utc(started), servers=servers,
                     volumes=volumes)
        index = self.bank.create(PLUGIN, dict(name=name), dict(type='project', id=project_id, key=project_id),
                                 extra=extra, checkpoint_id=ID_PREFIX + uuid.uuid4().hex)
        try:
            return self.bank.update(index, status=AVAILABLE)
        except ProtectionError:
            try:
                self.bank.delete(index)
            except ProtectionError:
                pass  # a manifest not available is never restored from; admin removes it
            raise

    def remove(self, indexes):
        for index in indexes:
            self.bank.delete(index)
        return [i['id'] for i in indexes]

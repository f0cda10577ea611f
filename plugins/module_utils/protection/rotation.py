# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which snapshots belong to a protection, and what a rotating protection (``retain``, ``min_age``) does next.

Pure functions over snapshot-like objects (``id``, ``name``, ``status``,
``created_at``, ``metadata``), shared by every snapshot driver. Only the
collection's own snapshots (``dataprotection_managed: "true"``) ever rotate out.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import (
    MANAGED_KEY,
    PROTECTION_KEY,
    parse_time,
    utcnow,
)


def age_key(snapshot):
    """Oldest first; ties broken by id so concurrent runs agree on the order."""
    return (parse_time(getattr(snapshot, 'created_at', None)) or utcnow(), snapshot.id)


def is_managed(snapshot):
    return (snapshot.metadata or {}).get(MANAGED_KEY) == 'true'


def belongs(snapshot, name):
    """A snapshot of the protection ``name``: created by this collection for it (single or rotated).

    A snapshot that merely has the protection's name, without the collection's metadata, is someone else's:
    never the protection, never rotated or deleted (see ``is_foreign``).
    """
    return is_managed(snapshot) and (snapshot.metadata or {}).get(PROTECTION_KEY) == name


def is_foreign(snapshot, name):
    """A snapshot named like the protection that this collection did not create for it."""
    return snapshot.name == name and not belongs(snapshot, name)


def rotated_name(name, now=None):
    return '%s-%s' % (name, (now or utcnow()).strftime('%Y%m%dT%H%M%S%fZ'))


class RotationPlan:
    """What one run of a rotating protection does: create a snapshot or not, and which ones go."""

    def __init__(self, snapshots, retain, min_age, failed_statuses, now=None):
        managed = [s for s in sorted(snapshots, key=age_key) if is_managed(s)]
        self.snapshots = managed
        healthy = [s for s in managed if s.status not in failed_statuses]
        self.newest = healthy[-1] if healthy else None
        age = None
        if self.newest is not None:
            age = ((now or utcnow()) - (parse_time(self.newest.created_at) or utcnow())).total_seconds()
        self.create = self.newest is None or not min_age or age >= min_age
        # After this run the newest `retain` healthy snapshots stay; failed ones always go.
        keep = retain - 1 if self.create else retain
        self.doomed = [s for s in managed if s.status in failed_statuses] + (healthy[:-keep] if keep else list(healthy))

    @property
    def changed(self):
        return self.create or bool(self.doomed)

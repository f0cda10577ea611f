# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The protection driver contract (after Karbor's protection plugins).

A driver protects one kind of resource: ``status`` finds an existing
protection, ``protect`` creates one, ``restore`` creates new resources from it
and returns an explicit ``resource_map`` (original id -> new id; Karbor's pod
restore lost this and produced ``volumeID: None``), ``delete`` removes it.
Each method takes ``dry_run``: it then computes what would change and touches
nothing, which is how modules predict ``changed`` exactly in check mode.
Drivers are plain Python: they raise errors.ProtectionError, never exit.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.service import CloudService

# Metadata written on everything this collection creates, so retention and
# cleanup only ever touch the collection's own snapshots.
MANAGED_KEY = 'dataprotection_managed'
PROTECTION_KEY = 'dataprotection_protection'
RESTORED_FROM_KEY = 'dataprotection_restored_from'

_UUID = re.compile(r'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$')


def looks_like_id(value):
    return bool(value) and bool(_UUID.match(str(value)))


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_time(value):
    """Parse an OpenStack timestamp (naive ones are UTC)."""
    if not value:
        return None
    text = str(value).replace('Z', '+00:00')
    parsed = datetime.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


class Result:
    """What one driver call did: ``changed`` and the keys the module returns."""

    def __init__(self, changed=False, **data):
        self.changed = changed
        self.data = data

    def as_dict(self):
        result = dict(self.data)
        result['changed'] = self.changed
        return result


class Later:
    """A driver call's last step, left by a bulk run for after every call's first part (``bulk.run_many``): a step
    that mostly waits - the race grace - then holds no slot of the bounded pool while the other calls go on.
    ``ready``: what the step waits on that many steps share (a project's batch of new snapshots); the distinct
    ``ready`` callables run side by side, once each, before the steps."""

    def __init__(self, step, ready=None):
        self.step = step
        self.ready = ready


class ProtectionDriver(CloudService):
    """Base of the drivers: a cloud service (connection, wait settings) with the four-method contract."""

    # The contract. Subclasses implement these four.
    def status(self, source, name):
        raise NotImplementedError

    def protect(self, source, name, options, dry_run=False):
        raise NotImplementedError

    def restore(self, source, name, options, dry_run=False):
        raise NotImplementedError

    def delete(self, source, name, dry_run=False):
        raise NotImplementedError

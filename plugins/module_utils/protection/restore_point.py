# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which restore point ``restore_point`` selects: ``latest``, a name or id, or a time ("newest taken at or before").

Pure functions over objects with ``id``, ``name`` and ``created_at`` (snapshots, share snapshots, checkpoints),
shared by every module that restores.
"""

from __future__ import annotations

import datetime

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import NotFoundError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import parse_time

LATEST = 'latest'


def parse_point_in_time(value):
    """An ISO 8601 date or date-time (naive ones are UTC); None when ``value`` is not one."""
    try:
        parsed = parse_time(value)
    except (TypeError, ValueError):
        return None
    if parsed is not None and len(str(value).strip()) == 10:
        # A bare date means the whole day: everything taken on it is "at or before".
        parsed += datetime.timedelta(days=1) - datetime.timedelta(microseconds=1)
    return parsed


def select(points, restore_point, what, any_by_id=()):
    """The restore point ``restore_point`` names among ``points`` (oldest first).

    ``latest`` (or None) is the newest; an id or a name matches exactly (an id may also be one of ``any_by_id``,
    e.g. a snapshot of the same resource that this collection did not create); otherwise a date or date-time
    selects the newest point taken at or before it. ``what`` names the protection in messages.
    """
    if restore_point in (None, LATEST):
        if not points:
            raise NotFoundError('%s has no restore point' % what)
        return points[-1]
    by_id = [p for p in list(points) + list(any_by_id) if p.id == restore_point]
    if by_id:
        return by_id[0]
    by_name = [p for p in points if p.name == restore_point]
    if by_name:
        return by_name[-1]
    moment = parse_point_in_time(restore_point)
    if moment is None:
        raise NotFoundError('restore_point %s: %s has no restore point with this name or id, and it is not a date '
                            'or time (ISO 8601, e.g. 2026-12-01T06:00:00Z); restore points: %s'
                            % (restore_point, what, describe(points)))
    before = [p for p in points if (parse_time(p.created_at) or moment) <= moment]
    if not before:
        raise NotFoundError('restore_point %s: %s has no restore point taken at or before %s; the oldest is %s'
                            % (restore_point, what, moment.isoformat(), describe(points[:1]) or 'none'))
    return before[-1]


def describe(points):
    return ', '.join('%s (%s, %s)' % (p.name, p.id, p.created_at) for p in points) or 'none'

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module glue shared by the snapshot protection modules (cinder_snapshot_protect, manila_share_protect).

A module names its driver and its source options; this class validates the
shared options, dispatches ``state`` to the driver (single resource or bulk)
and shapes the result and the diff.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule, diff_result
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import bulk
from ansible_collections.dataprotection.openstack.plugins.module_utils.selection import select_resources

SHARED_OPTIONS = ('description', 'force', 'metadata', 'retain', 'min_age', 'restore_name', 'restore_description')


def snapshot_argument_spec(source, names, metadata):
    """The options every snapshot protection module takes; ``source``/``names``/``metadata`` select resources."""
    return {
        source: dict(type='str'),
        names: dict(type='list', elements='str'),
        metadata: dict(type='dict'),
        'query': dict(type='str'),
        'snapshot_name': dict(type='str', required=True),
        'description': dict(type='str'),
        'force': dict(type='bool', default=False),
        'metadata': dict(type='dict'),
        'state': dict(type='str', default='present', choices=['present', 'absent', 'restored']),
        'retain': dict(type='int'),
        'min_age': dict(type='int'),
        'restore_name': dict(type='str'),
        'restore_description': dict(type='str'),
        'concurrency': dict(type='int', default=8),
    }


def selection_kwargs(source, names, metadata):
    """``required_one_of`` / ``mutually_exclusive`` for the resource selection options."""
    group = (source, names, metadata, 'query')
    return dict(required_one_of=[group], mutually_exclusive=[group])


class SnapshotProtectModule(ProtectionModule):
    driver_class = None
    source_option = names_option = metadata_option = None
    list_key = 'snapshots'
    extra_options = ()

    def run(self):
        p = self.params
        if p['retain'] is not None and p['retain'] < 1:
            raise ProtectionError('retain must be >= 1, got %s' % p['retain'])
        if p['min_age'] is not None and p['retain'] is None:
            raise ProtectionError('min_age applies to rotating protections: set retain as well')
        if p['concurrency'] < 1:
            raise ProtectionError('concurrency must be >= 1, got %s' % p['concurrency'])
        driver = self.driver_class(self.conn, **self.wait_options())
        options = dict((k, p[k]) for k in SHARED_OPTIONS + tuple(self.extra_options))
        if p[self.source_option] is None:
            return self.run_bulk(driver, options)
        name, dry_run, source = p['snapshot_name'], self.check_mode, p[self.source_option]
        if p['state'] == 'present':
            result = driver.protect(source, name, options, dry_run=dry_run)
        elif p['state'] == 'absent':
            result = driver.delete(source, name, dry_run=dry_run)
        else:
            result = driver.restore(source, name, options, dry_run=dry_run)
        data = result.as_dict()
        before, after = data.pop('before', None), data.pop('after', None)
        data.setdefault('deleted', [])
        return diff_result(data, before, after, self.want_diff)

    def run_bulk(self, driver, options):
        p, kind = self.params, driver.resource_kind
        if p['state'] == 'restored':
            raise ProtectionError('state=restored takes a single %s' % kind)
        selected = select_resources(driver.list_sources(), view=driver.source_view, names=p[self.names_option],
                                    metadata=p[self.metadata_option], query=p['query'], kind=kind)
        if p['state'] == 'present':
            driver.prefetch_snapshots([s.id for s in selected])
            entries = driver.protect_many(selected, p['snapshot_name'], options, concurrency=p['concurrency'],
                                          dry_run=self.check_mode)
        else:
            driver.prefetch_snapshots([s.id for s in selected])
            entries = driver.delete_many(selected, p['snapshot_name'], concurrency=p['concurrency'],
                                         dry_run=self.check_mode)
        result = bulk.summarize(entries, kind, self.list_key)
        ref = driver.source_ref_key
        before = dict((e[ref], 'unchanged' if not e['changed'] else 'absent') for e in entries)
        after = dict((e[ref], (e.get(driver.snapshot_key) or {}).get('name')) for e in entries)
        return diff_result(result, before, after, self.want_diff)

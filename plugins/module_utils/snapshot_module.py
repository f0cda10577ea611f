# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module glue shared by the snapshot protection modules (cinder_snapshot_protect, manila_share_protect).

A module names its driver and its source options; this class validates the
shared options, dispatches ``state`` to the driver (single resource or bulk)
and shapes the result and the diff.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils import validation
from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule, diff_result
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import bulk
from ansible_collections.dataprotection.openstack.plugins.module_utils.selection import select_resources
from ansible_collections.dataprotection.openstack.plugins.module_utils.timings import Timings

SHARED_OPTIONS = ('description', 'force', 'metadata', 'retain', 'min_age', 'restore_name', 'restore_description',
                  'adopt', 'restore_point')


def selection_kwargs(source, names, metadata):
    """``required_one_of`` / ``mutually_exclusive`` for the resource selection options."""
    group = (source, names, metadata, 'query')
    return dict(required_one_of=[group], mutually_exclusive=[group])


class SnapshotProtectModule(ProtectionModule):
    option_groups = ('openstack', 'wait')
    driver_class = None
    source_option = names_option = metadata_option = None
    list_key = 'snapshots'
    extra_options = ()
    metadata_options = ('metadata',)

    @property
    def name_options(self):
        return (self.source_option, 'protection', 'restore_name', 'restore_point') + tuple(self.extra_options)

    def validate(self):
        super().validate()
        p = self.params
        validation.check_rotation(p['retain'], p['min_age'])
        validation.check_number('concurrency', p['concurrency'], minimum=1)
        validation.check_names(self.names_option, p[self.names_option])
        if p[self.metadata_option] is not None:
            p[self.metadata_option] = validation.check_metadata(self.metadata_option, p[self.metadata_option],
                                                                selector=True)
        validation.check_query('query', p['query'])
        if p['all_projects'] and p[self.source_option] is not None:
            raise validation.InputError('all_projects selects across projects in bulk mode (%s, %s or query); one %s '
                                        'is looked up in the project of the credentials'
                                        % (self.names_option, self.metadata_option, self.source_option))

    def run(self):
        p = self.params
        driver = self.driver_class(self.conn, **self.wait_options())
        options = dict((k, p[k]) for k in SHARED_OPTIONS + tuple(self.extra_options))
        if p[self.source_option] is None:
            return self.run_bulk(driver, options)
        name, dry_run, source = p['protection'], self.check_mode, p[self.source_option]
        if p['state'] == 'present':
            result = driver.protect(source, name, options, dry_run=dry_run)
        elif p['state'] == 'absent':
            result = driver.delete(source, name, dry_run=dry_run)
        else:
            result = driver.restore(source, name, options, dry_run=dry_run)
        self.warn_about(driver, result.data)
        return self.finish(result, list_key=self.list_key, deleted=[])

    def warn_about(self, driver, data, ref=None):
        """Warnings for what the task found and left alone: foreign snapshots, duplicate restored copies."""
        where = ' (%s %s)' % (driver.resource_kind, ref) if ref else ''
        if data.get('foreign_snapshots') and self.params['state'] == 'absent':
            self.ansible.warn('%ss named %s that this collection did not create were left in place%s: %s'
                              % (driver.snapshot_kind, self.params['protection'], where,
                                 ', '.join(data['foreign_snapshots'])))
        if data.get('duplicates'):
            self.ansible.warn('%ss named %s restored from the same %s besides %s (left by runs that did not wait): %s; '
                              'they were not deleted - remove the ones nobody uses'
                              % (driver.resource_kind, self.params['restore_name'], driver.snapshot_kind,
                                 (data.get('restored') or {}).get('id'), ', '.join(data['duplicates'])))

    def run_bulk(self, driver, options):
        p, kind = self.params, driver.resource_kind
        if p['state'] == 'restored':
            raise ProtectionError('state=restored takes a single %s' % kind)
        timings = Timings()
        self.report_timings(timings)
        with timings.step('select'):
            every = driver.list_sources(all_projects=p['all_projects'])
            selected = select_resources(every, view=driver.source_view, names=p[self.names_option],
                                        metadata=p[self.metadata_option], query=p['query'], kind=kind)
        self.refuse_sweep(every, selected, kind)
        entries = self.run_selected(driver, selected, options, timings)
        for entry in entries:
            self.warn_about(driver, entry, ref=entry[driver.source_ref_key])
        extra = dict(projects=bulk.per_project(entries)) if p['all_projects'] else {}
        result = bulk.summarize(entries, kind, self.list_key, **extra)
        ref = driver.source_ref_key
        before = dict((e[ref], 'unchanged' if not e['changed'] else 'absent') for e in entries)
        after = dict((e[ref], (e.get(driver.snapshot_key) or {}).get('name')) for e in entries)
        return diff_result(result, before, after, self.want_diff)

    def by_project(self, driver, selected):
        """``[(project_id, sources)]``: the credentials' own project first. Without all_projects the listing held the
        own project only (Cinder and Manila list other projects' resources only when asked to)."""
        own = driver.current_project_id()
        groups = {own: []}
        for source in selected:
            owner = getattr(source, 'project_id', None) if self.params['all_projects'] else None
            groups.setdefault(owner if isinstance(owner, str) and owner else own, []).append(source)
        return [(pid, sources) for pid, sources in groups.items() if sources]

    def run_selected(self, driver, selected, options, timings=None):
        """Every selected source through ONE bounded pool (``concurrency`` in flight), whichever project it is in;
        each acted on by its own project's driver. Entries in selection order, grouped by project."""
        p = self.params

        def prepared(group):
            # each project's token and snapshot listing, the projects side by side
            project_id, sources = group
            scoped = self.project_driver(driver, project_id, sources)
            if not isinstance(scoped, list):
                scoped.prefetch_snapshots([s.id for s in sources])
                scoped.bulk_run = True
            return project_id, sources, scoped
        timings = timings or Timings()
        with timings.step('projects'):
            groups = bulk.parallel_map(prepared, self.by_project(driver, selected), p['concurrency'])
        work = []
        for project_id, sources, scoped in groups:
            if not isinstance(scoped, list):
                work.extend((scoped, source) for source in sources)

        def act(item):
            scoped, source = item
            if p['state'] == 'present':
                return scoped.protect(source, p['protection'], options, dry_run=self.check_mode)
            return scoped.delete(source, p['protection'], dry_run=self.check_mode)
        done = iter(bulk.run_many(work, act, driver.resource_kind, driver.source_ref_key, p['concurrency'],
                                  ref=lambda item: item[1], timings=timings))
        entries = []
        for project_id, sources, scoped in groups:
            part = scoped if isinstance(scoped, list) else [next(done) for _source in sources]
            if p['all_projects']:
                for entry in part:
                    entry['project_id'] = project_id
            entries.extend(part)
        return entries

    def project_driver(self, driver, project_id, sources):
        """The driver acting AS ``project_id`` (a snapshot belongs to the project that creates it, and only there
        can its volume's owner see it and delete the volume later); failed entries when it cannot act there."""
        if project_id == driver.current_project_id():
            return driver
        kind = driver.resource_kind
        try:
            conn = os_connection.connect(self.params, project_id=project_id)
            # authenticates now: a project the user has no role on fails here, for its sources only
            conn.current_project_id  # pylint: disable=pointless-statement
            return self.driver_class(conn, **self.wait_options())
        except Exception as exc:  # pylint: disable=broad-except
            return bulk.failed_entries(
                sources, kind, driver.source_ref_key,
                '%s %%s: not protected: these credentials cannot act in its project %s (%s); give the user a '
                'role on that project' % (kind, project_id, os_connection.reason_of(exc).replace('%', '%%')))

    def refuse_sweep(self, every, selected, kind):
        """With state=absent, a query or metadata selector that happens to select every resource of the project
        is refused: removing a protection from all of them must be asked for explicitly (query: '[*]')."""
        p = self.params
        if p['state'] != 'absent' or p[self.names_option] is not None or p['query'] == validation.SELECT_ALL_QUERY:
            return
        if len(every) > 1 and len(selected) == len(every):
            option = 'query' if p['query'] is not None else self.metadata_option
            raise validation.InputError(
                '%s selects every %s of the project (%d): with state=absent that would remove the protection %s from '
                'all of them. If that is what you want, say so with query: %r'
                % (option, kind, len(every), p['protection'], validation.SELECT_ALL_QUERY))

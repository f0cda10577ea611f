#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: protection_report
short_description: Report whether Cinder volumes and Manila shares are protected within their RPO
version_added: 0.1.0
description:
  - For each selected volume and share - of the credentials' project, of a list of O(projects) or, for an admin, of
    all projects (O(all_projects)) - finds the newest protection of each protection name (an available snapshot
    this collection made, carrying its C(dataprotection_managed) and C(dataprotection_protection) metadata), its
    age, and its compliance against O(rpo).
  - Each (resource, protection) is V(protected) (newest protection younger than O(rpo)), V(stale) (older),
    V(never) (no available protection) or V(failed) (the newest attempt of the protection is in C(error), or the
    resource itself is in a failed status such as C(error)).
  - With O(report_path), also writes the report as Markdown (C(protection_report.md)) and JUnit XML
    (C(protection_report.xml), a failure per V(stale), V(never) and V(failed)) so AWX and CI show the violations.
  - Read-only towards the cloud - two listing requests per kind of resource and a project listing, whatever the
    number of resources.
author:
  - dataprotection.openstack contributors (@dataprotection)
extends_documentation_fragment:
  - dataprotection.openstack.openstack
attributes:
  check_mode:
    support: full
    description: Reads the same; the report files of O(report_path) are not written in check mode.
  diff_mode:
    support: none
    description: Read-only.
options:
  rpo:
    description:
      - The recovery point objective - the oldest a resource's newest protection may be, for example V(24h),
        V(1d12h), V(90m), V(7d), V(1w), or a number of seconds.
    type: str
    required: true
  protections:
    description:
      - The protection names to check (the C(snapshot_name) of the protect modules). A resource without one of
        them is V(never) for it.
      - Default - every protection name found on the selected resources; a resource without any protection of
        this collection is then one V(never) row.
      - An empty list is refused.
    type: list
    elements: str
  resource_type:
    description:
      - What to report on.
    type: str
    choices: [all, share, volume]
    default: all
  all_projects:
    description:
      - Report on the resources of every project (needs the admin role; for other credentials, only their own
        project). Explicit opt-in - without it only the credentials' project is read.
      - Mutually exclusive with O(projects).
    type: bool
    default: false
  projects:
    description:
      - Names or ids of the projects to report on (an admin may name any project; other credentials only their own).
    type: list
    elements: str
  metadata:
    description:
      - Keep only the resources whose metadata holds all these key/value pairs.
    type: dict
  availability_zones:
    description:
      - Keep only the resources in these availability zones.
    type: list
    elements: str
  statuses:
    description:
      - Keep only the resources in these statuses (for example V(available) and V(in-use)).
    type: list
    elements: str
  name_pattern:
    description:
      - Keep only the resources whose name matches this Python regular expression (searched anywhere in the name;
        anchor it with C(^) and C($)).
    type: str
  query:
    description:
      - A JMESPath expression over the resources left by the other filters (dicts with C(kind), C(id), C(name),
        C(project_id), C(project_name), C(availability_zone), C(size), C(status), C(metadata), C(protections));
        the resources it returns are reported. Needs C(jmespath) on the controller.
    type: str
  include_unprotectable:
    description:
      - Also report resources in a failed status (C(error), C(deleting)...), as V(failed).
    type: bool
    default: true
  report_path:
    description:
      - A directory (created if missing) to write C(protection_report.md) and C(protection_report.xml) into,
        replacing earlier ones. Not written in check mode.
    type: path
  fail_on_violation:
    description:
      - Fail the task (after writing the report) when any row is V(stale), V(never) or V(failed).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Every volume and share of every project protected by "nightly" within a day? (admin)
  dataprotection.openstack.protection_report:
    cloud: mycloud-admin
    all_projects: true
    protections: [nightly]
    rpo: 24h
    report_path: "{{ playbook_dir }}/reports"
  register: report

- name: Show the summary
  ansible.builtin.debug:
    var: report.summary

- name: Fail the CI job when a production volume is out of its RPO
  dataprotection.openstack.protection_report:
    cloud: mycloud
    resource_type: volume
    metadata:
      env: production
    rpo: 6h
    fail_on_violation: true
'''

RETURN = r'''
resources:
  description:
    - One entry per selected resource and protection name, failures first.
    - C(state) is V(protected), V(stale), V(never) or V(failed), with a one-line C(reason); C(snapshot_id),
      C(snapshot_name), C(created_at) and C(age_seconds) describe the newest available protection (null when none);
      C(last_status) is the status of the newest attempt.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: volume
      id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa
      name: db-data
      project_id: 1100f7104ab24882adec42f049016f6d
      project_name: demo
      resource_status: in-use
      protection: nightly
      snapshot_id: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d
      snapshot_name: nightly-20261201T020000000000Z
      created_at: "2026-12-01T02:00:00+00:00"
      age_seconds: 93784.0
      last_status: available
      state: stale
      reason: newest protection is 1d02h old, RPO is 1d00h
summary:
  description:
    - Counts of the rows by state (C(protected), C(stale), C(never), C(failed)), C(resources) and C(rows) (resources
      times protection names), C(compliant) (every row protected), and the counts per project in C(projects).
  returned: always
  type: dict
  sample:
    resources: 3
    rows: 3
    protected: 1
    stale: 1
    never: 1
    failed: 0
    compliant: false
    projects: {demo: {protected: 1, stale: 1, never: 1, failed: 0}}
report_files:
  description: The files written with O(report_path) (empty in check mode or without it).
  returned: always
  type: dict
  sample: {markdown: /srv/reports/protection_report.md, junit: /srv/reports/protection_report.xml}
generated_at:
  description: When the ages were computed (UTC, ISO 8601).
  returned: always
  type: str
  sample: "2026-12-02T13:00:00+00:00"
elapsed:
  description:
    - Seconds the task took, from the start of the module to its result. Also returned when the task fails.
  returned: always
  type: float
  sample: 0.842
'''

from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils import fleet
from ansible_collections.dataprotection.openstack.plugins.module_utils import report
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import utcnow


class ProtectionReportModule(ProtectionModule):
    option_groups = ('openstack',)
    metadata_options = ('metadata',)
    argument_spec = dict(
        rpo=dict(type='str', required=True),
        protections=dict(type='list', elements='str'),
        resource_type=dict(type='str', default='all', choices=['all', 'share', 'volume']),
        all_projects=dict(type='bool', default=False),
        projects=dict(type='list', elements='str'),
        metadata=dict(type='dict'),
        availability_zones=dict(type='list', elements='str'),
        statuses=dict(type='list', elements='str'),
        name_pattern=dict(type='str'),
        query=dict(type='str'),
        include_unprotectable=dict(type='bool', default=True),
        report_path=dict(type='path'),
        fail_on_violation=dict(type='bool', default=False),
    )
    module_kwargs = dict(mutually_exclusive=[('all_projects', 'projects')])

    def run(self):
        p = self.params
        rpo = fleet.parse_duration(p['rpo'])
        if p['protections'] is not None and not p['protections']:
            raise ProtectionError('protections is empty: name the protections to check, or omit it for every '
                                  'protection found')
        if p['metadata'] is not None and not p['metadata']:
            raise ProtectionError('metadata is empty: an empty selector selects nothing; omit it to keep every '
                                  'resource')
        now = utcnow()
        kinds = fleet.KINDS if p['resource_type'] == 'all' else (p['resource_type'],)
        reader = fleet.Fleet(self.conn, all_projects=p['all_projects'], projects=p['projects'])
        records = fleet.select(reader.read(kinds, now=now), metadata=p['metadata'],
                               availability_zones=p['availability_zones'], statuses=p['statuses'],
                               name_pattern=p['name_pattern'], query=p['query'],
                               include_unprotectable=p['include_unprotectable'])
        rows, summary = report.build(records, p['protections'], rpo)
        generated_at = now.isoformat()
        files = {}
        if p['report_path'] and not self.check_mode:
            written = report.write(p['report_path'], {
                'protection_report.md': report.markdown(rows, summary, p['rpo'], generated_at),
                'protection_report.xml': report.junit(rows, summary, p['rpo'], generated_at)})
            files = dict(markdown=written['protection_report.md'], junit=written['protection_report.xml'])
        result = dict(changed=False, resources=rows, summary=summary, report_files=files, generated_at=generated_at)
        for warning in reader.warnings:
            self.ansible.warn(warning)
        if p['fail_on_violation'] and not summary['compliant']:
            raise ProtectionError('%d of %d protection checks violate the RPO %s (%d stale, %d never, %d failed)'
                                  % (summary['rows'] - summary['protected'], summary['rows'], p['rpo'],
                                     summary['stale'], summary['never'], summary['failed']), **result)
        return result


def main():
    ProtectionReportModule()()


if __name__ == '__main__':
    main()

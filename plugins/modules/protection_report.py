#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: protection_report
short_description: Report whether volumes, shares and Kubernetes pods and applications are protected within their RPO
version_added: 0.1.0
description:
  - For each selected volume and share - of the credentials' project, of a list of O(projects) or, for an admin, of
    all projects (O(all_projects)) - finds the newest protection of each protection name and kind, its age, and its
    compliance against O(rpo). The kinds (C(protection_kind) of each row) - V(snapshot) and V(share_snapshot) (an
    available snapshot this collection made, carrying its C(dataprotection_managed) and C(dataprotection_protection)
    metadata); V(freezer_backup) (a volume's Cinder backup that Freezer made for a
    M(dataprotection.openstack.freezer_job) protection, the protection name being its C(backup_name), with
    freezer-api's backup records of the attempts);
    V(checkpoint) (an available checkpoint of M(dataprotection.openstack.k8s_pod_protect) or
    M(dataprotection.openstack.k8s_app_protect) in the O(bank)).
  - With O(bank), also reports Kubernetes pods (V(pod), every pod of O(namespaces) or of all namespaces) and
    applications (V(application), the namespaces holding an application checkpoint in the bank, and those named in
    O(namespaces)), read with the Kubernetes options, with the checkpoints of the bank.
  - A resource protected under the same name by several kinds has one row per kind.
  - Each (resource, protection) is V(protected) (newest protection younger than O(rpo)), V(stale) (older),
    V(never) (no available protection) or V(failed) (the newest attempt of the protection is in C(error), or the
    resource itself is in a failed status such as C(error)).
  - With O(report_path), also writes the report as Markdown (C(protection_report.md)) and JUnit XML
    (C(protection_report.xml), a failure per V(stale), V(never) and V(failed)) so AWX and CI show the violations.
  - Read-only towards the cloud and the bank - two listing requests per kind of resource and a project listing,
    whatever the number of resources; volumes add a Cinder backup listing and a freezer-api backup listing per
    project owning a volume (skipped, and named in RV(skipped_services), when the catalog has no freezer-api). Pods
    and applications take one pod listing (one per namespace of O(namespaces)), one namespace listing and the bank's
    listing with one read per checkpoint.
author:
  - dataprotection.openstack contributors (@dataprotection)
extends_documentation_fragment:
  - dataprotection.openstack.openstack
  - dataprotection.openstack.kubernetes
  - dataprotection.openstack.kubernetes.tls
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
      - What to report on. V(all) is V(volume) and V(share), plus V(pod) and V(application) when O(bank) is given.
      - V(pod) and V(application) need O(bank) and the Kubernetes options (and the kubernetes library).
    type: str
    choices: [all, application, pod, share, volume]
    default: all
  bank:
    description:
      - The checkpoint bank of the M(dataprotection.openstack.k8s_pod_protect) and
        M(dataprotection.openstack.k8s_app_protect) checkpoints to report on (the same option as theirs, see the
        C(dataprotection.openstack.bank) documentation fragment). Without it no pod or application is reported.
    type: dict
    suboptions:
      type:
        description:
          - V(local) - a directory on the host that runs the module; V(swift) - an object-storage container of the
            project the OpenStack options authenticate to.
        type: str
        choices: [local, swift]
        default: local
      path:
        description:
          - Directory of the V(local) bank.
        type: path
        default: ~/.ansible/dataprotection/bank
      container:
        description:
          - Container of the V(swift) bank.
        type: str
        default: dataprotection-bank
  namespaces:
    description:
      - Kubernetes namespaces whose pods are reported (default - every namespace), and namespaces reported as
        applications even without any application checkpoint (V(never) then).
      - An empty list is refused.
    type: list
    elements: str
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
        C(project_id), C(project_name), C(availability_zone), C(size), C(status), C(metadata) (labels for pods and
        applications), C(protections), C(protections_by_kind), and C(namespace) for pods and applications);
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

- name: Volumes (snapshots and Freezer backups), shares, pods and applications of the Swift bank, within 12 hours
  dataprotection.openstack.protection_report:
    cloud: mycloud
    kubeconfig: ~/.kube/prod.yaml
    bank:
      type: swift
    namespaces: [shop, billing]
    rpo: 12h
    report_path: "{{ playbook_dir }}/reports"
  register: report

- name: Pods whose newest checkpoint is in error
  ansible.builtin.debug:
    msg: "{{ report.resources | selectattr('kind', 'eq', 'pod') | selectattr('state', 'eq', 'failed') | list }}"
'''

RETURN = r'''
resources:
  description:
    - One entry per selected resource and protection name, failures first.
    - C(state) is V(protected), V(stale), V(never) or V(failed), with a one-line C(reason); C(protection_kind) is
      V(snapshot), V(share_snapshot), V(freezer_backup) or V(checkpoint) (null on a V(never) row of a name the
      resource has under no kind); C(snapshot_id), C(snapshot_name), C(created_at) and C(age_seconds) describe the
      newest available protection (the snapshot, the Cinder backup Freezer made, or the checkpoint - whose
      C(snapshot_name) is the protection name; null when none); C(last_status) is the status of the newest attempt.
    - Pods (C(kind) V(pod), C(name) V(namespace/pod)) and applications (V(application), C(name) the namespace) have
      C(namespace) and no project.
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
      protection_kind: snapshot
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
      times protection names, one row per kind holding the name), C(compliant) (every row protected), and the
      counts per project in C(projects) (C(namespace <name>) for pods and applications).
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
skipped_services:
  description:
    - Kinds of resources or protections not read because the cloud's catalog has no endpoint for their service - for
      example V(share) on a cloud without Manila, V(freezer_backup) on a cloud without freezer-api.
  returned: always
  type: list
  elements: str
  sample: [freezer_backup]
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
from ansible_collections.dataprotection.openstack.plugins.module_utils import fleet_kinds
from ansible_collections.dataprotection.openstack.plugins.module_utils.args import bank_argument_spec
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank import check_bank
from ansible_collections.dataprotection.openstack.plugins.module_utils import report
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.base import utcnow


class ProtectionReportModule(ProtectionModule):
    option_groups = ('openstack', 'kubernetes')
    metadata_options = ('metadata',)
    argument_spec = dict(
        rpo=dict(type='str', required=True),
        protections=dict(type='list', elements='str'),
        resource_type=dict(type='str', default='all', choices=['all', 'application', 'pod', 'share', 'volume']),
        # the bank option of the k8s modules, without its default: no bank given, no pod or application reported
        bank=dict(type='dict', options=bank_argument_spec()['bank']['options']),
        namespaces=dict(type='list', elements='str'),
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
        if p['namespaces'] is not None and not p['namespaces']:
            raise ProtectionError('namespaces is empty: an empty selector selects nothing; omit it for every '
                                  'namespace')
        if p['bank'] is not None:
            check_bank(p['bank'])
        now = utcnow()
        if p['resource_type'] == 'all':
            kinds = fleet.KINDS + (fleet_kinds.BANK_KINDS if p['bank'] is not None else ())
        else:
            kinds = (p['resource_type'],)
        kube_kinds = [k for k in kinds if k in fleet_kinds.BANK_KINDS]
        if kube_kinds and p['bank'] is None:
            raise ProtectionError('resource_type %s needs bank: the checkpoints of pods and applications are in the '
                                  'bank of k8s_pod_protect / k8s_app_protect' % p['resource_type'])
        found, reader = [], None
        cloud_kinds = [k for k in kinds if k in fleet.KINDS]
        if cloud_kinds:
            reader = fleet.Fleet(self.conn, all_projects=p['all_projects'], projects=p['projects'])
            found.extend(reader.read(cloud_kinds, now=now, interface=p['interface']))
        if kube_kinds:
            pods, attempts = fleet_kinds.kube_records(self.kube, self.bank, kube_kinds, p['namespaces'])
            found.extend(fleet.with_checkpoints(pods, attempts, now))
        records = fleet.select(found, metadata=p['metadata'],
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
        result = dict(changed=False, resources=rows, summary=summary, report_files=files, generated_at=generated_at,
                      skipped_services=list(reader.skipped) if reader else [])
        for warning in (reader.warnings if reader else ()):
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

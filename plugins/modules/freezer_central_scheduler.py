#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: freezer_central_scheduler
short_description: Register Freezer's central (service-mode) scheduler and report the jobs it serves
version_added: 0.1.0
description:
  - Ensures the registration of a central freezer-scheduler client in freezer-api (O(state=present)) - C(client_id),
    C(hostname), C(is_central=true) and the capabilities C(supported_actions), C(supported_modes),
    C(supported_storages), C(supported_engines), restricted by default to Cinder-native backups
    (C(cindernative); C(backup), C(restore), C(admin)).
  - When a job is created for a central client, freezer-api creates a Keystone trust from the job's owner to its own
    service user, and the central scheduler runs the job through that trust. One scheduler thus serves every
    project. Run this module with the credentials of that service user (the C(keystone_authtoken) user of
    freezer-api, roles C(service) and C(member) in its project), which is also the scheduler's C(service_auth) user.
  - Drift is repaired - a client registered as non-central, with another hostname or with other (for example wider)
    capabilities is deleted and registered again, since freezer-api cannot change C(is_central) of a registration.
  - freezer-api keeps one registration row per C(client_id) and C(hostname), and checks a job's capabilities
    against whichever row it reads first. Every row of the O(client_id) is listed; when there is more than one, all
    are removed and the wanted one registered, in one run, and the removed rows are returned in RV(removed).
  - Reports the jobs the scheduler will serve across projects (O(report_jobs)). A job without a trust is flagged,
    because the scheduler silently skips it in service mode, and so is a job asking for a capability the client
    does not have (for example mode C(fs)). Trust ids are never returned.
  - O(state=absent) unregisters the client (every row of the O(client_id)). Check mode predicts C(changed) exactly and changes nothing.
author:
  - dataprotection.openstack contributors (@dataprotection)
extends_documentation_fragment:
  - dataprotection.openstack.openstack
attributes:
  check_mode:
    support: full
    description: Reads the registration and the jobs; registers and deletes nothing.
  diff_mode:
    support: full
    description: Shows the registration before and after.
options:
  client_id:
    description:
      - The fixed C(client_id) of the central scheduler (C([scheduler] client_id) in its C(scheduler.conf)).
    type: str
    required: true
  hostname:
    description:
      - Hostname the scheduler registers with (what Python's C(socket.gethostname()) returns on the scheduler
        host, Ansible's C(ansible_facts.nodename)). Required with O(state=present).
    type: str
  description:
    description:
      - Description of the client. When omitted, an existing description is left as it is.
    type: str
  supported_actions:
    description:
      - Freezer actions the scheduler runs; jobs with other actions are skipped by it.
    type: list
    elements: str
    choices: [backup, restore, info, admin, exec]
    default: [backup, restore, admin]
  supported_modes:
    description:
      - Freezer modes the scheduler runs. The default keeps the central scheduler, which acts in every project,
        away from file-system and database modes that would run on its own host.
    type: list
    elements: str
    choices: [fs, mongo, mysql, sqlserver, cinder, glance, cindernative, nova]
    default: [cindernative]
  supported_storages:
    description:
      - Freezer storages the scheduler accepts.
    type: list
    elements: str
    choices: [local, swift, ssh, s3, ftp, ftps]
    default: [swift]
  supported_engines:
    description:
      - Freezer engines the scheduler accepts (freezer-api does not check them when jobs are created; the scheduler
        does).
    type: list
    elements: str
    choices: [tar, rsync, rsyncv2, nova, osbrick, glance]
    default: [tar]
  report_jobs:
    description:
      - List the jobs addressed to this client in every project the credentials see, with their trust status.
    type: bool
    default: true
  state:
    description:
      - V(present) ensures the registration; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Freezer 19.0.0 - C(POST /v2/{project_id}/clients) with C(is_central) needs the roles C(service) and C(member)
    (or C(admin)); C(service) alone is refused with 403.
  - The role C(dataprotection.openstack.freezer_scheduler) installs and configures the scheduler itself and calls
    this module.
seealso:
  - module: dataprotection.openstack.freezer_job
'''

EXAMPLES = r'''
- name: Register the central scheduler of backup01 (as freezer-api's service user)
  dataprotection.openstack.freezer_central_scheduler:
    auth:
      auth_url: https://keystone.example.com:5000/v3
      username: freezer
      password: "{{ vault_freezer_service_password }}"
      project_name: service
      user_domain_name: Default
      project_domain_name: Default
    client_id: central-scheduler
    hostname: backup01
  register: central

- name: Fail when a job would be skipped by the central scheduler
  ansible.builtin.assert:
    that: central.unserved_jobs | length == 0
    fail_msg: "jobs the scheduler will not run: {{ central.jobs | rejectattr('served') | list }}"

- name: Also allow Glance-based volume backups to Swift
  dataprotection.openstack.freezer_central_scheduler:
    cloud: freezer-service
    client_id: central-scheduler
    hostname: backup01
    supported_modes: [cindernative, cinder]
    supported_storages: [swift]
    supported_engines: [tar]

- name: Unregister it
  dataprotection.openstack.freezer_central_scheduler:
    cloud: freezer-service
    client_id: central-scheduler
    state: absent
'''

RETURN = r'''
client:
  description: The registration after the task (C(null) after O(state=absent)). In check mode, the planned one.
  returned: always
  type: dict
  sample:
    client_id: central-scheduler-01
    hostname: backup01.example.net
    is_central: true
    description: Central scheduler of the backup network
    uuid: 0d5c3b8e-9f1a-4c2d-8e7f-6a5b4c3d2e1f
    project_id: 4e1f6b2a9c7d4e3f8a0b1c2d3e4f5a6b
    user_id: 9a8b7c6d5e4f4a3b2c1d0e9f8a7b6c5d
    supported_actions: [admin, backup, restore]
    supported_modes: [cindernative]
    supported_storages: [swift]
    supported_engines: [tar]
  contains:
    client_id:
      description: Client id.
      type: str
      sample: central-scheduler-01
    hostname:
      description: Hostname.
      type: str
      sample: backup01.example.net
    is_central:
      description: Whether freezer-api treats the client as central (creates trusts for its jobs).
      type: bool
      sample: true
    supported_actions:
      description: Actions.
      type: list
      elements: str
      sample: [admin, backup, restore]
    supported_modes:
      description: Modes.
      type: list
      elements: str
      sample: [cindernative]
    supported_storages:
      description: Storages.
      type: list
      elements: str
      sample: [swift]
    supported_engines:
      description: Engines.
      type: list
      elements: str
      sample: [tar]
    project_id:
      description: Project that owns the registration.
      type: str
      sample: 4e1f6b2a9c7d4e3f8a0b1c2d3e4f5a6b
    user_id:
      description: User that registered it.
      type: str
      sample: 9a8b7c6d5e4f4a3b2c1d0e9f8a7b6c5d
    uuid:
      description: freezer-api's id of the registration.
      type: str
      sample: 0d5c3b8e-9f1a-4c2d-8e7f-6a5b4c3d2e1f
    description:
      description: Description.
      type: str
      sample: Central scheduler of the backup network
registrations:
  description:
    - Every registration row of the O(client_id) before the task (one per hostname), with the fields of RV(client).
  returned: always
  type: list
  elements: dict
  sample:
    - {client_id: central-scheduler-01, hostname: backup01.example.net, is_central: true, description: null,
       uuid: 0d5c3b8e-9f1a-4c2d-8e7f-6a5b4c3d2e1f, project_id: 4e1f6b2a9c7d4e3f8a0b1c2d3e4f5a6b,
       user_id: 9a8b7c6d5e4f4a3b2c1d0e9f8a7b6c5d, supported_actions: [admin, backup, restore],
       supported_modes: [cindernative], supported_storages: [swift], supported_engines: [tar]}
removed:
  description:
    - The registration rows the task removed (in check mode, would remove), with the fields of RV(client). A
      replaced registration is removed and registered again, so it is listed here too.
  returned: always
  type: list
  elements: dict
  sample:
    - {client_id: central-scheduler-01, hostname: old-backup.example.net, is_central: false, description: null,
       uuid: 5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d1c, project_id: 4e1f6b2a9c7d4e3f8a0b1c2d3e4f5a6b,
       user_id: 9a8b7c6d5e4f4a3b2c1d0e9f8a7b6c5d, supported_actions: [admin, backup, exec, info, restore],
       supported_modes: [cinder, cindernative, fs], supported_storages: [swift], supported_engines: [tar]}
action:
  description: What happened - C(created), C(recreated) (drift repaired), C(deleted) or C(unchanged).
  returned: always
  type: str
  sample: unchanged
drift:
  description: Why the existing registration was replaced (empty when it was not).
  returned: always
  type: list
  elements: str
  sample: ["registered as a non-central client (freezer-api cannot change is_central)",
           "supported_modes wider than wanted: also fs"]
jobs:
  description: Jobs addressed to the client in every project the credentials see.
  returned: when O(report_jobs=true) and the client exists or is planned
  type: list
  elements: dict
  sample:
    - job_id: 6f5e4d3c2b1a40998877665544332211
      project_id: 4e1f6b2a9c7d4e3f8a0b1c2d3e4f5a6b
      user_id: 1c2d3e4f5a6b4c7d8e9f0a1b2c3d4e5f
      description: "nightly (volume 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa)"
      status: scheduled
      result: success
      has_trust: true
      trustor_user_id: 1c2d3e4f5a6b4c7d8e9f0a1b2c3d4e5f
      served: true
      reasons: []
    - job_id: 0a9b8c7d6e5f40312233445566778899
      project_id: 4e1f6b2a9c7d4e3f8a0b1c2d3e4f5a6b
      user_id: 1c2d3e4f5a6b4c7d8e9f0a1b2c3d4e5f
      description: weekly
      status: scheduled
      result: ''
      has_trust: false
      trustor_user_id: null
      served: false
      reasons: ["no user_credentials.trust_id: the central scheduler skips it (create the job by POSTing to the jobs
                 collection for this central client so freezer-api creates the trust)"]
  contains:
    job_id:
      description: Job id.
      type: str
      sample: 6f5e4d3c2b1a40998877665544332211
    project_id:
      description: Project of the job.
      type: str
      sample: 4e1f6b2a9c7d4e3f8a0b1c2d3e4f5a6b
    user_id:
      description: Owner of the job (the trustor).
      type: str
      sample: 1c2d3e4f5a6b4c7d8e9f0a1b2c3d4e5f
    description:
      description: Job description.
      type: str
      sample: nightly
    status:
      description: C(job_schedule.status).
      type: str
      sample: scheduled
    result:
      description: C(job_schedule.result).
      type: str
      sample: success
    has_trust:
      description: Whether freezer-api stored a trust for the job (the trust id itself is never returned).
      type: bool
      sample: true
    trustor_user_id:
      description: The user who delegated the trust.
      type: str
      sample: 1c2d3e4f5a6b4c7d8e9f0a1b2c3d4e5f
    served:
      description: Whether the central scheduler will run the job.
      type: bool
      sample: true
    reasons:
      description: Why it will not (no trust, a capability the client lacks, completed or removed).
      type: list
      elements: str
      sample: []
untrusted_jobs:
  description: Ids of the jobs without a trust, which the central scheduler skips.
  returned: when O(report_jobs=true) and the client exists or is planned
  type: list
  elements: str
  sample: ["0a9b8c7d6e5f40312233445566778899"]
unserved_jobs:
  description: Ids of all the jobs the scheduler will not run (see C(jobs[].reasons)).
  returned: when O(report_jobs=true) and the client exists or is planned
  type: list
  elements: str
  sample: ["0a9b8c7d6e5f40312233445566778899"]
projects:
  description: Projects with at least one job the scheduler serves.
  returned: when O(report_jobs=true) and the client exists or is planned
  type: list
  elements: str
  sample: ["4e1f6b2a9c7d4e3f8a0b1c2d3e4f5a6b"]
elapsed:
  description:
    - Seconds the task took, from the start of the module to its result. Also returned when the task fails.
  returned: always
  type: float
  sample: 42.137
'''

from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.central_scheduler import (
    ALL_ACTIONS,
    ALL_ENGINES,
    ALL_MODES,
    ALL_STORAGES,
    CAPABILITIES,
    DEFAULTS,
    CentralSchedulerRegistration,
)


class FreezerCentralSchedulerModule(ProtectionModule):
    option_groups = ('openstack',)
    # An empty client_id would address the clients collection itself (state=absent: DELETE /clients/ -> 405).
    name_options = ('client_id', 'hostname')
    argument_spec = dict(
        client_id=dict(type='str', required=True),
        hostname=dict(type='str'),
        description=dict(type='str'),
        supported_actions=dict(type='list', elements='str', choices=list(ALL_ACTIONS),
                               default=list(DEFAULTS['supported_actions'])),
        supported_modes=dict(type='list', elements='str', choices=list(ALL_MODES),
                             default=list(DEFAULTS['supported_modes'])),
        supported_storages=dict(type='list', elements='str', choices=list(ALL_STORAGES),
                                default=list(DEFAULTS['supported_storages'])),
        supported_engines=dict(type='list', elements='str', choices=list(ALL_ENGINES),
                               default=list(DEFAULTS['supported_engines'])),
        report_jobs=dict(type='bool', default=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module_kwargs = dict(required_if=[('state', 'present', ['hostname'])])

    def validate(self):
        super().validate()
        for name in CAPABILITIES:
            if not self.params[name]:
                raise ProtectionError('%s must list at least one value' % name)

    def run(self):
        p = self.params
        driver = CentralSchedulerRegistration(self.conn, interface=p['interface'])
        if p['state'] == 'absent':
            result = driver.absent(p['client_id'], report_jobs=p['report_jobs'], dry_run=self.check_mode)
        else:
            result = driver.ensure(p['client_id'], p['hostname'], dict((n, p[n]) for n in CAPABILITIES),
                                   description=p['description'], report_jobs=p['report_jobs'],
                                   dry_run=self.check_mode)
        return self.finish(result)


def main():
    FreezerCentralSchedulerModule()()


if __name__ == '__main__':
    main()

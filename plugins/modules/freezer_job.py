#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: freezer_job
short_description: Freezer backup, restore and admin jobs for projects, servers and volumes
version_added: 0.1.0
description:
  - Manages OpenStack Freezer jobs that protect a resource, in two ways.
  - A managed, scheduled job (O(state=present), O(state=absent), O(state=started), O(state=stopped)) with
    backup actions for the resource, an optional retention action (O(remove_older_than) or
    O(fullbackup_rotation)) and a O(schedule). The job is found by the resource and O(protection) together
    (markers the collection writes into its actions) and updated in place when it differs.
    V(started) and V(stopped) send the Freezer job events C(start) and C(stop).
  - A one-shot operation (O(operation=backup), O(operation=restore), O(operation=admin)) creates a job, starts
    it, waits for its C(job_schedule.result), checks the outcome in Cinder, and removes the job and its actions.
    C(fail) and C(aborted) fail the task; a job that no freezer-scheduler picks up fails at O(timeout) with that
    reason. A failed backup leaves nothing behind (its Cinder backups and Freezer backup records are removed,
    or named in the message).
  - Resource types - V(volume) is backed up with a Cinder backup (O(volume_mode=cindernative)) or through Glance
    (O(volume_mode=cinder)); V(server) uses Freezer's C(nova) mode for an image-booted server (its disk and its
    name, flavor, image and networks go to O(storage)) and backs up the system volume of a volume-booted server;
    V(project) protects all the project's servers and volumes; V(image) and V(network) are not backed up on their
    own and return C(changed=false) with a message.
  - O(operation=restore) of an image-booted server creates a NEW server from its backup (O(restore_server_name),
    O(restore_flavor), O(restore_network)), also after the server and its Glance image were deleted (give the
    server's id); of a volume-booted server, a NEW volume from the Cinder backup of its boot volume and a NEW server
    booted from it, also after the server and its volume were deleted (the backup records the server's name, flavor
    and networks in the Cinder backup's metadata); of a project, every server and volume of the backup as new resources named with
    O(restore_prefix). Both return C(resource_map) (old id to new id) and find their restored resources again on a
    second run.
  - Check mode predicts C(changed) exactly and creates nothing. Trust ids and secrets are never returned.
author:
  - dataprotection.openstack contributors (@dataprotection)
extends_documentation_fragment:
  - dataprotection.openstack.openstack
  - dataprotection.openstack.wait
attributes:
  check_mode:
    support: full
    description: Looks the resource and job up, creates, updates and starts nothing.
  diff_mode:
    support: full
    description: Shows the job before and after.
options:
  resource_type:
    description:
      - Kind of resource to protect.
    type: str
    choices: [project, server, volume, image, network]
    default: volume
  resource_id:
    description:
      - Name or id of the resource. Volume names must be unique in the project.
      - For O(resource_type=project) the project of the credentials is used when omitted; another project
        fails (scope the connection to it).
      - Without a compute service in the catalog, a server is found by id through its Cinder attachments.
    type: str
  protection:
    description:
      - Name of the protection. Freezer's C(backup_name) of every action, and the name of the Cinder backups of
        C(cindernative) actions.
      - Required, except with O(operation=admin) - without it the admin removes every Freezer backup of the volume
        (Freezer's own, volume-wide C(admin) action); with it only this protection's backups are removed.
    type: str
    aliases: [backup_name]
  description:
    description:
      - Description (Freezer's job name) of the job. Default - O(protection) for managed jobs.
    type: str
  client_id:
    description:
      - The Freezer client (freezer-scheduler) that runs the job. It must be registered in the project; a
        scheduler registers itself when it starts.
      - For a central (service-mode) client the job is POSTed to the collection URL so that freezer-api creates
        the trust, and the task fails when no C(user_credentials) came back.
      - Required unless O(state=absent).
    type: str
  state:
    description:
      - Managed job. V(present) ensures the job exists and equals the wanted document; V(absent) removes it and
        its actions; V(started) also sends C(start) unless the job is scheduled or running; V(stopped) sends
        C(stop) when it is.
      - Ignored with O(operation). Default V(present).
    type: str
    choices: [present, absent, started, stopped]
  operation:
    description:
      - One-shot job instead of a managed one - V(backup), V(restore) (C(cindernative) restores the Cinder backup
        named O(protection) into the volume itself, or into a new volume, see O(restore_to)) or V(admin) (removes
        backups, all of them unless O(remove_older_than) or O(fullbackup_rotation) say otherwise).
      - V(admin) with O(protection) removes only that protection's backups. For C(cindernative) the collection removes
        them through Cinder itself, newest first (Freezer's agent would remove every Freezer backup of the volume,
        whatever its name), with their Freezer backup records; only backups Freezer made are touched, and a second
        run reports C(changed=false). Without O(protection) a Freezer C(admin) job removes every Freezer backup of
        the volume.
      - V(admin) of a project with O(protection) also removes the backups of the volumes gone from the project since,
        and the project backups' manifests (all of them when everything is removed, else those naming a removed
        backup); see RV(deleted_manifests).
      - V(backup) of a project records what it covered (a manifest, RV(manifest)) in the project's object-storage
        container C(dataprotection-bank); it fails before starting when that container cannot be read. With
        O(wait=false), or on a cloud without object storage (a warning says so), no manifest is recorded.
      - Needs O(timeout) > 0 (the task waits for the scheduler) unless O(wait=false).
      - With O(wait=false) the job is started and left in place (not removed).
    type: str
    choices: [backup, restore, admin]
  schedule:
    description:
      - When the managed job runs. Give one of O(schedule.interval), O(schedule.cron) or O(schedule.date).
      - Without it Freezer runs the job once, a few seconds after it is started.
    type: dict
    suboptions:
      interval:
        description:
          - Freezer interval, for example C(1 days), C(6 hours), C(30 minutes) or C(continuous) - a number, one space
            and a plural unit (C(weeks), C(days), C(hours), C(minutes), C(seconds)), as freezer-scheduler reads it.
        type: str
      cron:
        description:
          - Five cron fields C(minute hour day month day_of_week), for example C(0 2 * * *).
        type: str
      date:
        description:
          - Run once at this ISO 8601 time, for example C(2026-01-31T02:00:00).
        type: str
      start_date:
        description:
          - Do not run before this ISO 8601 time.
        type: str
      end_date:
        description:
          - Do not run after this ISO 8601 time.
        type: str
  volume_mode:
    description:
      - How volumes are backed up - V(cindernative) (a Cinder backup) or V(cinder) (through a Glance image to
        O(storage)).
    type: str
    choices: [cindernative, cinder]
    default: cindernative
  storage:
    description:
      - Freezer storage of the C(nova) and C(cinder) modes (ignored by C(cindernative)).
    type: str
    choices: [swift, local, ssh, s3, ftp, ftps]
    default: swift
  container:
    description:
      - Container (or path) in O(storage). Default - C(freezer_<protection>). For C(cindernative) backups it is
        the Cinder backup container.
    type: str
  engine_name:
    description:
      - Freezer engine of the C(cinder) mode (the C(nova) mode always uses the C(nova) engine).
    type: str
    choices: [tar, rsync, rsyncv2, nova, osbrick, glance]
  incremental:
    description:
      - Incremental C(cindernative) backups (Cinder needs a full backup first).
    type: bool
    default: false
  remove_older_than:
    description:
      - Retention in days. Managed jobs get an admin action after the backup actions that removes the Freezer
        backups older than this; for O(operation=admin) it selects what is removed (default all, C(0)).
    type: float
  fullbackup_rotation:
    description:
      - Retention by count for C(cindernative) - keep this many full backups (with their incrementals).
      - Mutually exclusive with O(remove_older_than).
    type: int
  restore_name:
    description:
      - Name (description) of the restore job. C(cindernative) restores overwrite the volume itself, as Cinder
        backup restores do; nothing new is created unless O(restore_to=new) (then also the default name of the new
        volume).
    type: str
  restore_from_date:
    description:
      - Restore the newest backup taken before this ISO 8601 time (for a project, the newest project backup that
        started at or before it).
    type: str
  restore_backup_id:
    description:
      - Restore exactly this Cinder backup (C(cindernative)); it must exist in the project. Default - the newest
        available backup of the volume named O(protection).
    type: str
  restore_to:
    description:
      - Where a C(cindernative) restore of a volume writes - V(existing) (the volume itself, through a Freezer job) or
        V(new) (a new volume, through Cinder's backup-restore API; Freezer's agent cannot do this). Default -
        V(existing) when the volume exists, else V(new), so the backups of a deleted volume (give its id) are
        restored into a new one (disaster recovery).
      - A new volume carries the metadata C(dataprotection_restored_from) (the backup id); a second run finds it
        and reports C(changed=false). A restore that fails removes the new volume.
      - With O(volume_mode=cinder) Freezer's agent always restores into a NEW volume (from a Glance image it uploads
        from O(storage)); V(existing) is refused. The new volume carries C(dataprotection_restored_from) (the Freezer
        backup id) too, so a second run reports C(changed=false).
    type: str
    choices: [existing, new]
  restore_volume_name:
    description:
      - Name of the new volume of O(restore_to=new). Default - O(restore_name), else C(<protection>-restore).
      - With O(volume_mode=cinder) the name the volume Freezer's agent restored is given. Default - O(restore_name),
        else the agent's C(<volume name>~<backup time>).
    type: str
  restore_availability_zone:
    description:
      - Availability zone of the new volume of O(restore_to=new). Default - the backup's.
    type: str
  restore_volume_type:
    description:
      - Volume type of the new volume of O(restore_to=new). Default - Cinder's default type.
    type: str
  restore_network:
    description:
      - Network of the server a C(nova) restore creates - a network name or id, or V(none) or V(auto). Default - the
        networks recorded in the backup (matched by name, as Freezer's agent does).
      - Freezer 19's agent ignores its own C(nova_restore_network); when this option is set the collection boots the
        restored server itself from the image the agent restored, and removes the agent's server.
    type: str
  restore_server_name:
    description:
      - Name of the NEW server a restore of a server creates (C(nova) mode for an image-booted server; for a
        volume-booted server the new boot volume gets this name too). Default - Freezer's
        C(<original name>~<backup time>).
      - The server carries the metadata C(dataprotection_restored_from) (the Freezer backup id); a second run
        finds it by name and backup and reports C(changed=false).
    type: str
  restore_prefix:
    description:
      - Restore of a project (O(resource_type=project), O(operation=restore)) - every server and volume of ONE project
        backup is recreated as a NEW resource named C(<restore_prefix><original name>) (a deleted
        volume - C(<restore_prefix><volume id>)). Default - C(<protection>-).
      - The backup is the newest one whose manifest (see RV(manifest)) was taken at or before O(restore_from_date).
        Each one-shot project backup records what it covered as a manifest in the project's object-storage container
        C(dataprotection-bank). Backups without a manifest (made before manifests existed, or by a managed job)
        - every server and volume ever backed up under O(protection) is restored, with a warning that says so.
    type: str
  restore_flavor:
    description:
      - Flavor (name or id) of the server a restore of a server creates. Default - the flavor recorded in the backup
        (looked up by name, so it must still exist).
      - When set, the collection boots the restored server itself from the image the agent restored, and removes the
        agent's server.
    type: str
  max_retries:
    description:
      - How often the scheduler retries a failed action.
    type: int
    default: 0
  max_retries_interval:
    description:
      - Seconds between two retries.
    type: int
    default: 10
  extra_action_options:
    description:
      - More Freezer action options merged into every action (for example C(ssh_host), C(ssh_username),
        C(ssh_key) for O(storage=ssh)). Never returned in clear when they hold secrets.
      - Values are strings, numbers or booleans. Keys the module sets from its own options (C(backup_name), C(mode),
        C(storage), C(container)...) are refused.
    type: dict
notes:
  - Freezer's C(cindernative) agent reports success as soon as Cinder accepted the request; the module then waits
    for the Cinder backup (or restore) to finish, within O(timeout), and fails with Cinder's status otherwise.
  - freezer-api keeps no failure reason for a job; the task names the job, the actions and the scheduler
    client whose log holds the agent's error.
  - Deleting a Freezer job does not delete its actions; the module removes both.
  - C(nova) mode (an image-booted server) - the backup is the server's disk (a Nova snapshot, streamed by the agent
    to O(storage) and its temporary Glance image removed) and its description (name, flavor, image, networks), so
    a restore works after the server and its Glance image were deleted (give the server's id). The restore uploads
    the disk as a Glance image C(freezer_restore_<server name>), boots a NEW server from it, waits for it to be
    C(ACTIVE) and returns C(resource_map) (old server id to new server id); the image stays (the server boots from
    it). A server that goes to C(ERROR) fails the task with Nova's fault, and the server and image are removed.
seealso:
  - module: dataprotection.openstack.cinder_snapshot_protect
'''

EXAMPLES = r'''
- name: Nightly Cinder backup of a volume, keep 7 days, run by the project's freezer-scheduler
  dataprotection.openstack.freezer_job:
    cloud: mycloud
    resource_type: volume
    resource_id: db-data
    protection: db-data-nightly
    client_id: backup-node-1
    schedule:
      cron: "0 2 * * *"
    remove_older_than: 7
    state: started

- name: Back the volume up now and wait for the Cinder backup
  dataprotection.openstack.freezer_job:
    cloud: mycloud
    resource_id: db-data
    protection: before-upgrade
    client_id: backup-node-1
    operation: backup
    timeout: 900
  register: backup

- name: Put the data back (the volume must be available, not attached)
  dataprotection.openstack.freezer_job:
    cloud: mycloud
    resource_id: db-data
    protection: before-upgrade
    client_id: backup-node-1
    operation: restore
    restore_name: restore-db-data-before-upgrade
    timeout: 900

- name: Back up every server and volume of the project once
  dataprotection.openstack.freezer_job:
    cloud: mycloud
    resource_type: project
    protection: tenant-weekly
    client_id: backup-node-1
    operation: backup
    storage: swift
    timeout: 3600

- name: Remove the backups of the protection before-upgrade (the volume's other backups stay)
  dataprotection.openstack.freezer_job:
    cloud: mycloud
    resource_id: db-data
    protection: before-upgrade
    client_id: backup-node-1
    operation: admin

- name: Remove every Freezer backup of the volume (Freezer's volume-wide admin job)
  dataprotection.openstack.freezer_job:
    cloud: mycloud
    resource_id: db-data
    client_id: backup-node-1
    operation: admin
    timeout: 900

- name: Disaster recovery - the volume was deleted; restore its last backup into a new volume
  dataprotection.openstack.freezer_job:
    cloud: mycloud
    resource_id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa  # the deleted volume's id
    protection: before-upgrade
    client_id: backup-node-1
    operation: restore
    restore_to: new
    restore_volume_name: db-data-recovered
    restore_availability_zone: nova
    timeout: 900
  register: recovered

- name: Back up an image-booted server (Freezer nova mode - its disk goes to Swift)
  dataprotection.openstack.freezer_job:
    cloud: mycloud
    resource_type: server
    resource_id: web-1
    protection: web-1-weekly
    client_id: backup-node-1
    operation: backup
    timeout: 1800

- name: The server and its image are gone - boot a NEW server from its backup, with another flavor
  dataprotection.openstack.freezer_job:
    cloud: mycloud
    resource_type: server
    resource_id: 8e7d6c5b-4a39-4281-b7c6-d5e4f3a2b1c0  # the deleted server's id
    protection: web-1-weekly
    client_id: backup-node-1
    operation: restore
    restore_server_name: web-1-recovered
    restore_flavor: m1.small
    timeout: 1800
  register: recovered_server  # recovered_server.resource_map: {old server id: new server id}

- name: Recreate every server and volume of the project's tenant backup as dr-<name>
  dataprotection.openstack.freezer_job:
    cloud: mycloud
    resource_type: project
    protection: tenant-weekly
    client_id: backup-node-1
    operation: restore
    restore_prefix: dr-
    timeout: 3600

- name: Stop scheduling the nightly job, then remove it
  dataprotection.openstack.freezer_job:
    cloud: mycloud
    resource_id: db-data
    protection: db-data-nightly
    state: absent
'''

RETURN = r'''
job:
  description:
    - The Freezer job (C(job_id), C(client_id), C(description), C(job_schedule), C(job_actions)).
      C(user_credentials) values and secret action options are replaced by C(********).
    - For a one-shot operation the job as it finished (it has been removed since); in check mode the planned job.
    - C(null) after O(state=absent) and for image and network resources.
  returned: always
  type: dict
  sample:
    job_id: 6f5e4d3c2b1a40998877665544332211
    client_id: central-scheduler-01
    description: "nightly (volume 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa)"
    project_id: 4e1f6b2a9c7d4e3f8a0b1c2d3e4f5a6b
    user_id: 1c2d3e4f5a6b4c7d8e9f0a1b2c3d4e5f
    job_schedule: {schedule_interval: 1 days, status: scheduled, event: start, result: success}
    job_actions:
      - freezer_action: {action: backup, backup_name: nightly, mode: cindernative,
                         cindernative_vol_id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa}
        max_retries: 0
        max_retries_interval: 10
        mandatory: false
    user_credentials: {trust_id: "********", trustor_user_id: "********"}
resource:
  description: The protected resource (C(type), C(id), and per type C(volume), C(boot), C(boot_volume),
    C(image_id), C(networks), C(servers), C(volumes)). A C(nova) restore adds C(source_exists), C(flavor) and
    C(backup) (the Freezer backup restored - C(backup_id), C(time_stamp)), as the backup recorded them.
  returned: always
  type: dict
  sample:
    type: volume
    id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa
    name: db-data
    volume: {id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa, name: db-data, status: in-use, size: 10,
             availability_zone: nova, bootable: false,
             attachments: [{server_id: 8e7d6c5b-4a39-4281-b7c6-d5e4f3a2b1c0, device: /dev/vdb}]}
backups:
  description: Freezer backup records produced by a one-shot backup (C(backup_id), C(status), C(backup_metadata)).
  returned: O(operation=backup)
  type: list
  elements: dict
  sample:
    - backup_id: 8c7b6a5948374625a1b2c3d4e5f6a7b8_0
      status: completed
      backup_metadata: {action: backup, backup_name: nightly, mode: cindernative,
                        cindernative_vol_id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa, time_stamp: 1796090400}
cinder_backups:
  description: The Cinder backups a one-shot C(cindernative) backup created, after Cinder finished them.
  returned: O(operation=backup)
  type: list
  elements: dict
  sample:
    - id: c4d5e6f7-0811-4a2b-9c3d-4e5f6a7b8c9d
      name: nightly
      status: available
      volume_id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa
      size: 10
      created_at: "2026-12-01T02:00:05.000000"
      is_incremental: false
      metadata: {}
deleted_backups:
  description: Ids of Cinder backups an admin operation removed (in check mode, would remove, for O(protection)).
  returned: O(operation=admin)
  type: list
  elements: str
  sample: ["c4d5e6f7-0811-4a2b-9c3d-4e5f6a7b8c9d"]
deleted_manifests:
  description:
    - Ids of the manifests of project backups an admin operation with O(protection) removed (in check mode, would
      remove) - the ones naming a removed Cinder backup; for a project all of them when everything is removed.
  returned: O(operation=admin) with O(protection)
  type: list
  elements: str
  sample: ["freezer_project-9f1c2d3e4b5a69788796a5b4c3d2e1f0"]
manifest:
  description:
    - What one project backup covered, kept as a checkpoint (plugin C(freezer_project)) in the project's object-storage
      container C(dataprotection-bank). A backup of a project returns the one it wrote; a restore of a project the
      one it restored (C(null) when there is none and every backup of the name was restored, with a warning).
  returned: O(operation=backup) or O(operation=restore) of a project
  type: dict
  contains:
    id:
      description: The manifest (checkpoint) id.
      type: str
      returned: always
      sample: freezer_project-9f1c2d3e4b5a69788796a5b4c3d2e1f0
    job_id:
      description: The Freezer job of the backup.
      type: str
      returned: always
      sample: 6f5e4d3c2b1a40998877665544332211
    time_stamp:
      description: When the backup job started (seconds since the epoch); O(restore_from_date) compares with it.
      type: int
      returned: always
      sample: 1796090400
    taken_at:
      description: The same time, ISO 8601 UTC.
      type: str
      returned: always
      sample: "2026-12-01T02:00:00Z"
    servers:
      description: The servers backed up (C(id), C(name), C(freezer_backup_id), C(time_stamp)).
      type: list
      elements: dict
      returned: always
      sample: []
    volumes:
      description: The volumes backed up (C(id), C(cinder_backup_id), C(freezer_backup_id)).
      type: list
      elements: dict
      returned: always
      sample: [{id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa, cinder_backup_id: c4d5e6f7-0811-4a2b-9c3d-4e5f6a7b8c9d}]
  sample:
    id: freezer_project-9f1c2d3e4b5a69788796a5b4c3d2e1f0
    job_id: 6f5e4d3c2b1a40998877665544332211
    time_stamp: 1796090400
    taken_at: "2026-12-01T02:00:00Z"
    servers: []
    volumes: [{id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa, cinder_backup_id: c4d5e6f7-0811-4a2b-9c3d-4e5f6a7b8c9d,
               freezer_backup_id: 8c7b6a5948374625a1b2c3d4e5f6a7b8_0}]
resource_map:
  description:
    - Original volume id -> restored volume id of a C(cindernative) restore (the same id for O(restore_to=existing);
      C((would be created)) in check mode for O(restore_to=new)).
    - Original server id -> NEW server id of a C(nova) restore of an image-booted server; for a volume-booted
      server also its boot volume id -> the NEW volume's id; for a project, every server and volume id -> its new
      id. C((would be created)) in check mode.
    - Original volume id -> NEW volume id of a C(cinder) mode restore.
  returned: O(operation=restore) of a volume, of a server, of a project
  type: dict
  sample: {"1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa": "5d6e7f80-2222-4b1a-8c3d-9e0f1a2b3c4d"}
restored:
  description:
    - The volumes a C(cindernative) restore wrote into (or, O(restore_to=new), created), after Cinder finished.
    - For a C(nova) restore the new server once C(ACTIVE) (C(id), C(name), C(status), C(image_id), C(flavor),
      C(networks), C(metadata)); for a volume-booted server the new server (with its C(boot_volume)) and the new
      volume; for a project, the new servers and volumes.
  returned: O(operation=restore)
  type: list
  elements: dict
  sample:
    - id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa
      name: db-data
      status: available
      size: 10
      availability_zone: nova
      bootable: false
      attachments: []
restored_images:
  description: Ids of the Glance images Freezer's agent restored a server's disk into (the new server boots from
    it; it carries the metadata C(dataprotection_restored_from)).
  returned: O(operation=restore) of an image-booted server, when a server was restored
  type: list
  elements: str
  sample: ["0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"]
removed:
  description: Ids of the jobs (and their actions) removed.
  returned: O(state=absent) and one-shot operations
  type: list
  elements: str
  sample: ["6f5e4d3c2b1a40998877665544332211"]
events:
  description: Job events sent (C(start), C(stop)).
  returned: managed jobs
  type: list
  elements: str
  sample: [start]
updated:
  description: Fields of an existing job that were updated (C(description), C(client_id), C(job_schedule),
    C(job_actions)).
  returned: managed jobs
  type: list
  elements: str
  sample: [job_schedule]
msg:
  description: Why nothing was done (image and network resources).
  returned: when nothing is backed up
  type: str
  sample: "network resources are not backed up on their own: protect the servers that use them (a server backup records its image and networks)"
elapsed:
  description:
    - Seconds the task took, from the start of the module to its result. Also returned when the task fails.
  returned: always
  type: float
  sample: 42.137
timings:
  description:
    - Seconds of each step, in the order the steps ended, to show where a long task spent its time (AWX job
      output). Also returned when the task fails; the step that failed is then followed by C(clean up).
    - Steps - C(create job), C(start job), C(wait for scheduler pickup), C(wait for job result),
      C(verify in Cinder), C(remove job); a C(nova) restore adds C(wait for the restored server) and
      C(name and mark the restored server); the restore of a volume-booted server has only C(restore the boot
      volume) and C(boot the restored server). Empty in check mode; only the first two with O(wait=false).
  returned: when O(operation) is set
  type: list
  elements: dict
  contains:
    step:
      description: What the step did.
      returned: always
      type: str
      sample: snapshot volume 0b6b6a8e-2f4a-4c1e-9d61-1f3f4f1c2a10
    seconds:
      description: How long it took, in seconds.
      returned: always
      type: float
      sample: 12.408
  sample: [{step: create checkpoint, seconds: 0.012}, {step: snapshot volume 0b6b6a8e-2f4a-4c1e-9d61-1f3f4f1c2a10, seconds: 12.408}]
'''

import datetime
import re

from ansible_collections.dataprotection.openstack.plugins.module_utils import openstack as os_connection
from ansible_collections.dataprotection.openstack.plugins.module_utils import validation
from ansible_collections.dataprotection.openstack.plugins.module_utils.args import protection_argument_spec
from ansible_collections.dataprotection.openstack.plugins.module_utils.base import ProtectionModule
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.jobs import FreezerJobs
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.operations import (
    FreezerOperations,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.freezer.views import schedule_doc
from ansible_collections.dataprotection.openstack.plugins.module_utils.validation import InputError

OPTION_KEYS = ('description', 'client_id', 'schedule', 'volume_mode', 'storage', 'container', 'engine_name',
               'incremental', 'remove_older_than', 'fullbackup_rotation', 'restore_name', 'restore_from_date',
               'restore_backup_id', 'restore_network', 'max_retries', 'max_retries_interval',
               'extra_action_options', 'restore_to', 'restore_volume_name', 'restore_availability_zone',
               'restore_volume_type', 'restore_server_name', 'restore_flavor', 'restore_prefix')

# freezer-scheduler splits schedule_interval on one space and passes "<unit>=<int>" to APScheduler's interval trigger.
INTERVAL_RE = re.compile(r'^(continuous|[1-9][0-9]* (weeks|days|hours|minutes|seconds))$')
CRON_MONTHS = ('jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec')
CRON_DAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')
# (field, lowest, highest, names) in the order of the five cron fields (APScheduler: day_of_week 0 = monday)
CRON_FIELDS = (('minute', 0, 59, ()), ('hour', 0, 23, ()), ('day', 1, 31, ('last',)),
               ('month', 1, 12, CRON_MONTHS), ('day_of_week', 0, 6, CRON_DAYS))
CRON_PART_RE = re.compile(r'^(\*|[^-/*]+(?:-[^-/*]+)?)(?:/([0-9]+))?$')
# freezer_action keys the module sets from its own options; extra_action_options cannot set them.
MANAGED_ACTION_KEYS = {
    'action': 'operation', 'mode': 'volume_mode', 'backup_name': 'protection', 'cindernative_vol_id': 'resource_id',
    'cinder_vol_id': 'resource_id', 'nova_inst_id': 'resource_id', 'cindernative_backup_id': 'restore_backup_id',
    'cindernative_backup_container': 'container', 'container': 'container', 'storage': 'storage',
    'engine_name': 'engine_name', 'incremental': 'incremental', 'remove_older_than': 'remove_older_than',
    'fullbackup_rotation': 'fullbackup_rotation', 'restore_from_date': 'restore_from_date',
    'nova_restore_network': 'restore_network',
}


def parse_time(option, value):
    """An ISO 8601 time (a trailing Z or an offset allowed; naive times are UTC), as an aware datetime."""
    text = str(value).strip()
    try:
        parsed = datetime.datetime.fromisoformat(text[:-1] + '+00:00' if text[-1:] in ('Z', 'z') else text)
    except ValueError:
        raise InputError('%s %r is not an ISO 8601 time (for example 2026-01-31T02:00:00)' % (option, value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def _cron_value(token, low, high, names):
    token = token.strip().lower()
    if token.isdigit():
        return low <= int(token) <= high
    return token in names


def check_cron(value):
    """Five APScheduler cron fields: values, ranges a-b, steps */n or a-b/n, comma lists; names for months/days."""
    fields = str(value).split()
    if len(fields) != 5:
        raise InputError('schedule.cron must have 5 fields (minute hour day month day_of_week), got %r' % value)
    for text, (field, low, high, names) in zip(fields, CRON_FIELDS):
        for part in text.split(','):
            match = CRON_PART_RE.match(part)
            ok = match is not None and (match.group(2) is None or int(match.group(2)) >= 1)
            if ok and match.group(1) != '*':
                ok = all(_cron_value(token, low, high, names) for token in match.group(1).split('-'))
            if not ok:
                raise InputError('schedule.cron %r: the %s field %r is not valid (values %d-%d%s, *, ranges a-b, '
                                 'steps */n, lists a,b)' % (value, field, text, low, high,
                                                            ' or %s' % '/'.join(names) if names else ''))


def check_schedule(schedule):
    """The ``schedule`` option as freezer-scheduler will read it; refusals name the sub-option."""
    schedule = dict((k, v) for k, v in (schedule or {}).items() if v is not None)
    for key, item in schedule.items():
        validation.check_name('schedule.%s' % key, item)
    schedule_doc(schedule)  # only one of interval / cron / date
    if schedule.get('interval') and not INTERVAL_RE.match(schedule['interval']):
        raise InputError("schedule.interval %r is not a Freezer interval: '<number> <unit>' with one space and a "
                         "plural unit (weeks, days, hours, minutes, seconds), for example '1 days', or 'continuous'"
                         % schedule['interval'])
    if schedule.get('cron'):
        check_cron(schedule['cron'])
    times = dict((key, parse_time('schedule.%s' % key, schedule[key]))
                 for key in ('date', 'start_date', 'end_date') if schedule.get(key))
    if 'start_date' in times and 'end_date' in times and times['end_date'] <= times['start_date']:
        raise InputError('schedule.end_date %s is not after schedule.start_date %s (freezer-scheduler would drop '
                         'the end date and run for ever)' % (schedule['end_date'], schedule['start_date']))


def check_extra_action_options(options):
    """Flat Freezer action options: non-empty string keys, scalar values, none the module sets itself."""
    for key, value in (options or {}).items():
        if not isinstance(key, str) or not key.strip() or key != key.strip():
            raise InputError('extra_action_options has an empty or padded key %r' % (key,))
        if key in MANAGED_ACTION_KEYS:
            raise InputError('extra_action_options.%s is set by the module: use the option %s'
                             % (key, MANAGED_ACTION_KEYS[key]))
        if value is None or isinstance(value, (dict, list, tuple)):
            raise InputError('extra_action_options.%s must be a string, number or boolean, got %s: Freezer action '
                             'options are flat' % (key, 'null' if value is None else type(value).__name__))


class FreezerJobModule(ProtectionModule):
    option_groups = ('openstack', 'wait')
    argument_spec = dict(
        # not required for operation=admin alone: without it the admin removes every Freezer backup of the volume
        protection_argument_spec('backup_name', required=False),
        resource_type=dict(type='str', default='volume', choices=['project', 'server', 'volume', 'image', 'network']),
        resource_id=dict(type='str'),
        description=dict(type='str'),
        client_id=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent', 'started', 'stopped']),
        operation=dict(type='str', choices=['backup', 'restore', 'admin']),
        schedule=dict(type='dict', options=dict(
            interval=dict(type='str'),
            cron=dict(type='str'),
            date=dict(type='str'),
            start_date=dict(type='str'),
            end_date=dict(type='str'),
        )),
        volume_mode=dict(type='str', default='cindernative', choices=['cindernative', 'cinder']),
        storage=dict(type='str', default='swift', choices=['swift', 'local', 'ssh', 's3', 'ftp', 'ftps']),
        container=dict(type='str'),
        engine_name=dict(type='str', choices=['tar', 'rsync', 'rsyncv2', 'nova', 'osbrick', 'glance']),
        incremental=dict(type='bool', default=False),
        remove_older_than=dict(type='float'),
        fullbackup_rotation=dict(type='int'),
        restore_name=dict(type='str'),
        restore_from_date=dict(type='str'),
        restore_backup_id=dict(type='str'),
        restore_network=dict(type='str'),
        restore_server_name=dict(type='str'),
        restore_flavor=dict(type='str'),
        restore_prefix=dict(type='str'),
        restore_to=dict(type='str', choices=['existing', 'new']),
        restore_volume_name=dict(type='str'),
        restore_availability_zone=dict(type='str'),
        restore_volume_type=dict(type='str'),
        max_retries=dict(type='int', default=0),
        max_retries_interval=dict(type='int', default=10),
        extra_action_options=dict(type='dict', no_log=True),
    )
    module_kwargs = dict(
        mutually_exclusive=[('operation', 'state'), ('remove_older_than', 'fullbackup_rotation'),
                            ('operation', 'schedule')],
    )

    name_options = ('resource_id', 'protection', 'client_id', 'container', 'restore_name', 'restore_backup_id',
                    'restore_network', 'restore_volume_name', 'restore_availability_zone', 'restore_volume_type',
                    'restore_server_name', 'restore_flavor', 'restore_prefix')

    def validate(self):
        super().validate()
        p = self.params
        state = p['state'] or 'present'
        if p['description'] is not None and p['description'] != '':
            # the description is the managed job's name in freezer-api, found again by it
            validation.check_name('description', p['description'])
        if p['resource_type'] not in ('project',) and p['resource_id'] is None:
            raise ProtectionError('resource_id is required for resource_type %s' % p['resource_type'])
        validation.check_number('remove_older_than', p['remove_older_than'], minimum=0, unit='days')
        validation.check_number('fullbackup_rotation', p['fullbackup_rotation'], minimum=1)
        validation.check_number('max_retries', p['max_retries'], minimum=0)
        validation.check_number('max_retries_interval', p['max_retries_interval'], minimum=0, unit='seconds')
        if p['client_id'] is None and (p['operation'] or state != 'absent'):
            raise ProtectionError('client_id is required (the Freezer client whose scheduler runs the job)')
        if p['protection'] is None and p['operation'] != 'admin':
            raise ProtectionError('protection (backup_name) is required, except for operation=admin (which then '
                                  'removes every Freezer backup of the volume)')
        if p['operation'] and p['wait'] and p['timeout'] <= 0:
            raise ProtectionError('a one-shot operation needs timeout > 0 (got %s): it waits for the scheduler to '
                                  'run the job; set wait: false to only start it' % p['timeout'])
        restore_new = [o for o in ('restore_to', 'restore_volume_name', 'restore_availability_zone',
                                   'restore_volume_type') if p[o] is not None]
        cinder_only = [o for o in restore_new if o in ('restore_availability_zone', 'restore_volume_type')]
        if restore_new and (p['operation'] != 'restore' or p['resource_type'] != 'volume' or
                            (p['volume_mode'] != 'cindernative' and cinder_only)):
            raise ProtectionError('%s apply to operation=restore of a volume with volume_mode=cindernative only%s'
                                  % (', '.join(restore_new), '' if p['volume_mode'] == 'cindernative' else
                                     ' (in cinder mode only restore_to=new and restore_volume_name: Freezer\'s agent '
                                     'creates the new volume from its image with Cinder\'s defaults)'))
        restore_server = [o for o in ('restore_server_name', 'restore_flavor', 'restore_network') if p[o] is not None]
        if restore_server and (p['operation'] != 'restore' or p['resource_type'] != 'server'):
            raise ProtectionError('%s apply to operation=restore of a server only' % ', '.join(restore_server))
        if p['restore_prefix'] is not None and (p['operation'] != 'restore' or p['resource_type'] != 'project'):
            raise ProtectionError('restore_prefix applies to operation=restore of a project only')
        check_schedule(p['schedule'])
        if p['restore_from_date'] is not None:
            parse_time('restore_from_date', validation.check_name('restore_from_date', p['restore_from_date']))
        check_extra_action_options(p['extra_action_options'])

    def check_restore_backup(self):
        """restore_backup_id must name a Cinder backup this project can read (Freezer would fail later)."""
        backup_id = self.params['restore_backup_id']
        if os_connection.get_or_none(self.conn.block_storage.get_backup, backup_id) is None:
            raise ProtectionError('restore_backup_id %s: no such Cinder backup in project %s'
                                  % (backup_id, self.conn.current_project_id))

    def run(self):
        p = self.params
        state = p['state'] or 'present'
        if (p['operation'] == 'restore' and p['restore_backup_id'] and p['resource_type'] == 'volume'
                and p['volume_mode'] == 'cindernative'):
            self.check_restore_backup()
        options = dict((k, p[k]) for k in OPTION_KEYS)
        if options['schedule']:
            options['schedule'] = dict((k, v) for k, v in options['schedule'].items() if v is not None)
        service = FreezerOperations if p['operation'] else FreezerJobs
        driver = service(self.conn, interface=p['interface'], **self.wait_options())
        resource_id = p['resource_id']
        if p['resource_type'] == 'project' and not resource_id:
            resource_id = self.conn.current_project_id
        if p['operation']:
            self.report_timings(driver.timings)
            result = driver.run_operation(p['resource_type'], resource_id, p['protection'], p['operation'], options,
                                          dry_run=self.check_mode)
        elif state == 'absent':
            result = driver.remove_job(p['resource_type'], resource_id, p['protection'], options,
                                       dry_run=self.check_mode)
        else:
            result = driver.ensure_job(p['resource_type'], resource_id, p['protection'], options, state=state,
                                       dry_run=self.check_mode)
        for warning in result.data.pop('warnings', None) or ():
            self.ansible.warn(warning)
        return self.finish(result)


def main():
    FreezerJobModule()()


if __name__ == '__main__':
    main()

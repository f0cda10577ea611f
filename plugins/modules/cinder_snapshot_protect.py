#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: cinder_snapshot_protect
short_description: Protect Cinder volumes with snapshots, restore them to new volumes, delete the protection
version_added: 0.1.0
description:
  - Protects a Cinder volume with a snapshot (O(state=present)), restores a protection to a new volume
    (O(state=restored)) and removes it (O(state=absent)).
  - A protection is identified by the volume and O(protection) together, never by the snapshot name alone
    across the project, so two volumes can each have a C(daily) protection.
  - With O(retain) the protection rotates for periodic runs (AWX schedules) - each run adds a snapshot named
    C(<protection>-<UTC timestamp>) and removes the oldest ones this collection created beyond O(retain).
    Snapshots this collection did not create are never touched.
  - One task can protect many volumes (O(volumes), O(volume_metadata) or O(query)) with bounded concurrency.
    Each volume's result is returned; a failing volume fails the task without undoing or hiding the others.
  - A snapshot that goes to C(error) is removed before the task fails. Check mode predicts C(changed) exactly
    and touches nothing.
author:
  - dataprotection.openstack contributors (@dataprotection)
extends_documentation_fragment:
  - dataprotection.openstack.openstack
  - dataprotection.openstack.wait
  - dataprotection.openstack.rotation
attributes:
  check_mode:
    support: full
    description: Predicts C(changed) exactly; nothing is created or deleted.
  diff_mode:
    support: full
    description: Shows the protection's snapshots before and after.
options:
  volume:
    description:
      - Name or id of the volume to protect. Names must be unique in the project; pass the id otherwise.
      - Exactly one of O(volume), O(volumes), O(volume_metadata) or O(query) is required.
    type: str
  volumes:
    description:
      - Names or ids of several volumes to protect in one task (bulk).
      - An empty list is refused - an empty selector selects nothing, never everything.
    type: list
    elements: str
  volume_metadata:
    description:
      - Protect every volume of the project whose metadata contains all these key/value pairs (bulk).
      - An empty dict is refused - it would match every volume. With O(state=absent), a selector that matches every
        volume of the project (when it has more than one) is refused too - write O(query=[*]) to mean all of them.
    type: dict
  query:
    description:
      - A JMESPath expression over the project's volumes (a list of dicts with C(id), C(name), C(status),
        C(size), C(availability_zone), C(volume_type), C(metadata)); every volume it returns is protected (bulk).
      - V([*]) selects every volume of the project - the only way to do so with O(state=absent). An empty query is
        refused, and with O(state=absent) so is any other query that happens to select every volume (when the project
        has more than one).
      - For example V([?metadata.backup=='daily']).
    type: str
  protection:
    description:
      - Name of the protection. Without O(retain) the snapshot has exactly this name.
      - Must not be empty, only whitespace, or start or end with spaces (the service strips them, so each run would
        add another snapshot), nor hold characters outside the Basic Multilingual Plane (emoji); at most 255
        characters. The same holds for every name and id option and for O(metadata) keys and values.
      - The collection records it on each snapshot as the metadata C(dataprotection_protection).
    type: str
    required: true
    aliases: [snapshot_name]
  description:
    description:
      - Description of the snapshot.
    type: str
  force:
    description:
      - Snapshot the volume even when it is C(in-use) (attached). Cinder refuses an attached volume otherwise.
    type: bool
    default: false
  metadata:
    description:
      - Metadata to set on new snapshots. The collection adds C(dataprotection_managed) and
        C(dataprotection_protection).
    type: dict
  state:
    description:
      - V(present) ensures the protection exists (a new snapshot each run when O(retain) is set, unless O(min_age)
        says the newest is recent enough).
      - V(absent) removes the protection's snapshots (the one named O(protection) and the collection's rotated
        ones).
      - V(restored) ensures a volume named O(restore_name) created from the protection's snapshot that
        O(restore_point) selects (the newest by default) exists.
    type: str
    choices: [present, absent, restored]
    default: present
  restore_name:
    description:
      - Name of the volume to create from the snapshot. Required with O(state=restored).
      - If a volume of that name exists and was created from this snapshot, nothing changes; if it came from
        elsewhere the task fails.
      - Concurrent runs restoring to the same name settle on one - the oldest restored volume is kept, the later runs
        remove their own and report the kept one (with O(wait=true); with O(wait=false) nothing is settled, and a
        later run lists the extra copies in RV(duplicates) with a warning, without deleting any).
    type: str
  restore_point:
    description:
      - Which snapshot of the protection O(state=restored) restores from.
      - V(latest) (the default) is the newest. A snapshot name (for example a rotated
        C(<protection>-<UTC timestamp>)) or id selects that one; by id it may also be a snapshot of the same
        volume that this collection did not create.
      - An ISO 8601 date or date-time (V(2026-12-01T06:00:00Z), V(2026-12-01)) selects the newest snapshot taken at
        or before it (a bare date means the end of that day, UTC when no zone is given).
      - The available restore points are listed by M(dataprotection.openstack.protectable_info).
    type: str
    default: latest
  restore_description:
    description:
      - Description of the restored volume.
    type: str
  restore_availability_zone:
    description:
      - Availability zone of the restored volume. Default - the zone of the protected volume.
    type: str
  restore_volume_type:
    description:
      - Volume type of the restored volume. Default - chosen by Cinder from the snapshot.
    type: str
  adopt:
    description:
      - Only snapshots carrying this collection's metadata (C(dataprotection_managed), C(dataprotection_protection))
        belong to a protection. A snapshot that merely has the name O(protection) was made by someone else - with
        O(state=present) the task fails naming it (it is never taken as the protection), with O(state=absent) it is
        left in place and reported in RV(foreign_snapshots) with a warning.
      - Set V(true) to take such a snapshot over as the protection (O(state=present)) - the collection's metadata
        is written onto it, and from then on O(state=absent) and rotation may delete it. Exactly one such
        snapshot must exist.
    type: bool
    default: false
  concurrency:
    description:
      - How many volumes are protected at once in bulk mode.
    type: int
    default: 8
  all_projects:
    description:
      - Bulk mode only. Select among the volumes of every project the credentials may list (an admin), not only
        those of the credentials' project. Without it, even an admin's selection never reaches other projects.
      - Each volume is protected AS its own project (the same credentials re-scoped to it), because a snapshot
        belongs to the project that creates it and only there can the volume's owner see it (and later delete the
        volume). The user therefore needs a role on each selected project; for a project where it has none,
        its volumes fail with a message naming the project, and the other projects go on.
      - The result's RV(projects) counts what happened per project.
    type: bool
    default: false
notes:
  - Cinder cannot delete a volume that still has snapshots; remove the protection (O(state=absent)) first.
seealso:
  - module: openstack.cloud.volume_snapshot
'''

EXAMPLES = r'''
- name: Protect a volume (idempotent)
  dataprotection.openstack.cinder_snapshot_protect:
    cloud: mycloud
    volume: db-data
    protection: before-upgrade
    description: taken before the 2.0 upgrade

- name: Protect an attached volume
  dataprotection.openstack.cinder_snapshot_protect:
    cloud: mycloud
    volume: db-data
    protection: nightly
    force: true

- name: Nightly rotation from an AWX schedule - keep 7, at most one per 20 hours
  dataprotection.openstack.cinder_snapshot_protect:
    volume_metadata:
      backup: daily
    protection: nightly
    retain: 7
    min_age: 72000

- name: Protect every volume a JMESPath query selects
  dataprotection.openstack.cinder_snapshot_protect:
    cloud: mycloud
    query: "[?size > `10` && status=='in-use']"
    protection: weekly
    force: true
    concurrency: 16

- name: As an admin with a role on each project, protect every project's volumes tagged backup=nightly
  dataprotection.openstack.cinder_snapshot_protect:
    cloud: mycloud-admin
    volume_metadata:
      backup: nightly
    all_projects: true
    protection: nightly
    retain: 7

- name: Restore the protection to a new volume in another zone
  dataprotection.openstack.cinder_snapshot_protect:
    cloud: mycloud
    volume: db-data
    protection: before-upgrade
    state: restored
    restore_name: db-data-restored
    restore_availability_zone: nova2
  register: restore

- name: Show which volume replaced which
  ansible.builtin.debug:
    var: restore.resource_map

- name: Point-in-time restore - the newest snapshot taken at or before 06:00 UTC on 1 December
  dataprotection.openstack.cinder_snapshot_protect:
    cloud: mycloud
    volume: db-data
    protection: nightly
    state: restored
    restore_point: "2026-12-01T06:00:00Z"
    restore_name: db-data-as-of-dec-1

- name: Remove the protection
  dataprotection.openstack.cinder_snapshot_protect:
    cloud: mycloud
    volume: db-data
    protection: before-upgrade
    state: absent
'''

RETURN = r'''
snapshot:
  description: The protection's snapshot (the newest with O(retain)); with check mode a planned one has
    C(status=(would be created)). C(null) after O(state=absent).
  returned: single volume
  type: dict
  sample:
    id: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d
    name: nightly-20261201T020000000000Z
    status: available
    volume_id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa
    size: 10
    description: null
    created_at: "2026-12-01T02:00:00.000000"
    metadata: {dataprotection_managed: "true", dataprotection_protection: nightly}
  contains:
    id:
      description: Snapshot id.
      type: str
      sample: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d
    name:
      description: Snapshot name.
      type: str
      sample: nightly-20261201T020000000000Z
    status:
      description: Cinder status.
      type: str
      sample: available
    volume_id:
      description: The protected volume.
      type: str
      sample: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa
    size:
      description: Size in GiB.
      type: int
      sample: 10
    description:
      description: Snapshot description.
      type: str
      sample: Nightly snapshot of db-data
    created_at:
      description: Creation time.
      type: str
      sample: "2026-12-01T02:00:00.000000"
    metadata:
      description: Snapshot metadata.
      type: dict
      sample: {dataprotection_managed: "true", dataprotection_protection: nightly}
volume:
  description: The protected volume (id, name, status, size, availability_zone, volume_type, metadata, attachments).
  returned: single volume
  type: dict
  sample:
    id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa
    name: db-data
    status: in-use
    size: 10
    availability_zone: nova
    volume_type: __DEFAULT__
    snapshot_id: null
    description: PostgreSQL data
    metadata: {app: shop}
    attachments: ["8e7d6c5b-4a39-4281-b7c6-d5e4f3a2b1c0"]
snapshots:
  description: Bulk mode - one entry per volume with C(volume_ref), C(volume), C(snapshot), C(changed), C(failed),
    C(msg) (when failed), C(deleted).
  returned: bulk
  type: list
  elements: dict
  sample:
    - volume_ref: db-data
      volume: {id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa, name: db-data, status: in-use, size: 10}
      snapshot: {id: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d, name: nightly, status: available,
                 volume_id: 1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa, size: 10}
      changed: true
      failed: false
      deleted: []
    - volume_ref: gone-volume
      changed: false
      failed: true
      msg: "volume gone-volume: not found"
projects:
  description: With O(all_projects), per project id the number of volumes selected, changed and failed.
  returned: bulk mode with O(all_projects)
  type: dict
  sample:
    0c8e2a5e4c8e4b5d9c2a1f7d3e6b9a10: {selected: 12, changed: 12, failed: 0}
foreign_snapshots:
  description: Ids of snapshots named O(protection) on the volume that this collection did not create; never
    touched (see O(adopt)).
  returned: single volume
  type: list
  elements: str
  sample: ["0a6b3c47-3a0e-4d27-9f5e-2a1c6a8b9d10"]
adopted:
  description: Ids of snapshots taken over with O(adopt=true) in this run.
  returned: single volume, O(state=present)
  type: list
  elements: str
  sample: []
duplicates:
  description: Ids of other volumes restored by this collection from the same snapshot under O(restore_name),
    besides the one reported in RV(restored) (left by concurrent runs with O(wait=false)); never deleted.
  returned: O(state=restored)
  type: list
  elements: str
  sample: []
deleted:
  description: Ids of snapshots deleted (state absent, retention, or an errored snapshot replaced).
  returned: always
  type: list
  elements: str
  sample: ["4c3b2a19-0f8e-4d7c-b6a5-948372615a0b"]
rotation_skipped:
  description: With O(retain) - true when O(min_age) skipped the new snapshot (not named C(skipped), which Ansible reads as a skipped task).
  returned: when O(retain) is set
  type: bool
  sample: false
restored:
  description: The volume restored from the snapshot.
  returned: O(state=restored)
  type: dict
  sample:
    id: 7d3c1b2e-2222-4f5a-8e6d-2a1b3c4d5e6f
    name: db-data-restored
    status: available
    size: 10
    availability_zone: nova
    volume_type: __DEFAULT__
    snapshot_id: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d
    description: null
    metadata: {dataprotection_managed: "true", dataprotection_restored_from: 5d1c2e3f-0000-4a4b-8c8d-9e9f0a1b2c3d}
    attachments: []
resource_map:
  description: Original volume id -> restored volume id (C(null) in check mode before creation).
  returned: O(state=restored)
  type: dict
  sample: {"1b9c0d3e-1111-4d4c-9d7e-1cf0c2c3b2aa": "7d3c1b2e-2222-4f5a-8e6d-2a1b3c4d5e6f"}
elapsed:
  description:
    - Seconds the task took, from the start of the module to its result. Also returned when the task fails.
  returned: always
  type: float
  sample: 42.137
timings:
  description:
    - Bulk mode - where the time went, each step with its C(seconds) - C(select) (listing and selecting the
      volumes), C(projects) (a token and one snapshot listing per project, the projects side by side), C(calls) (the
      snapshot creates and deletes through the bounded pool), C(shared waits) (waiting for every new snapshot with
      one listing per project and poll, race grace included) and C(last steps) (each volume's race check and result).
  returned: bulk mode
  type: list
  elements: dict
  sample: [{"step": "select", "seconds": 0.21}, {"step": "projects", "seconds": 0.3}, {"step": "calls", "seconds": 8.1},
           {"step": "shared waits", "seconds": 1.6}, {"step": "last steps", "seconds": 0.02}]
'''

from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.cinder_snapshot import (
    CinderSnapshotDriver,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.args import snapshot_argument_spec
from ansible_collections.dataprotection.openstack.plugins.module_utils.snapshot_module import (
    SnapshotProtectModule,
    selection_kwargs,
)


class CinderSnapshotProtectModule(SnapshotProtectModule):
    driver_class = CinderSnapshotDriver
    source_option, names_option, metadata_option = 'volume', 'volumes', 'volume_metadata'
    list_key = 'snapshots'
    extra_options = ('restore_availability_zone', 'restore_volume_type')
    argument_spec = dict(
        snapshot_argument_spec('volume', 'volumes', 'volume_metadata'),
        restore_availability_zone=dict(type='str'),
        restore_volume_type=dict(type='str'),
    )
    module_kwargs = dict(
        required_if=[('state', 'restored', ['restore_name', 'volume'])],
        **selection_kwargs('volume', 'volumes', 'volume_metadata')
    )


def main():
    CinderSnapshotProtectModule()()


if __name__ == '__main__':
    main()

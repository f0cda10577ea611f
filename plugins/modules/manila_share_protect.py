#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: manila_share_protect
short_description: Protect Manila shares with snapshots, restore them to new shares or in place, delete the protection
version_added: 0.1.0
description:
  - Protects a Manila share with a share snapshot (O(state=present)), restores a protection (O(state=restored)) and
    removes it (O(state=absent)).
  - Restore creates a new share from the snapshot with the source's protocol, size, share type, share network and
    availability zone; or, with O(share_id) set to the source share, reverts the share in place to the snapshot.
    Manila reverts a share only to its latest snapshot; the task says so and names the newer snapshots otherwise.
  - A protection is identified by the share and O(protection) together, never by the snapshot name alone across
    the project.
  - With O(retain) the protection rotates for periodic runs - each run adds a snapshot named
    C(<protection>-<UTC timestamp>) and removes the oldest ones this collection created beyond O(retain).
    Snapshots this collection did not create are never touched.
  - One task can protect many shares (O(shares), O(share_metadata) or O(query)) with bounded concurrency.
    Each share's result is returned; a failing share fails the task without undoing or hiding the others.
  - A snapshot that goes to C(error) or does not finish in time is removed before the task fails. Check mode
    predicts C(changed) exactly and touches nothing.
  - Needs Manila API microversion 2.73 or later (snapshot metadata); revert needs the share type's
    C(revert_to_snapshot_support).
author:
  - dataprotection.openstack contributors (@dataprotection)
extends_documentation_fragment:
  - dataprotection.openstack.openstack
  - dataprotection.openstack.wait
  - dataprotection.openstack.rotation
attributes:
  check_mode:
    support: full
    description: Predicts C(changed) exactly; nothing is created, reverted or deleted.
  diff_mode:
    support: full
    description: Shows the protection's snapshots (or the share's revert marker) before and after.
options:
  share:
    description:
      - Name or id of the share to protect. Names must be unique in the project; pass the id otherwise.
      - Exactly one of O(share), O(shares), O(share_metadata) or O(query) is required.
    type: str
  shares:
    description:
      - Names or ids of several shares to protect in one task (bulk).
      - An empty list is refused - an empty selector selects nothing, never everything.
    type: list
    elements: str
  share_metadata:
    description:
      - Protect every share of the project whose metadata contains all these key/value pairs (bulk).
      - An empty dict is refused - it would match every share. With O(state=absent), a selector that matches every
        share of the project (when it has more than one) is refused too - write O(query=[*]) to mean all of them.
    type: dict
  query:
    description:
      - A JMESPath expression over the project's shares (a list of dicts with C(id), C(name), C(status), C(size),
        C(share_protocol), C(share_type), C(share_type_name), C(share_network_id), C(availability_zone),
        C(metadata)); every share it returns is protected (bulk).
      - V([*]) selects every share of the project - the only way to do so with O(state=absent). An empty query is
        refused, and with O(state=absent) so is any other query that happens to select every share (when the project
        has more than one).
      - For example V([?share_protocol=='NFS' && metadata.backup=='daily']).
    type: str
  protection:
    description:
      - Name of the protection. Without O(retain) the share snapshot has exactly this name.
      - Must not be empty, only whitespace, or start or end with spaces (the service strips them, so each run would
        add another snapshot), nor hold characters outside the Basic Multilingual Plane (emoji); at most 255
        characters. The same holds for every name and id option and for O(metadata) keys and values.
      - The collection records it on each snapshot as the metadata C(dataprotection_protection).
    type: str
    required: true
    aliases: [snapshot_name]
  description:
    description:
      - Description of the share snapshot.
    type: str
  force:
    description:
      - Passed to Manila as the snapshot's C(force) flag (snapshot a share that is busy).
    type: bool
    default: false
  metadata:
    description:
      - Metadata to set on new share snapshots. The collection adds C(dataprotection_managed) and
        C(dataprotection_protection).
    type: dict
  state:
    description:
      - V(present) ensures the protection exists (a new snapshot each run when O(retain) is set, unless O(min_age)
        says the newest is recent enough).
      - V(absent) removes the protection's snapshots (the one named O(protection) and the collection's rotated
        ones). Do this before deleting the share - Manila refuses to delete a share that has snapshots.
      - V(restored) restores the protection's snapshot that O(restore_point) selects (the newest by default) - to
        a new share named O(restore_name), or in place into the source share when O(share_id) is set (Manila
        reverts only to the share's latest snapshot).
    type: str
    choices: [present, absent, restored]
    default: present
  restore_name:
    description:
      - Name of the new share to create from the snapshot (O(state=restored) without O(share_id)).
      - If a share of that name exists and was created from this snapshot, nothing changes; if it came from
        elsewhere the task fails.
      - Concurrent runs restoring to the same name settle on one - the oldest restored share is kept, the later runs
        remove their own and report the kept one (with O(wait=true); with O(wait=false) nothing is settled, and a
        later run lists the extra copies in RV(duplicates) with a warning, without deleting any).
      - Mutually exclusive with O(share_id).
    type: str
  restore_point:
    description:
      - Which share snapshot of the protection O(state=restored) restores from.
      - V(latest) (the default) is the newest. A share snapshot name (for example a rotated
        C(<protection>-<UTC timestamp>)) or id selects that one; by id it may also be a share snapshot of the same
        share that this collection did not create.
      - An ISO 8601 date or date-time (V(2026-12-01T06:00:00Z), V(2026-12-01)) selects the newest share snapshot taken at
        or before it (a bare date means the end of that day, UTC when no zone is given).
      - The available restore points are listed by M(dataprotection.openstack.protectable_info).
    type: str
    default: latest
  restore_description:
    description:
      - Description of the new share.
    type: str
  share_id:
    description:
      - The target share to restore to (O(state=restored)). Manila can restore a snapshot in place only into its
        own share, so this must be the id (or name) of the protected share itself - the share is reverted to the
        protection's newest snapshot, which must be the share's latest snapshot.
      - Mutually exclusive with O(restore_name), which restores to a new share.
      - The revert is recorded in the share's metadata C(dataprotection_reverted_to); a run that finds the share
        already reverted to that snapshot reports C(changed=false). Remove that key to revert again.
    type: str
  adopt:
    description:
      - Only share snapshots carrying this collection's metadata (C(dataprotection_managed), C(dataprotection_protection))
        belong to a protection. A share snapshot that merely has the name O(protection) was made by someone else - with
        O(state=present) the task fails naming it (it is never taken as the protection), with O(state=absent) it is
        left in place and reported in RV(foreign_snapshots) with a warning.
      - Set V(true) to take such a share snapshot over as the protection (O(state=present)) - the collection's metadata
        is written onto it, and from then on O(state=absent) and rotation may delete it. Exactly one such
        share snapshot must exist.
    type: bool
    default: false
  concurrency:
    description:
      - How many shares are protected at once in bulk mode.
    type: int
    default: 8
  all_projects:
    description:
      - Bulk mode only. Select among the shares of every project the credentials may list (an admin), not only
        those of the credentials' project. Without it, even an admin's selection never reaches other projects.
      - Each share is protected AS its own project (the same credentials re-scoped to it), because a snapshot
        belongs to the project that creates it and only there can the share's owner see it (and later delete the
        share). The user therefore needs a role on each selected project; for a project where it has none,
        its shares fail with a message naming the project, and the other projects go on.
      - The result's RV(projects) counts what happened per project.
    type: bool
    default: false
notes:
  - Manila cannot delete a share that still has snapshots (HTTP 400/403 about dependent snapshots); remove the
    protection (O(state=absent)) first.
  - openstack.cloud has no Manila modules; there is nothing to compare with.
seealso:
  - module: dataprotection.openstack.cinder_snapshot_protect
  - module: dataprotection.openstack.protectable_info
'''

EXAMPLES = r'''
- name: Protect a share before an upgrade (idempotent)
  dataprotection.openstack.manila_share_protect:
    cloud: mycloud
    share: app-files
    protection: before-upgrade
    description: taken before the 2.0 upgrade

- name: Nightly rotation of every share tagged backup=daily - keep 7, at most one per 20 hours
  dataprotection.openstack.manila_share_protect:
    cloud: mycloud
    share_metadata:
      backup: daily
    protection: nightly
    retain: 7
    min_age: 72000
    concurrency: 16

- name: Restore the protection to a new share (same protocol, type and network)
  dataprotection.openstack.manila_share_protect:
    cloud: mycloud
    share: app-files
    protection: before-upgrade
    state: restored
    restore_name: app-files-restored
  register: restore

- name: Show which share replaced which
  ansible.builtin.debug:
    var: restore.resource_map

- name: Roll the share itself back to the snapshot (must be its latest snapshot)
  dataprotection.openstack.manila_share_protect:
    cloud: mycloud
    share: app-files
    protection: before-upgrade
    state: restored
    share_id: "{{ restore.share.id }}"

- name: Point-in-time restore - the newest snapshot taken at or before 06:00 UTC on 1 December
  dataprotection.openstack.manila_share_protect:
    cloud: mycloud
    share: app-files
    protection: nightly
    state: restored
    restore_point: "2026-12-01T06:00:00Z"
    restore_name: app-files-as-of-dec-1

- name: Remove the protection (needed before the share can be deleted)
  dataprotection.openstack.manila_share_protect:
    cloud: mycloud
    share: app-files
    protection: before-upgrade
    state: absent
'''

RETURN = r'''
share_snapshot:
  description: The protection's share snapshot (the newest with O(retain)); with check mode a planned one has
    C(status=(would be created)). C(null) after O(state=absent).
  returned: single share
  type: dict
  sample:
    id: 9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4
    name: nightly-20261201T020000000000Z
    status: available
    share_id: 2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b
    size: 5
    share_proto: NFS
    description: null
    created_at: "2026-12-01T02:00:00.000000"
    metadata: {dataprotection_managed: "true", dataprotection_protection: nightly}
  contains:
    id:
      description: Share snapshot id.
      type: str
      sample: 9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4
    name:
      description: Share snapshot name.
      type: str
      sample: nightly-20261201T020000000000Z
    status:
      description: Manila status.
      type: str
      sample: available
    share_id:
      description: The protected share.
      type: str
      sample: 2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b
    size:
      description: Size in GiB.
      type: int
      sample: 5
    share_proto:
      description: Protocol of the share.
      type: str
      sample: NFS
    description:
      description: Share snapshot description.
      type: str
      sample: null
    created_at:
      description: Creation time.
      type: str
      sample: "2026-12-01T02:00:00.000000"
    metadata:
      description: Snapshot metadata.
      type: dict
      sample: {dataprotection_managed: "true", dataprotection_protection: nightly}
share:
  description: The protected share (id, name, status, size, share_protocol, share_type, share_type_name,
    share_network_id, availability_zone, snapshot_id, description, metadata).
  returned: single share
  type: dict
  sample:
    id: 2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b
    name: shop-files
    status: available
    size: 5
    share_protocol: NFS
    share_type: 0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f
    share_type_name: default
    share_network_id: null
    availability_zone: nova
    snapshot_id: null
    description: Uploaded product images
    metadata: {app: shop}
share_snapshots:
  description: Bulk mode - one entry per share with C(share_ref), C(share), C(share_snapshot), C(changed),
    C(failed), C(msg) (when failed), C(deleted).
  returned: bulk
  type: list
  elements: dict
  sample:
    - share_ref: shop-files
      share: {id: 2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b, name: shop-files, status: available, size: 5,
              share_protocol: NFS}
      share_snapshot: {id: 9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4, name: nightly, status: available,
                       share_id: 2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b, size: 5}
      changed: true
      failed: false
      deleted: []
    - share_ref: gone-share
      changed: false
      failed: true
      msg: "share gone-share: not found"
projects:
  description: With O(all_projects), per project id the number of shares selected, changed and failed.
  returned: bulk mode with O(all_projects)
  type: dict
  sample:
    0c8e2a5e4c8e4b5d9c2a1f7d3e6b9a10: {selected: 12, changed: 12, failed: 0}
foreign_snapshots:
  description: Ids of share snapshots named O(protection) on the share that this collection did not create; never
    touched (see O(adopt)).
  returned: single share
  type: list
  elements: str
  sample: ["0a6b3c47-3a0e-4d27-9f5e-2a1c6a8b9d10"]
adopted:
  description: Ids of share snapshots taken over with O(adopt=true) in this run.
  returned: single share, O(state=present)
  type: list
  elements: str
  sample: []
duplicates:
  description: Ids of other shares restored by this collection from the same share snapshot under O(restore_name),
    besides the one reported in RV(restored) (left by concurrent runs with O(wait=false)); never deleted.
  returned: O(state=restored)
  type: list
  elements: str
  sample: []
deleted:
  description: Ids of share snapshots deleted (state absent, retention, or an errored snapshot replaced).
  returned: always
  type: list
  elements: str
  sample: ["3b2a1908-f7e6-4d5c-b4a3-92817f6e5d4c"]
rotation_skipped:
  description: With O(retain) - true when O(min_age) skipped the new snapshot (not named C(skipped), which Ansible reads as a skipped task).
  returned: when O(retain) is set
  type: bool
  sample: false
restored:
  description: The share restored from the snapshot (the new share, or the reverted share itself).
  returned: O(state=restored)
  type: dict
  sample:
    id: 7d3c1b2e-2222-4f5a-8e6d-2a1b3c4d5e6f
    name: shop-files-restored
    status: available
    size: 5
    share_protocol: NFS
    share_type: 0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f
    share_type_name: default
    share_network_id: null
    availability_zone: nova
    snapshot_id: 9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4
    description: null
    metadata: {dataprotection_managed: "true", dataprotection_restored_from: 9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4}
reverted:
  description: With O(share_id) - true when this run reverted the share in place.
  returned: O(state=restored) with O(share_id)
  type: bool
  sample: false
resource_map:
  description: Original share id -> restored share id (the same id after an in-place revert; C(null) in check
    mode before creation).
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
      shares), C(projects) (a token and one snapshot listing per project, the projects side by side), C(calls) (the
      snapshot creates and deletes through the bounded pool), C(shared waits) (waiting for every new snapshot with
      one listing per project and poll, race grace included) and C(last steps) (each share's race check and result).
  returned: bulk mode
  type: list
  elements: dict
  sample: [{"step": "select", "seconds": 0.21}, {"step": "projects", "seconds": 0.3}, {"step": "calls", "seconds": 8.1},
           {"step": "shared waits", "seconds": 1.6}, {"step": "last steps", "seconds": 0.02}]
'''

from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.manila_share import ManilaShareDriver
from ansible_collections.dataprotection.openstack.plugins.module_utils.args import snapshot_argument_spec
from ansible_collections.dataprotection.openstack.plugins.module_utils.snapshot_module import (
    SnapshotProtectModule,
    selection_kwargs,
)


class ManilaShareProtectModule(SnapshotProtectModule):
    driver_class = ManilaShareDriver
    source_option, names_option, metadata_option = 'share', 'shares', 'share_metadata'
    list_key = 'share_snapshots'
    extra_options = ('share_id',)
    argument_spec = dict(snapshot_argument_spec('share', 'shares', 'share_metadata'), share_id=dict(type='str'))
    module_kwargs = dict(
        required_if=[('state', 'restored', ['share']), ('state', 'restored', ['restore_name', 'share_id'], True)],
        **selection_kwargs('share', 'shares', 'share_metadata')
    )
    # share_id reverts in place, restore_name creates a new share: a destructive path is never chosen by guesswork.
    module_kwargs['mutually_exclusive'] = module_kwargs['mutually_exclusive'] + [('share_id', 'restore_name')]


def main():
    ManilaShareProtectModule()()


if __name__ == '__main__':
    main()

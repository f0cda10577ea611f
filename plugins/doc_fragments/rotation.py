# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    # Rotating snapshot protections (plugins/module_utils/protection/rotation.py).
    DOCUMENTATION = r'''
options:
  retain:
    description:
      - Keep the newest N snapshots (for the Kubernetes modules - checkpoints, each with its volumes' snapshots or
        backups) of this protection that the collection created; older ones are deleted, after the new one is
        available.
      - Turns on rotation - every run creates a new timestamped snapshot or a new checkpoint (see O(min_age)).
    type: int
  min_age:
    description:
      - With O(retain), skip the new snapshot when the newest one of the protection is younger than this many
        seconds. Makes scheduled runs idempotent within the period.
    type: int
'''

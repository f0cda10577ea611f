# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    # Every long operation is bounded: nothing in this collection polls forever.
    DOCUMENTATION = r'''
options:
  wait:
    description:
      - Wait for each operation to finish (resources reach a final status) before returning.
      - With C(false) the module returns once the request was accepted.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each operation when O(wait=true). On expiry the task fails, naming the
        resource and the last status seen.
    type: int
    default: 180
  poll_interval:
    description:
      - Seconds between two status checks while waiting.
    type: float
    default: 2.0
'''

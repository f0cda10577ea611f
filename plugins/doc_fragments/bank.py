# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    # Where checkpoints live: a local directory on the host running the module, or a Swift container.
    DOCUMENTATION = r'''
options:
  bank:
    description:
      - The checkpoint bank, where protection metadata is kept (Karbor's layout
        C(checkpoints/<id>/index.json) and C(checkpoints/<id>/resources/<type>/<name>.json)).
    type: dict
    default: {}
    suboptions:
      type:
        description:
          - V(local) keeps checkpoints in a directory on the host that runs the module (the controller for
            C(localhost)). V(swift) keeps them in an OpenStack object-storage container of the project the
            OpenStack options authenticate to; use it in production and from AWX, where the local
            directory does not outlive the job.
        type: str
        choices: [local, swift]
        default: local
      path:
        description:
          - Directory of the V(local) bank (created with mode 0700).
        type: path
        default: ~/.ansible/dataprotection/bank
      container:
        description:
          - Container of the V(swift) bank (created when missing).
        type: str
        default: dataprotection-bank
'''

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue for modules that talk to Kubernetes: the client from the one factory, the bank from its option."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.dataprotection.openstack.plugins.module_utils import kubernetes as k8s
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank import open_bank


def kube_client(module):
    """A KubeClient for a ProtectionModule's options (fails the task when the library is missing)."""
    if not k8s.HAS_KUBERNETES:
        module.ansible.fail_json(msg=missing_required_lib('kubernetes'), exception=k8s.KUBERNETES_IMPORT_ERROR)
    return k8s.KubeClient(k8s.api_client(module.params))


def bank(module):
    """The checkpoint bank of the ``bank`` option; the OpenStack connection is made only for swift."""
    return open_bank(module.params.get('bank'), conn_factory=lambda: module.conn)

# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checkpoint bank: where protection metadata lives (Karbor's "bank").

One interface (:class:`base.CheckpointBank`) over two stores: a local
directory (the default, embedded) and an OpenStack object-storage container
(Swift API through the openstacksdk ``object_store`` proxy) for production.
"""

from __future__ import annotations

import os

from ansible_collections.dataprotection.openstack.plugins.module_utils.args import (
    BANK_DEFAULT_CONTAINER as DEFAULT_CONTAINER,
    BANK_DEFAULT_PATH as DEFAULT_PATH,
)
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.base import CheckpointBank
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.local import LocalStore
from ansible_collections.dataprotection.openstack.plugins.module_utils.bank.swift import SwiftStore
from ansible_collections.dataprotection.openstack.plugins.module_utils.validation import InputError, check_name


def check_bank(options):
    """The ``bank`` option: a Swift container name must be a valid name without '/'."""
    options = options or {}
    if (options.get('type') or 'local') == 'swift':
        container = check_name('bank.container', options.get('container'))
        if container and '/' in container:
            raise InputError("bank.container %r contains '/': Swift container names cannot" % container)


def open_bank(options, conn_factory=None):
    """The bank the ``bank`` option describes; ``conn_factory()`` returns the openstacksdk connection (swift)."""
    options = options or {}
    if (options.get('type') or 'local') == 'swift':
        return CheckpointBank(SwiftStore(conn_factory(), options.get('container') or DEFAULT_CONTAINER))
    return CheckpointBank(LocalStore(os.path.expanduser(options.get('path') or DEFAULT_PATH)))

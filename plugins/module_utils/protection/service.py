# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plain base of everything that talks to a cloud service: a connection and the wait settings.

Protection drivers (base.ProtectionDriver, the four-method contract) build on
it, and so do the service helpers that are no protection of their own: Cinder
backups (cinder_backup.CinderBackups), Freezer jobs (freezer/jobs.FreezerJobs)
and the Freezer central scheduler's registration
(central_scheduler.CentralSchedulerRegistration).
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils import waiter


class CloudService:
    """A connection plus ``wait``/``timeout``/``poll_interval``, and the shared waiter bound to them."""

    #: what the service works on, for messages
    resource_kind = 'resource'

    def __init__(self, conn, wait=True, timeout=180, poll_interval=2.0):
        self.conn = conn
        self.wait = wait
        self.timeout = timeout
        self.poll_interval = poll_interval

    def wait_for(self, fetch, ok, fail=(), transient=None, describe='resource'):
        """The shared waiter with this service's timeout and poll interval."""
        return waiter.wait_for_status(fetch, ok, fail=fail, transient=transient, timeout=self.timeout,
                                      poll_interval=self.poll_interval, describe=describe)

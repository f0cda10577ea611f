# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded waits on Kubernetes objects (through the one waiter): pod Running, claim Bound, object gone,
service account present."""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils import waiter
from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import ProtectionError, WaitFailed
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection.k8s.inspect import (
    pod_problem,
    pod_view,
)

POD_OK = frozenset(['Running'])
POD_FAIL = frozenset(['Failed', 'Succeeded', waiter.NOT_FOUND])
POD_TRANSIENT = frozenset(['Pending', 'Unknown'])
PVC_OK = frozenset(['Bound'])
PVC_FAIL = frozenset(['Lost', waiter.NOT_FOUND])
PVC_TRANSIENT = frozenset(['Pending'])
PRESENT = 'present'


def _phase(obj):
    return (obj.get('status') or {}).get('phase') or 'Pending'


class KubeWaits:
    """The waits of a restore, with its timeout and poll interval."""

    def __init__(self, kube, timeout, poll_interval):
        self.kube, self.timeout, self.poll_interval = kube, timeout, poll_interval

    def _wait(self, fetch, ok, fail, transient, describe, status_of):
        return waiter.wait_for_status(fetch, ok, fail, transient, timeout=self.timeout, poll_interval=self.poll_interval,
                                      describe=describe, status_of=status_of)

    def pvc_bound(self, namespace, name):
        try:
            return self._wait(lambda: self.kube.get_pvc(namespace, name), PVC_OK, PVC_FAIL, PVC_TRANSIENT,
                              'persistentvolumeclaim %s/%s to be Bound' % (namespace, name), _phase)
        except WaitFailed as exc:
            raise ProtectionError(exc.msg)

    def pod_running(self, namespace, name):
        try:
            return self._wait(lambda: self.kube.get_pod(namespace, name), POD_OK, POD_FAIL, POD_TRANSIENT,
                              'pod %s/%s to be Running' % (namespace, name), _phase)
        except WaitFailed as exc:
            problem = pod_problem(exc.last)
            raise ProtectionError('%s%s' % (exc.msg, ' (%s)' % problem if problem else ''),
                                  restored=pod_view(exc.last))

    def until(self, fetch, ok, describe):
        """Until the status of ``fetch()`` (an SDK object or dict with ``status``; None = not-found) is in ``ok``."""
        return waiter.wait_for_status(fetch, ok, timeout=self.timeout, poll_interval=self.poll_interval, describe=describe)

    def gone(self, fetch, describe):
        """Until ``fetch()`` is None (404); raises WaitFailed (a timeout) naming ``describe``."""
        return self._wait(fetch, [waiter.NOT_FOUND], (), None, '%s to be gone' % describe,
                          lambda o: 'terminating' if (o.get('metadata') or {}).get('deletionTimestamp') else 'present')

    def service_account(self, namespace, name):
        """Until the account exists: a new namespace's ``default`` account comes shortly after the namespace
        (the ServiceAccount admission refuses pods until then, kubernetes#66689)."""
        try:
            return self._wait(lambda: self.kube.get_service_account(namespace, name), [PRESENT], (), None,
                              'serviceaccount %s/%s to exist' % (namespace, name), lambda o: PRESENT)
        except WaitFailed as exc:
            raise ProtectionError(exc.msg)

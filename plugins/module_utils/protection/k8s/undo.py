# -*- coding: utf-8 -*-
# Copyright: contributors to dataprotection.openstack
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Undo of a failed restore: remove what it created, in an order a real cluster accepts.

A scheduled pod's Cinder volumes are attached to its node (volume ``in-use``, a VolumeAttachment, an attacher
finalizer on the PV) and are detached only some seconds after the pod is gone; Cinder refuses to delete an
attached volume (400). So: delete the pod and wait (bounded) until it is gone, delete the claims and PVs, wait
(bounded) until each new volume is detached, then delete it; the namespace last, only when all else went.
Whatever cannot be removed is named.
"""

from __future__ import annotations

from ansible_collections.dataprotection.openstack.plugins.module_utils.errors import WaitFailed
from ansible_collections.dataprotection.openstack.plugins.module_utils.openstack import reason_of
from ansible_collections.dataprotection.openstack.plugins.module_utils.protection import cinder

# A volume that is neither attached nor on its way to or from an attachment (or no longer exists).
DETACHED = frozenset(['available', 'error']) | cinder.GONE


def describe_created(created):
    parts = []
    if created['pod']:
        parts.append('pod %s' % created['pod'])
    for label in ('persistentvolumeclaims', 'persistentvolumes', 'volumes'):
        if created[label]:
            parts.append('%s %s' % (label, ', '.join(created[label])))
    if created['namespace']:
        parts.append('namespace %s' % created['namespace'])
    return '; '.join(parts) or 'nothing was created'


def undo_restore(kube, volumes, waits, namespace, created):
    """Delete what a restore created, newest first; returns one sentence naming what could not be removed.

    ``volumes`` has ``get_volume`` and ``remove_volume`` (CinderBackups); ``waits`` is a KubeWaits.
    """
    failed = []

    def attempt(what, step):
        try:
            step()
            return True
        except Exception as exc:  # pylint: disable=broad-except
            failed.append('%s (%s)' % (what, reason_of(exc)))
            return False

    if created['pod']:
        what = 'pod %s/%s' % (namespace, created['pod'])
        attempt(what, lambda: kube.delete_pod(namespace, created['pod']))
        attempt(what, lambda: waits.gone(lambda: kube.get_pod(namespace, created['pod']), what))
    for claim in created['persistentvolumeclaims']:
        attempt('persistentvolumeclaim %s/%s' % (namespace, claim), lambda c=claim: kube.delete_pvc(namespace, c))
    for pv in created['persistentvolumes']:
        attempt('persistentvolume %s' % pv, lambda p=pv: kube.delete_pv(p))
    for volume_id in created['volumes']:
        try:
            waits.until(lambda v=volume_id: volumes.get_volume(v), DETACHED, 'volume %s to be detached' % volume_id)
        except WaitFailed as exc:
            failed.append('volume %s (%s)' % (volume_id, exc.msg))
            continue
        outcome = volumes.remove_volume(volume_id)
        if 'could not' in outcome:
            failed.append(outcome)
    if created['namespace'] and not failed:
        attempt('namespace %s' % created['namespace'], lambda: kube.delete_namespace(created['namespace']))
    if failed:
        return 'these objects could not be removed: %s' % '; '.join(failed)
    return 'removed what this run created (%s)' % describe_created(created)
